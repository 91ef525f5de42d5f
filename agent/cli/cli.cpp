#include "agent/cli/cli.h"

#include <algorithm>
#include <map>
#include <set>

#include "agent/base/text_file.h"
#include "agent/cli/commands.h"

namespace agent {
namespace {

struct CommandSpec {
    std::set<std::string> flags;  // command-specific flags
    std::string help;
    std::string synopsis;  // the usage line after the command's name
    int (*run)(const Options&) = nullptr;  // what carries it out (agent/cli/commands.h)
};

int drainCommand(const Options& o) { return runDrain(o, true); }
int undrainCommand(const Options& o) { return runDrain(o, false); }

const std::map<std::string, CommandSpec>& commands() {
    static const std::map<std::string, CommandSpec> specs{
        {"start",
         {.flags = {"--dry-run"},
          .help =
          "Validates the configuration, then binds each VIP to lo as /32 (/128), adds a host\n"
          "route in table main, sets arp_ignore/arp_announce, brings lo up, reads everything\n"
          "back and verifies. Idempotent; repairs drift. On a failure part-way, what this run\n"
          "changed is rolled back.\n"
          "  -c FILE      declarative: the file is the whole truth. VIPs an earlier start added\n"
          "               that the file no longer names are removed (and the output says so).\n"
          "  --vip ADDR   additive (repeatable): these VIPs are added to what the agent already\n"
          "               owns; nothing is removed (one `start --vip` per VIP is fine).\n"
          "  --dry-run    print the plan against the live kernel and change nothing\n"
          "Refused at once while `lvs-rs-agent run` owns the state dir (use reload or drain).\n"
          "Exit: 0 in place, 1 failed (rolled back), 2 bad usage, configuration or conflict.\n",
          .synopsis = " [-c FILE [--config-dir DIR] | --vip ADDR ...] [--state-dir DIR] [--dry-run]",
          .run = runStart}},
        {"stop",
         {.flags = {"--dry-run"},
          .help =
         "Undoes what start did and nothing else: removes only the addresses and routes the\n"
         "agent added, restores each sysctl to the value it had before the agent first\n"
         "changed it. Reads only the state dir (no configuration needed), so it works after\n"
         "a crash or kill -9.\n"
         "  --vip ADDR   undo this VIP alone (repeatable): its address and host route go, the\n"
         "               other VIPs stay; the ARP settings are restored only once the agent\n"
         "               owns no VIP any more\n"
         "  --dry-run    print the plan and change nothing\n"
         "Refused at once while `lvs-rs-agent run` owns the state dir (use systemctl stop).\n"
         "Exit: 0 done or nothing to undo, 1 failed (rolled back), 2 bad usage.\n",
          .synopsis = " [--vip ADDR ...] [--state-dir DIR] [--dry-run]",
          .run = runStop}},
        {"status",
         {.flags = {"--json", "--all", "--ready"},
          .help =
         "Prints, per VIP and per setting, what is expected and what the kernel has, with\n"
         "the effective ARP values (max of all and the interface), and readiness exactly as\n"
         "/ready computes it: from the running daemon when there is one (service checks,\n"
         "drains, conflicts), otherwise \"in place\".\n"
         "  --ready     also exit 3 when something is in place but not ready (a rollout gate)\n"
         "  --json      the same as JSON\n"
         "  --all       also list addresses on lo that the agent does not manage\n"
         "Exit (LSB): 0 in place (and the daemon running, where `run` owns the state),\n"
         "1 the daemon is dead but left its VIPs and state behind, 3 not in place (or, with\n"
         "--ready, not ready), 4 cannot tell, 2 bad usage or configuration.\n",
          .synopsis = " [-c FILE [--config-dir DIR] | --vip ADDR ...] [--state-dir DIR] [--ready] [--json] [--all]",
          .run = runStatus}},
        {"run",
         {.flags = {},
          .help =
         "Applies the configuration like start, then keeps it in place: rtnetlink events\n"
         "trigger an immediate repair of a removed VIP, route or a downed lo; the ARP sysctls\n"
         "are re-read every check_interval_ms (default 1000); a full resync runs every\n"
         "resync_interval_seconds (default 30). Serves the\n"
         "readiness API when \"api\" is configured. SIGHUP reloads the configuration (a bad\n"
         "file is rejected and the running one stays); SIGTERM reports not ready for\n"
         "drain_seconds, then undoes everything (unless keep_on_exit) and exits 0.\n"
         "Speaks systemd's notify protocol (Type=notify, WatchdogSec).\n"
         "Exit: 0 stopped cleanly, 1 failed, 2 bad usage, configuration or conflict.\n",
          .synopsis = " [-c FILE [--config-dir DIR] | --vip ADDR ...] [--state-dir DIR]",
          .run = runRun}},
        {"drain",
         {.flags = {},
          .help =
         "Asks the running daemon (through STATE_DIR/control.sock) to report not ready\n"
         "(/ready 503, agent-check \"drain\") while the VIPs stay bound, so established\n"
         "connections finish.\n"
         "  --vip ADDR  drain this VIP alone (repeatable): /ready/ADDR answers 503 with\n"
         "              reason \"draining\" and agent-check for it \"drain\"; the other VIPs\n"
         "              stay ready. Survives a reload, not a restart: for planned\n"
         "              maintenance configure {\"address\": ADDR, \"drained\": true}.\n"
         "Exit: 0 done, 1 no daemon reachable or not done, 2 a --vip that is not a VIP.\n",
          .synopsis = " [--vip ADDR ...] [--state-dir DIR]",
          .run = drainCommand}},
        {"undrain",
         {.flags = {},
          .help =
         "Ends a drain: readiness follows the checks again.\n"
         "  --vip ADDR  end the drain of this VIP alone (repeatable); the whole server's\n"
         "              drain, if any, stays.\n"
         "Exit: 0 done, 1 no daemon reachable or not done, 2 a --vip that is not a VIP.\n",
          .synopsis = " [--vip ADDR ...] [--state-dir DIR]",
          .run = undrainCommand}},
        {"reload",
         {.flags = {},
          .help =
         "Asks the running daemon (through STATE_DIR/control.sock) to read its configuration\n"
         "again, waits until it has, and prints what happened. A bad file is rejected and\n"
         "the running configuration stays (the unit's ExecReload, so `systemctl reload`\n"
         "fails then). SIGHUP does the same without an answer.\n"
         "Exit: 0 reloaded, 1 no daemon reachable, 2 rejected (the reasons on stderr).\n",
          .synopsis = " [--state-dir DIR]",
          .run = runReload}},
        {"exit-hook",
         {.flags = {},
          .help =
         "The unit's ExecStop= (run as root, before systemd's SIGTERM): asks systemd over\n"
         "D-Bus for the job pending for the unit. A restart (systemctl restart, a package\n"
         "upgrade) leaves the hand-over marker STATE_DIR/restart-requested, so the daemon\n"
         "hands over to the next process instead of draining and undoing; a stop removes\n"
         "any marker. The daemon, running as a dynamic user, cannot ask dbus-daemon itself.\n"
         "Changes nothing else; when it cannot tell, it leaves no marker (a stop).\n"
         "Exit: 0 (always, so a stop is never held up), 2 bad usage.\n",
          .synopsis = " [--state-dir DIR]",
          .run = runExitHook}},
        {"doctor",
         {.flags = {"--json", "--sysroot"},
          .help =
         "A read-only diagnosis of this real server, one line per check with a verdict, the\n"
         "reason and the fix: VIPs on lo (and not on a real interface, and as /32 or /128),\n"
         "effective ARP settings per interface that is up, sysctl files that would set them\n"
         "back, services listening on VIP:port, rp_filter, this host also being an IPVS\n"
         "director for its VIPs, the default route through the director (\"director\" in the\n"
         "configuration), and ifupdown / ifcfg / NetworkManager configuration of lo aliases.\n"
         "  --json          the findings as JSON\n"
         "  --sysroot DIR   read /etc from DIR (a chroot or image); default /\n"
         "Exit: 0 nothing wrong, 1 something failed or warned, 2 bad usage or configuration.\n",
          .synopsis = " [-c FILE [--config-dir DIR] | --vip ADDR ...] [--state-dir DIR] [--json] [--sysroot DIR]",
          .run = runDoctor}},
        {"import",
         {.flags = {"--from", "--sysroot", "--output"},
          .help =
         "Reads what an old LVS-DR setup left behind and prints the equivalent config.json on\n"
         "stdout; on stderr, the lines and files to delete once the agent runs. Understands\n"
         "ifconfig lo:N / ip addr add ... dev lo / route add -host / ip route add lines and\n"
         "the echo > /proc/sys/... and sysctl -w arp lines of rc.local and init scripts (with\n"
         "their shell variables), ifcfg-lo:N files, ifupdown lo:N stanzas and sysctl files.\n"
         "  FILE, --from FILE  read these files instead of the usual places:\n"
         "                  /etc/rc.local, /etc/rc.d/rc.local, /etc/init.d/* mentioning\n"
         "                  arp_ignore or lo:, ifcfg-lo*, /etc/network/interfaces(.d),\n"
         "                  /etc/sysctl.conf, /etc/sysctl.d\n"
         "  --sysroot DIR   look for the usual places under DIR; default /\n"
         "  --output FILE   write the configuration to FILE (atomically, and only when a VIP\n"
         "                  was found) instead of stdout; an existing FILE is refused\n"
         "Exit: 0 printed, 1 no VIP found, 2 bad usage.\n",
          .synopsis = " [FILE ...] [--from FILE ...] [--sysroot DIR] [--output FILE]",
          .run = runImport}},
        {"director-config",
         {.flags = {"--format", "--director-check", "--rip", "--method", "--encap"},
          .help =
         "Prints what the director needs for this real server, ready to paste: a keepalived\n"
         "virtual_server block whose real_server has an HTTP_GET check of /ready/<vip>,\n"
         "HAProxy backends with option httpchk and agent-check, or ipvsadm commands. One\n"
         "per configured service (port 80 assumed for a VIP without one).\n"
         "  --format keepalived|haproxy|ipvsadm   required\n"
         "  --director-check URL          where the director reaches this agent's API,\n"
         "                                e.g. http://198.51.100.60:9100 (default: api.listen);\n"
         "                                its address is the real server of VIPs of its family\n"
         "  --rip ADDR                    this real server's address of the other family, for\n"
         "                                the VIPs of that family (the director forwards within\n"
         "                                a family): needed when IPv4 and IPv6 VIPs are mixed\n"
         "  --method dr|tun               how the director forwards (keepalived, ipvsadm):\n"
         "                                default tun with a \"tunnel\" configuration (lb_kind TUN,\n"
         "                                ipvsadm -i), dr without (lb_kind DR, ipvsadm -g);\n"
         "                                ranges are always DR\n"
         "  --encap ipip|gue              the tunnel's encapsulation: default ipip when\n"
         "                                tunnel.encap has it; gue adds type gue port N\n"
         "                                (keepalived), --tun-type gue --tun-port N (ipvsadm)\n"
         "Exit: 0 printed, 2 bad usage or configuration.\n",
          .synopsis = " --format keepalived|haproxy|ipvsadm [-c FILE [--config-dir DIR] | --vip ADDR ...] [--director-check URL] [--rip ADDR]"
                      " [--method dr|tun] [--encap ipip|gue]",
          .run = runDirectorConfig}},
        {"router-config",
         {.flags = {"--format", "--neighbor", "--local-as", "--peer-as", "--router-id"},
          .help =
         "Prints what this real server's routing daemon needs to carry the VIPs the agent\n"
         "announces (the ready, undrained ones it keeps in the \"announce\" table) into BGP,\n"
         "ready to paste: BIRD 2 kernel protocols that learn that table (only the agent's\n"
         "routes, proto 177, host length) and BGP sessions exporting them; or FRR's zebra\n"
         "import-table with bgpd redistributing it through a route-map (IPv4 only in FRR 8).\n"
         "  --format bird|frr   required\n"
         "  --neighbor ADDR     a router to peer with (repeatable; default 192.0.2.1, a\n"
         "                      placeholder); a session per family carries that family's VIPs\n"
         "  --local-as N        this server's AS (default 64500)\n"
         "  --peer-as N         the routers' AS (default 64496)\n"
         "  --router-id ADDR    an IPv4 address (default 192.0.2.10)\n"
         "Exit: 0 printed, 2 bad usage, or no \"announce\" in the configuration.\n",
          .synopsis = " --format bird|frr [-c FILE [--config-dir DIR]] [--neighbor ADDR ...] [--local-as N] [--peer-as N] [--router-id ADDR]",
          .run = runRouterConfig}},
        {"check",
         {.flags = {},
          .help =
         "Validates a configuration and prints what start would apply; touches nothing.\n"
         "With \"tunnel\", asks the kernel whether it takes the decapsulation program\n"
         "(loaded and let go at once, never attached), as start would.\n"
         "Exit: 0 valid, 2 invalid (or a kernel that refuses the tunnel program).\n",
          .synopsis = " [-c FILE [--config-dir DIR] | --vip ADDR ...]",
          .run = runCheck}},
    };
    return specs;
}

}  // namespace

std::string usage() {
    return "usage: lvs-rs-agent COMMAND [options]\n"
           "\n"
           "Commands:\n"
           "  start    make this real server DR-ready, then verify\n"
           "  stop     undo what start did, restoring the original sysctls\n"
           "  status   show expected and actual state (exit 0 ok, 3 not in place, 4 unknown)\n"
           "  check    validate the configuration and show what start would apply\n"
           "  run      apply, then keep it in place and serve the readiness API (daemon)\n"
           "  drain    make the running daemon report not ready (VIPs stay bound); --vip: one VIP\n"
           "  undrain  end a drain\n"
           "  reload   make the running daemon read its configuration again, and say how it went\n"
           "  doctor   diagnose the classic LVS-DR traps, and the tunnel's (read-only)\n"
           "  import   derive a config.json from an old rc.local / ifcfg / sysctl setup\n"
           "  director-config  print the keepalived, HAProxy or ipvsadm configuration for this server\n"
           "  router-config    print the BIRD or FRR configuration that announces the ready VIPs\n"
           "\n"
           "Options for every command:\n"
           "  -c, --config FILE   configuration (default /etc/lvs-rs-agent/config.json)\n"
           "  --config-dir DIR    drop-ins, *.json with vips and services (default: conf.d beside it)\n"
           "  --vip ADDR          a VIP (repeatable); without --config no file is read\n"
           "  --state-dir DIR     where the agent keeps what it owns (default /run/lvs-rs-agent)\n"
           "  -h, --help          help (also `lvs-rs-agent COMMAND --help`)\n"
           "  --version           print the version\n";
}

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
    static const std::set<std::string> names{"-c", "--config", "--config-dir", "--vip", "--state-dir", "--from",
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
        } else if (name == "--dry-run" || name == "--json" || name == "--all" || name == "--ready") {
            if (hasInline) return std::unexpected(name + " takes no value");
            flagsSeen.push_back(name);
            if (name == "--dry-run") o.dryRun = true;
            if (name == "--json") o.json = true;
            if (name == "--all") o.all = true;
            if (name == "--ready") o.ready = true;
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
    if (o.command == "exit-hook" && !o.vips.empty())
        return std::unexpected("exit-hook asks systemd about the whole unit; --vip means nothing to it");
    if (o.command == "director-config" && o.format != "keepalived" && o.format != "haproxy" && o.format != "ipvsadm")
        return std::unexpected("director-config needs --format keepalived, haproxy or ipvsadm");
    if (o.command == "router-config" && o.format != "bird" && o.format != "frr")
        return std::unexpected("router-config needs --format bird or --format frr");
    if (o.command == "router-config" && !o.vips.empty())
        return std::unexpected("router-config reads \"announce\" from the configuration file; --vip means nothing to it");
    return o;
}

}  // namespace agent
