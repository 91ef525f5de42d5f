#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "agent/cli/commands.h"
#include "agent/tools/importer.h"
#include "agent/base/log.h"
#include "agent/base/text_file.h"

namespace agent {
namespace {

namespace fs = std::filesystem;

// Missing files are simply not there; one that cannot be read within the limits is
// named on stderr and passed over.
std::expected<TextFile, std::string> readText(const fs::path& p, const std::string& shownAs) {
    auto text = readLimited(p.string());
    if (!text) return std::unexpected(shownAs + ": cannot read: " + text.error().message);
    return TextFile{.path = shownAs, .content = std::move(*text)};
}

std::optional<TextFile> readIfThere(const fs::path& p, const std::string& shownAs) {
    auto text = readLimited(p.string());
    if (text) return TextFile{.path = shownAs, .content = std::move(*text)};
    if (text.error().err != ENOENT) logWarning(shownAs + ": cannot read: " + text.error().message + ", ignoring");
    return std::nullopt;
}

// The usual places an old setup lives, under sysroot.
std::vector<TextFile> usualFiles(const fs::path& root) {
    std::vector<TextFile> out;
    auto add = [&](const fs::path& rel) {
        if (auto f = readIfThere(root / rel, "/" + rel.string())) out.push_back(*f);
    };
    auto addDir = [&](const fs::path& rel, const std::string& prefix, const std::string& suffix, bool onlyLvs) {
        std::error_code ec;
        std::vector<fs::path> names;
        for (const auto& e : fs::directory_iterator(root / rel, ec)) {
            const std::string n = e.path().filename().string();
            if (n.rfind(prefix, 0) == 0 && (suffix.empty() || (n.size() > suffix.size() && n.ends_with(suffix))))
                names.push_back(rel / n);
        }
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            auto f = readIfThere(root / n, "/" + n.string());
            if (f && (!onlyLvs || f->content.find("arp_ignore") != std::string::npos || f->content.find("lo:") != std::string::npos))
                out.push_back(*f);
        }
    };
    add("etc/rc.local");
    add("etc/rc.d/rc.local");
    addDir("etc/init.d", "", "", true);
    addDir("etc/sysconfig/network-scripts", "ifcfg-lo", "", false);
    add("etc/network/interfaces");
    addDir("etc/network/interfaces.d", "", "", false);
    add("etc/sysctl.conf");
    addDir("etc/sysctl.d", "", ".conf", false);
    return out;
}

}  // namespace

int runImport(const Options& o) {
    std::vector<TextFile> files;
    if (!o.fromFiles.empty()) {
        for (const auto& f : o.fromFiles) {
            auto t = readText(f, f);
            if (!t) {
                logError(t.error());
                return kUsage;
            }
            files.push_back(*t);
        }
    } else {
        files = usualFiles(o.sysroot);
    }
    const ImportResult r = importSetup(files);
    if (r.vips.empty()) {
        std::string names;
        for (const auto& f : files) names += (names.empty() ? "" : ", ") + f.path;
        logError("found no VIP bound on lo in " + (names.empty() ? std::string("any of the usual places") : names));
        return kFailed;
    }
    // --output: the file appears whole, and only now that there is something to put in it
    // (a shell's "> config.json" truncates it before import even runs).
    const std::string shown = o.output.empty() ? "config.json" : o.output;
    if (o.output.empty()) {
        std::fputs(r.configJson().c_str(), stdout);
    } else if (auto w = writeAtomically(o.output, r.configJson(), 0644, true); !w) {
        logError(w.error());
        return kFailed;
    } else {
        std::fprintf(stderr, "wrote %s (%zu VIP(s))\n", o.output.c_str(), r.vips.size());
    }
    for (const auto& n : r.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    std::fprintf(stderr, "# check it:  lvs-rs-agent check -c %s && lvs-rs-agent start --dry-run -c %s\n", shown.c_str(), shown.c_str());
    std::fprintf(stderr, "# once `lvs-rs-agent start` and `status` are fine, delete these so nothing fights the agent:\n");
    for (const auto& d : r.toDelete) std::fprintf(stderr, "#   %s\n", d.c_str());
    return kOk;
}

}  // namespace agent
