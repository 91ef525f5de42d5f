#include "agent/cli/command_table.h"

#include "agent/cli/commands.h"

namespace agent {
namespace {

int drainCommand(const Options& o) { return runDrain(o, true); }
int undrainCommand(const Options& o) { return runDrain(o, false); }

}  // namespace

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
         "  --ready     also exit 3 when something is in place but not ready (a rollout gate);\n"
         "              with service checks and no daemon to probe them, exit 4 (unknown)\n"
         "  --json      the same as JSON\n"
         "  --all       also list addresses on lo that the agent does not manage\n"
         "Exit (LSB): 0 in place (and the daemon running, where `run` owns the state),\n"
         "1 the daemon is dead but left its VIPs and state behind, 3 not in place (or, with\n"
         "--ready, not ready), 4 cannot tell, 2 bad usage. Never 2 for the file: a missing or\n"
         "broken one is a note, and what the agent owns (or the daemon runs) is shown.\n",
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
         {.flags = {"--wait", "--timeout"},
          .help =
         "Asks the running daemon (through STATE_DIR/control.sock) to report not ready\n"
         "(/ready 503, agent-check \"drain\") while the VIPs stay bound, so established\n"
         "connections finish. The drain is over once no connection is left on the VIPs\n"
         "after drain.min_seconds (the directors' time to see the 503), or at\n"
         "drain.max_seconds; the VIPs then stay drained until undrain.\n"
         "  --vip ADDR     drain this VIP alone (repeatable): /ready/ADDR answers 503 with\n"
         "                 reason \"draining\" and agent-check for it \"drain\"; the other VIPs\n"
         "                 stay ready. Survives a reload, not a restart: for planned\n"
         "                 maintenance configure {\"address\": ADDR, \"drained\": true}.\n"
         "  --wait         return once drained with no connection left (also for what was\n"
         "                 drained already); progress on a terminal\n"
         "  --timeout S    with --wait: give up after S seconds (default: drain.max_seconds)\n"
         "                 and list the connections left; the drain stays\n"
         "Exit: 0 done (--wait: no connection left), 1 no daemon reachable or it went away,\n"
         "2 a --vip that is not a VIP, 3 --wait timed out with connections left.\n",
          .synopsis = " [--vip ADDR ...] [--wait [--timeout S]] [--state-dir DIR]",
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
         {.flags = {"--offline", "--json"},
          .help =
         "Validates a configuration and prints what start would apply; touches nothing.\n"
         "Then looks at this host as start would and refuses what start would refuse (an\n"
         "interface of arp.interfaces or tunnel.interfaces that does not exist, a VIP on a\n"
         "real interface, ...), with start's words. With \"tunnel\", asks the kernel whether\n"
         "it takes the decapsulation program (loaded and let go at once, never attached).\n"
         "One verdict: the plan when everything passed, else only the problems.\n"
         "  --offline   the file alone: no look at this host (pipelines off the host)\n"
         "  --json      the verdict as JSON: {\"valid\", \"exit\", \"configuration\", \"problems\", \"would\"} (for CI)\n"
         "Exit: 0 valid, 2 invalid or refused on this host, 4 this host could not be read\n"
         "(or, with \"tunnel\", the kernel could not be asked: loading BPF needs CAP_BPF).\n",
          .synopsis = " [-c FILE [--config-dir DIR] | --vip ADDR ...] [--offline] [--json]",
          .run = runCheck}},
    };
    return specs;
}


std::string usage() {
    return "usage: lvs-rs-agent COMMAND [options]\n"
           "\n"
           "Commands:\n"
           "  start    make this real server DR-ready, then verify\n"
           "  stop     undo what start did, restoring the original sysctls\n"
           "  status   show expected and actual state (exit 0 in place, 1 daemon dead, 3 not in place, 4 unknown)\n"
           "  check    validate the configuration and show what start would apply\n"
           "  run      apply, then keep it in place and serve the readiness API (daemon)\n"
           "  drain    make the running daemon report not ready (VIPs stay bound); --vip: one VIP\n"
           "  undrain  end a drain\n"
           "  reload   make the running daemon read its configuration again, and say how it went\n"
           "  doctor   diagnose the classic LVS-DR traps, and the tunnel's (read-only)\n"
           "  import   derive a config.json from an old rc.local / ifcfg / sysctl setup\n"
           "  director-config  print the keepalived, HAProxy or ipvsadm configuration for this server\n"
           "  router-config    print the BIRD or FRR configuration that announces the ready VIPs\n"
           "  exit-hook        the systemd unit's ExecStop= (tells a restart from a stop); not for a shell\n"
           "\n"
           "Options for every command:\n"
           "  -c, --config FILE   configuration (default /etc/lvs-rs-agent/config.json)\n"
           "  --config-dir DIR    drop-ins, *.json with vips and services (default: conf.d beside it)\n"
           "  --vip ADDR          a VIP (repeatable); without --config no file is read\n"
           "  --state-dir DIR     where the agent keeps what it owns (default /run/lvs-rs-agent)\n"
           "  -h, --help          help (also `lvs-rs-agent COMMAND --help`)\n"
           "  --version           print the version\n";
}

}  // namespace agent
