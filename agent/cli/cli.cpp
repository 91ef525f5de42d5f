#include "agent/cli/cli.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "agent/base/text_file.h"
#include "agent/cli/command_table.h"
#include "agent/cli/commands.h"

namespace agent {

int dispatch(const Options& o) { return commands().at(o.command).run(o); }

std::string commandUsage(const std::string& command) {
    auto it = commands().find(command);
    if (it == commands().end()) return "";
    return "usage: lvs-rs-agent " + command + it->second.synopsis + "\n";
}

std::string commandHelp(const std::string& command) {
    auto it = commands().find(command);
    if (it == commands().end()) return usage();
    return commandUsage(command) + "\n" + it->second.help;
}

static const std::set<std::string>& valueOptions() {
    static const std::set<std::string> names{"-c", "--config", "--config-dir", "--vip", "--state-dir", "--from", "--timeout",
                                             "--format", "--director-check", "--sysroot", "--output", "--rip", "--method", "--encap",
                                             "--neighbor", "--local-as", "--peer-as", "--router-id"};
    return names;
}

std::string commandIn(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (valueOptions().contains(a)) {
            ++i;  // its value
        } else if (!a.empty() && a[0] != '-') {
            return commands().contains(a) ? a : "";
        }
    }
    return "";
}

namespace {

// Edit distance, for "did you mean": small words only.
std::size_t distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
    if (word.size() > 64) return "";
    std::string best;
    std::size_t bestDistance = 3;  // at most two edits, and fewer than half the word
    for (const auto& c : candidates) {
        const std::size_t d = distance(word, c);
        if (d < bestDistance && d * 2 < std::max(word.size(), c.size())) {
            best = c;
            bestDistance = d;
        }
    }
    return best;
}

namespace {

std::vector<std::string> commandNames() {
    std::vector<std::string> out;
    for (const auto& [name, spec] : commands()) out.push_back(name);
    return out;
}

// "commands: start, stop, ...", in the order an operator reads them, said once for both errors.
std::string commandList() {
    return "commands: start, stop, status, check, run, drain, undrain, reload, exit-hook, doctor, import, "
           "director-config, router-config";
}

// Every option any command takes (the common ones and each command's own).
std::vector<std::string> optionNames() {
    std::set<std::string> all(valueOptions());
    all.insert({"--help", "--version", "--dry-run", "--json", "--all", "--ready"});
    all.erase("-c");
    return {all.begin(), all.end()};
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
    const std::string best = didYouMean(word, candidates);
    return best.empty() ? "" : "; did you mean " + best + "?";
}

// -j: the one long option starting with --j; --jsn: the one within two edits.
std::string optionSuggestion(const std::string& name) {
    if (name.size() == 2 && name[0] == '-' && name[1] != '-') {
        std::string only;
        for (const auto& o : optionNames())
            if (o.rfind(std::string("--") + name[1], 0) == 0) {
                if (!only.empty()) return "";
                only = o;
            }
        return only.empty() ? "" : "; did you mean " + only + "?";
    }
    return suggestion(name, optionNames());
}


}  // namespace

// The field of a command's option given at most once, or null.
static std::string* singleValue(Options& o, const std::string& name) {
    if (name == "--format") return &o.format;
    if (name == "--director-check") return &o.directorCheck;
    if (name == "--method") return &o.method;
    if (name == "--encap") return &o.encap;
    if (name == "--sysroot") return &o.sysroot;
    if (name == "--output") return &o.output;
    if (name == "--local-as") return &o.localAs;
    if (name == "--peer-as") return &o.peerAs;
    if (name == "--router-id") return &o.routerId;
    if (name == "--timeout") return &o.timeout;
    return nullptr;
}

