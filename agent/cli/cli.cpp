#include "agent/cli/cli.h"

#include <algorithm>
#include <map>
#include <set>

#include "agent/base/text_file.h"

namespace agent {
namespace {

struct CommandSpec {
    std::set<std::string> flags;  // command-specific flags
    std::string help;
};

const std::map<std::string, CommandSpec>& commands() {
    static const std::map<std::string, CommandSpec> specs{
        {"start",
         {.flags = {"--dry-run"},
          .help =
          "Validates the configuration, then binds each VIP to lo as /32 (/128), adds a host\n"
          "route in table main, sets arp_ignore/arp_announce, brings lo up, reads everything\n"
          "back and verifies. Idempotent; repairs drift. On a failure part-way, what this run\n"
          "changed is rolled back.\n"
          "  --dry-run   print the plan against the live kernel and change nothing\n"
          "Exit: 0 in place, 1 failed (rolled back), 2 bad usage, configuration or conflict.\n"}},
        {"stop",
         {.flags = {"--dry-run"},
          .help =
         "Undoes what start did and nothing else: removes only the addresses and routes the\n"
         "agent added, restores each sysctl to the value it had before the agent first\n"
         "changed it. Reads only the state dir (no configuration needed), so it works after\n"
         "a crash or kill -9.\n"
         "  --dry-run   print the plan and change nothing\n"
         "Exit: 0 done or nothing to undo, 1 failed (rolled back).\n"}},
        {"status",
         {.flags = {"--json", "--all"},
          .help =
         "Prints, per VIP and per setting, what is expected and what the kernel has, with\n"
         "the effective ARP values (max of all and the interface).\n"
         "  --json      the same as JSON\n"
         "  --all       also list addresses on lo that the agent does not manage\n"
         "Exit (LSB): 0 everything in place, 3 something missing or wrong, 4 cannot tell,\n"
         "2 bad usage or configuration.\n"}},
        {"run",
         {.flags = {},
          .help =
         "Applies the configuration like start, then keeps it in place: rtnetlink events\n"
         "trigger an immediate repair of a removed VIP, route or a downed lo; the ARP sysctls\n"
         "are re-read every check_interval_ms; a full resync runs every 30 s. Serves the\n"
         "readiness API when \"api\" is configured. SIGHUP reloads the configuration (a bad\n"
         "file is rejected and the running one stays); SIGTERM reports not ready for\n"
         "drain_seconds, then undoes everything (unless keep_on_exit) and exits 0.\n"
         "Speaks systemd's notify protocol (Type=notify, WatchdogSec).\n"
         "Exit: 0 stopped cleanly, 1 failed, 2 bad usage, configuration or conflict.\n"}},
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
         "Exit: 0 done, 1 no daemon reachable or not done, 2 a --vip that is not a VIP.\n"}},
        {"undrain",
         {.flags = {},
          .help =
         "Ends a drain: readiness follows the checks again.\n"
         "  --vip ADDR  end the drain of this VIP alone (repeatable); the whole server's\n"
         "              drain, if any, stays.\n"
         "Exit: 0 done, 1 no daemon reachable or not done, 2 a --vip that is not a VIP.\n"}},
        {"reload",
         {.flags = {},
          .help =
         "Asks the running daemon (through STATE_DIR/control.sock) to read its configuration\n"
         "again, waits until it has, and prints what happened. A bad file is rejected and\n"
         "the running configuration stays (the unit's ExecReload, so `systemctl reload`\n"
         "fails then). SIGHUP does the same without an answer.\n"
         "Exit: 0 reloaded, 1 no daemon reachable, 2 rejected (the reasons on stderr).\n"}},
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
         "Exit: 0 nothing wrong, 1 something failed or warned, 2 bad usage or configuration.\n"}},
        {"import",
         {.flags = {"--from", "--sysroot"},
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
         "Exit: 0 printed, 1 no VIP found, 2 bad usage.\n"}},
        {"director-config",
         {.flags = {"--format", "--director-check"},
          .help =
         "Prints what the director needs for this real server, ready to paste: a keepalived\n"
         "virtual_server block (lb_kind DR) whose real_server has an HTTP_GET check of\n"
         "/ready/<vip>, or HAProxy backends with option httpchk and agent-check. One block\n"
         "per configured service (port 80 assumed for a VIP without one).\n"
         "  --format keepalived|haproxy   required\n"
         "  --director-check URL          where the director reaches this agent's API,\n"
         "                                e.g. http://198.51.100.60:9100 (default: api.listen)\n"
         "Exit: 0 printed, 2 bad usage or configuration.\n"}},
        {"check",
         {.flags = {},
          .help =
         "Validates a configuration and prints what start would apply; touches nothing.\n"
         "Exit: 0 valid, 2 invalid.\n"}},
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
           "  doctor   diagnose the classic LVS-DR traps (read-only)\n"
           "  import   derive a config.json from an old rc.local / ifcfg / sysctl setup\n"
           "  director-config  print the keepalived or HAProxy configuration for this server\n"
           "\n"
           "Options for every command:\n"
           "  -c, --config FILE   configuration (default /etc/lvs-rs-agent/config.json)\n"
           "  --config-dir DIR    drop-ins, *.json with vips and services (default: conf.d beside it)\n"
           "  --vip ADDR          a VIP (repeatable); without --config no file is read\n"
           "  --state-dir DIR     where the agent keeps what it owns (default /run/lvs-rs-agent)\n"
           "  -h, --help          help (also `lvs-rs-agent COMMAND --help`)\n"
           "  --version           print the version\n";
}

