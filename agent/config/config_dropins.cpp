// Drop-ins (conf.d/*.json beside the configuration file, or --config-dir): each holds only
// "vips" and "services", read and checked on its own, then merged after the main file's,
// every VIP in one file only. Any problem in any file refuses the whole set.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>

#include "agent/base/text_file.h"
#include "agent/config/config.h"
#include "agent/config/config_parse.h"

namespace agent {

using nlohmann::json;
using namespace config_parse;

std::string defaultConfigDir(const std::string& configPath) {
    return (std::filesystem::path(configPath).parent_path() / "conf.d").string();
}

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

struct DropIn {
    std::string path;
    json doc;
    std::vector<Vip> vips;
    std::vector<std::size_t> index;  // each VIP's position in the file's "vips" (a file with a problem is never merged)
};

// Every drop-in of dir, read and checked on its own (keys, VIP syntax); problems go to
// all. A directory that does not exist holds none.
std::vector<DropIn> readDropIns(const std::string& dir, const std::string& mainFile, std::vector<std::string>& all) {
    std::vector<DropIn> out;
    std::error_code ec;
    const auto st = std::filesystem::status(dir, ec);
    if (ec || st.type() == std::filesystem::file_type::not_found) return out;
    if (st.type() != std::filesystem::file_type::directory) {
        all.push_back(dir + ": the drop-in directory is not a directory");
        return out;
    }
    std::vector<std::string> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() > 5 && name.ends_with(".json") && name[0] != '.') files.push_back(it->path().string());
    }
    if (ec) all.push_back(dir + ": cannot list the drop-in directory: " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        Problems problems(file);
        try {
            auto text = readLimited(file, {.maxBytes = kMaxConfigBytes, .deadline = std::chrono::seconds(5), .allowPipe = false});
            if (!text) throw ConfigError({file + ": cannot read: " + text.error().message});
            DropIn d{.path = file, .doc = readDocument(*text, problems), .vips = {}, .index = {}};
            for (const auto& [key, value] : d.doc.items()) {
                if (std::find(kDropInKeys.begin(), kDropInKeys.end(), key) != kDropInKeys.end()) continue;
                if (std::find(kMainFileKeys.begin(), kMainFileKeys.end(), key) != kMainFileKeys.end())
                    problems.add(key, "not allowed in a drop-in, which holds only \"vips\" and \"services\"; global settings go in " + mainFile);
                else  // a typo: the main file's did-you-mean, among what a drop-in may hold
                    problems.add(quoteInput(key, false), unknownKey(key, kDropInKeys) + "; a drop-in holds only \"vips\" and \"services\"");
            }
            if (d.doc.contains("vips")) {
                if (!d.doc["vips"].is_array()) {
                    problems.add("vips", "must be a list of address strings");
                } else {
                    auto list = parseVipList(d.doc["vips"], file, problems);
                    d.vips = std::move(list.vips);
                    d.index = std::move(list.positions);
                }
            }
            out.push_back(std::move(d));
            all.insert(all.end(), problems.lines().begin(), problems.lines().end());
        } catch (const ConfigError& e) {  // unreadable, or not a JSON object
            all.insert(all.end(), e.problems().begin(), e.problems().end());
        }
    }
    return out;
}

}  // namespace

Config loadConfig(const std::optional<std::string>& path, const std::vector<std::string>& cliVips,
                  const std::optional<std::string>& configDir, bool onThisHost) {
    if (!path && !cliVips.empty()) {
        if (configDir) throw ConfigError({"--config-dir " + quoteInput(*configDir, false) + ": drop-ins go with a configuration file (-c FILE); --vip alone reads no file"});
        return parseConfig("{}", "--vip", cliVips);
    }
    if (configDir) {  // named on purpose: one that is not there is a typo, not "no drop-ins"
        std::error_code ec;
        if (!std::filesystem::is_directory(*configDir, ec))
            throw ConfigError({"--config-dir " + quoteInput(*configDir, false) + ": " +
                               (std::filesystem::exists(*configDir, ec) ? "not a directory" : "no such directory")});
    }
    const std::string file = path.value_or(kDefaultConfigPath);
    // A pipe is fine (-c /dev/stdin, -c <(...)); a device, a socket or a directory is not.
    auto text = readLimited(file, {.maxBytes = kMaxConfigBytes, .deadline = std::chrono::seconds(5), .allowPipe = true});
    if (!text) {
        std::string hint = text.error().err == ENOENT && !path ? " (give --config FILE, or --vip ADDR to run without a file)" : "";
        throw ConfigError({file + ": cannot read: " + text.error().message + hint});
    }
    std::vector<std::string> problems;
    // --vip replaces the file's VIPs, and the drop-ins' too.
    auto dropIns = cliVips.empty() ? readDropIns(configDir.value_or(defaultConfigDir(file)), file, problems) : std::vector<DropIn>{};
    std::vector<netcfg::IpAddress> dropInVips;
    for (const auto& d : dropIns)
        for (const auto& v : d.vips) dropInVips.push_back(v.address);
    Config cfg;
    try {
        cfg = parseConfig(*text, file, cliVips, dropInVips);
    } catch (const ConfigError& e) {
        problems.insert(problems.begin(), e.problems().begin(), e.problems().end());
        throw ConfigError(problems);
    }
    // The drop-ins' own problems do not stop here: their services are checked too, so the
    // operator sees every problem at once.
    // The drop-ins' VIPs after the file's, each in one file only; then their services.
    std::map<netcfg::IpAddress, std::string> from;
    for (const auto& v : cfg.vips) from.emplace(v.address, file);
    for (const auto& d : dropIns) {
        Problems p(d.path);
        for (std::size_t k = 0; k < d.vips.size(); ++k) {
            if (auto [it, fresh] = from.emplace(d.vips[k].address, d.path); !fresh)
                p.add("vips[" + std::to_string(d.index[k]) + "]", d.vips[k].address.str() + " is also in " + it->second);
            else
                cfg.vips.push_back(d.vips[k]);
        }
        problems.insert(problems.end(), p.lines().begin(), p.lines().end());
        cfg.dropIns.push_back(d.path);
    }
    if (problems.empty())  // a drop-in's VIP or range overlapping another's (the main file's own were checked)
        problems = overlapProblems(cfg);
    std::set<netcfg::IpAddress> named;
    for (const auto& v : cfg.vips) named.insert(v.address);
    for (const auto& d : dropIns) {
        if (!d.doc.contains("services")) continue;
        Problems p(d.path);
        parseServices(d.doc["services"], p, cfg, named);
        problems.insert(problems.end(), p.lines().begin(), p.lines().end());
    }
    if (problems.empty() && onThisHost)
        for (const auto& p : serviceHostProblems(cfg, ::geteuid())) problems.push_back(file + ": " + p);
    if (!problems.empty()) throw ConfigError(problems);
    return cfg;
}

}  // namespace agent