std::expected<Options, std::string> parseArgs(const std::vector<std::string>& args) {
    Options o;
    std::vector<std::string> flagsSeen;
    bool stateDirGiven = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const std::string& name) -> std::expected<std::string, std::string> {
            if (i + 1 >= args.size() || args[i + 1].empty())
                return std::unexpected(name + " needs a value");
            return args[++i];
        };
        std::string name = a, inlineValue;
        bool hasInline = false;
        if (a.rfind("--", 0) == 0) {
            if (auto eq = a.find('='); eq != std::string::npos) {
                name = a.substr(0, eq);
                inlineValue = a.substr(eq + 1);
                hasInline = true;
            }
        }
        auto take = [&](const std::string& n) -> std::expected<std::string, std::string> {
            if (hasInline) {
                if (inlineValue.empty()) return std::unexpected(n + " needs a value");
                return inlineValue;
            }
            return value(n);
        };
        if (name == "-c" || name == "--config") {
            auto v = take("--config");
            if (!v) return std::unexpected(v.error());
            if (o.config) return std::unexpected("--config given twice");
            o.config = *v;
        } else if (name == "--config-dir") {
            auto v = take("--config-dir");
            if (!v) return std::unexpected(v.error());
            if (o.configDir) return std::unexpected("--config-dir given twice");
            o.configDir = *v;
        } else if (name == "--vip") {
            auto v = take("--vip");
            if (!v) return std::unexpected(v.error());
            o.vips.push_back(*v);
        } else if (name == "--state-dir") {
            auto v = take("--state-dir");
            if (!v) return std::unexpected(v.error());
            if (stateDirGiven) return std::unexpected("--state-dir given twice");
            stateDirGiven = true;
            o.stateDir = *v;
        } else if (name == "--from" || name == "--rip" || name == "--neighbor") {
            auto v = take(name);
            if (!v) return std::unexpected(v.error());
            flagsSeen.push_back(name);
            (name == "--from" ? o.fromFiles : name == "--rip" ? o.rips : o.neighbors).push_back(*v);
        } else if (auto* field = singleValue(o, name)) {
            auto v = take(name);
            if (!v) return std::unexpected(v.error());
            if (std::find(flagsSeen.begin(), flagsSeen.end(), name) != flagsSeen.end())
                return std::unexpected(name + " given twice");
            flagsSeen.push_back(name);
            *field = *v;
        } else if (name == "-h" || name == "--help") {
            o.help = true;
        } else if (name == "--version") {
            o.version = true;
        } else if (name == "--dry-run" || name == "--json" || name == "--all" || name == "--ready" || name == "--wait" || name == "--offline") {
            if (hasInline) return std::unexpected(name + " takes no value");
            flagsSeen.push_back(name);
            if (name == "--dry-run") o.dryRun = true;
            if (name == "--json") o.json = true;
            if (name == "--all") o.all = true;
            if (name == "--ready") o.ready = true;
            if (name == "--wait") o.wait = true;
            if (name == "--offline") o.offline = true;
        } else if (!a.empty() && a[0] == '-') {
            return std::unexpected("unknown option " + quoteInput(a, false) + optionSuggestion(name));
        } else if (o.command.empty()) {
            if (a == "help") {
                o.help = true;
                continue;
            }
            if (!commands().contains(a))
                return std::unexpected("unknown command " + quoteInput(a) + suggestion(a, commandNames()) +
                                       " (" + commandList() + ")");
            o.command = a;
        } else if (o.command == "import") {
            o.fromFiles.push_back(a);  // the files to read, as with --from
        } else {
            return std::unexpected("unexpected argument " + quoteInput(a));
        }
    }
    if (o.help || o.version) return o;
    if (o.command.empty()) return std::unexpected("no command given (" + commandList() + ")");
    const auto& allowed = commands().at(o.command).flags;
    for (const auto& f : flagsSeen)
        if (!allowed.contains(f)) return std::unexpected(f + " is not an option of " + o.command);
    if (o.command == "import" && (o.config || o.configDir || !o.vips.empty() || stateDirGiven))
        return std::unexpected("import reads an old setup's files (import [FILE ...]); -c/--config, --vip and --state-dir mean nothing to it");
    const bool client = o.command == "drain" || o.command == "undrain" || o.command == "reload" || o.command == "exit-hook";
    if (client && (o.config || o.configDir))
        return std::unexpected(o.command + " asks the running daemon, which has its configuration; -c/--config and --config-dir mean nothing to it");
    if (o.command == "reload" && !o.vips.empty())
        return std::unexpected("reload reads the daemon's configuration file again; --vip means nothing to it");
    if (!o.timeout.empty() && !o.wait) return std::unexpected("--timeout goes with --wait (drain --wait --timeout SECONDS)");
    if (!o.timeout.empty() && (o.timeout.size() > 6 || o.timeout.find_first_not_of("0123456789") != std::string::npos))
        return std::unexpected("--timeout " + quoteInput(o.timeout, false) + ": a whole number of seconds");
    if (o.command == "exit-hook" && !o.vips.empty())
        return std::unexpected("exit-hook asks systemd about the whole unit; --vip means nothing to it");
    auto formatProblem = [&](const std::vector<std::string>& known) -> std::optional<std::string> {
        if (std::find(known.begin(), known.end(), o.format) != known.end()) return std::nullopt;
        std::string list;
        for (std::size_t i = 0; i < known.size(); ++i) list += (i == 0 ? "" : i + 1 == known.size() ? " or " : ", ") + known[i];
        return o.format.empty() ? o.command + " needs --format " + list
                                : o.command + ": unknown format " + nlohmann::json(o.format).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                      " (known formats: " + list + ")";
    };
    if (o.command == "director-config")
        if (auto p = formatProblem({"keepalived", "haproxy", "ipvsadm"})) return std::unexpected(*p);
    if (o.command == "router-config")
        if (auto p = formatProblem({"bird", "frr"})) return std::unexpected(*p);
    if (o.command == "router-config" && !o.vips.empty())
        return std::unexpected("router-config reads \"announce\" from the configuration file; --vip means nothing to it");
    return o;
}

}  // namespace agent