std::string commandHelp(const std::string& command) {
    auto it = commands().find(command);
    if (it == commands().end()) return usage();
    const auto& spec = it->second;
    const std::string& text = spec.help;
    // import reads old setup files and nothing of the agent's; the daemon's clients need
    // only where its control socket is.
    const std::string common = command == "import"                                             ? " [FILE ...]"
                               : command == "drain" || command == "undrain" ? " [--vip ADDR ...] [--state-dir DIR]"
                               : command == "reload"                        ? " [--state-dir DIR]"
                                                                                                   : " [-c FILE [--config-dir DIR] | --vip ADDR ...] [--state-dir DIR]";
    return "usage: lvs-rs-agent " + command + common +
           (spec.flags.empty() ? "" : " [" + [&] {
               std::string s;
               for (const auto& f : spec.flags) s += (s.empty() ? "" : "] [") + f;
               return s;
           }() + "]") +
           "\n\n" + text;
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
        } else if (name == "--from") {
            auto v = take(name);
            if (!v) return std::unexpected(v.error());
            flagsSeen.push_back(name);
            o.fromFiles.push_back(*v);
        } else if (name == "--format" || name == "--director-check" || name == "--sysroot") {
            auto v = take(name);
            if (!v) return std::unexpected(v.error());
            if (std::find(flagsSeen.begin(), flagsSeen.end(), name) != flagsSeen.end())
                return std::unexpected(name + " given twice");
            flagsSeen.push_back(name);
            (name == "--format" ? o.format : name == "--sysroot" ? o.sysroot : o.directorCheck) = *v;
        } else if (name == "-h" || name == "--help") {
            o.help = true;
        } else if (name == "--version") {
            o.version = true;
        } else if (name == "--dry-run" || name == "--json" || name == "--all") {
            if (hasInline) return std::unexpected(name + " takes no value");
            flagsSeen.push_back(name);
            if (name == "--dry-run") o.dryRun = true;
            if (name == "--json") o.json = true;
            if (name == "--all") o.all = true;
        } else if (!a.empty() && a[0] == '-') {
            return std::unexpected("unknown option " + quoteInput(a, false));
        } else if (o.command.empty()) {
            if (a == "help") {
                o.help = true;
                continue;
            }
            if (!commands().contains(a)) return std::unexpected("unknown command " + quoteInput(a) + " (commands: start, stop, status, check, run, drain, undrain, reload, doctor, import, director-config)");
            o.command = a;
        } else if (o.command == "import") {
            o.fromFiles.push_back(a);  // the files to read, as with --from
        } else {
            return std::unexpected("unexpected argument " + quoteInput(a));
        }
    }
    if (o.help || o.version) return o;
    if (o.command.empty()) return std::unexpected("no command given (commands: start, stop, status, check, run, drain, undrain, reload, doctor, import, director-config)");
    const auto& allowed = commands().at(o.command).flags;
    for (const auto& f : flagsSeen)
        if (!allowed.contains(f)) return std::unexpected(f + " is not an option of " + o.command);
    if (o.command == "import" && (o.config || o.configDir || !o.vips.empty() || stateDirGiven))
        return std::unexpected("import reads an old setup's files (import [FILE ...]); -c/--config, --vip and --state-dir mean nothing to it");
    const bool client = o.command == "drain" || o.command == "undrain" || o.command == "reload";
    if (client && (o.config || o.configDir))
        return std::unexpected(o.command + " asks the running daemon, which has its configuration; -c/--config and --config-dir mean nothing to it");
    if (o.command == "reload" && !o.vips.empty())
        return std::unexpected("reload reads the daemon's configuration file again; --vip means nothing to it");
    if (o.command == "director-config" && o.format != "keepalived" && o.format != "haproxy")
        return std::unexpected("director-config needs --format keepalived or --format haproxy");
    return o;
}

}  // namespace agent
