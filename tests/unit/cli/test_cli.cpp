#include <doctest/doctest.h>

#include "agent/cli/cli.h"

using agent::parseArgs;

TEST_SUITE("cli") {
    TEST_CASE("help is consistent: every command the errors offer is in the usage, status's exit codes alike everywhere") {
        const std::string u = agent::usage();
        const std::string offered = agent::parseArgs({}).error();
        for (const char* c : {"start", "stop", "status", "check", "run", "drain", "undrain", "reload", "exit-hook", "doctor", "import",
                              "director-config", "router-config"}) {
            CAPTURE(c);
            CHECK(u.find(std::string("  ") + c + " ") != std::string::npos);
            CHECK(offered.find(c) != std::string::npos);
        }
        CHECK(u.find("exit 0 in place, 1 daemon dead, 3 not in place, 4 unknown") != std::string::npos);
        const std::string h = agent::commandHelp("status");
        for (const char* code : {"0 in place", "1 the daemon is dead", "3 not in place", "4 cannot tell", "2 bad usage"}) {
            CAPTURE(code);
            CHECK(h.find(code) != std::string::npos);
        }
        CHECK(agent::parseArgs({"check", "--json"}).has_value());
    }

    TEST_CASE("import takes its files as arguments, and refuses the options that mean nothing to it") {
        const auto o = parseArgs({"import", "/etc/rc.local", "--from", "/etc/sysctl.conf", "/etc/init.d/realserver"});
        REQUIRE(o);
        CHECK(o->fromFiles == std::vector<std::string>{"/etc/rc.local", "/etc/sysctl.conf", "/etc/init.d/realserver"});
        CHECK(parseArgs({"import", "-c", "/etc/x.json"}).error().find("mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"import", "--vip", "198.51.100.1"}).error().find("mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"status", "/etc/rc.local"}).error() == "unexpected argument \"/etc/rc.local\"");
        CHECK(agent::commandHelp("import").rfind("usage: lvs-rs-agent import [FILE ...] [--from FILE ...] [--sysroot DIR] [--output FILE]\n", 0) == 0);
        CHECK(agent::commandHelp("reload").rfind("usage: lvs-rs-agent reload [--state-dir DIR]\n", 0) == 0);
    }

    TEST_CASE("drain and undrain take --vip, the daemon's clients refuse the options that mean nothing to them") {
        const auto o = parseArgs({"drain", "--vip", "198.51.100.1", "--vip=2001:db8::1", "--state-dir", "/tmp/s"});
        REQUIRE(o);
        CHECK(o->vips == std::vector<std::string>{"198.51.100.1", "2001:db8::1"});
        CHECK(parseArgs({"undrain", "--vip", "198.51.100.1"}));
        CHECK(parseArgs({"drain", "-c", "/etc/x.json"}).error() ==
              "drain asks the running daemon, which has its configuration; -c/--config and --config-dir mean nothing to it");
        CHECK(parseArgs({"reload", "--config-dir", "/etc/x"}).error().find("mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"reload", "--vip", "198.51.100.1"}).error() ==
              "reload reads the daemon's configuration file again; --vip means nothing to it");
        CHECK(agent::commandHelp("drain").rfind("usage: lvs-rs-agent drain [--vip ADDR ...] [--wait [--timeout S]] [--state-dir DIR]\n", 0) == 0);
    }

    TEST_CASE("commands and common options") {
        auto o = parseArgs({"start", "--vip", "198.51.100.1", "--vip=198.51.100.2", "-c", "x.json", "--state-dir", "/tmp/s"});
        REQUIRE(o);
        CHECK(o->command == "start");
        CHECK(o->vips == std::vector<std::string>{"198.51.100.1", "198.51.100.2"});
        CHECK(o->config == "x.json");
        CHECK(o->stateDir == "/tmp/s");
        CHECK(parseArgs({"status", "--json", "--all"})->json);
        CHECK(parseArgs({"stop", "--dry-run"})->dryRun);
        CHECK(parseArgs({"status"})->stateDir == "/run/lvs-rs-agent");
        CHECK(parseArgs({"--version"})->version);
        CHECK(parseArgs({"start", "--help"})->help);
    }

    TEST_CASE("usage errors: did you mean, the command's own usage line with its arguments") {
        CHECK(parseArgs({"chek"}).error().rfind("unknown command \"chek\"; did you mean check? (commands:", 0) == 0);
        CHECK(parseArgs({"sttaus"}).error().find("did you mean status?") != std::string::npos);
        CHECK(parseArgs({"xyzzy"}).error().find("did you mean") == std::string::npos);
        CHECK(parseArgs({"status", "-j"}).error() == "unknown option -j; did you mean --json?");
        CHECK(parseArgs({"status", "--jsn"}).error() == "unknown option --jsn; did you mean --json?");
        CHECK(parseArgs({"start", "--dryrun"}).error() == "unknown option --dryrun; did you mean --dry-run?");
        CHECK(parseArgs({"start", "--config-di", "x"}).error() == "unknown option --config-di; did you mean --config-dir?");
        CHECK(parseArgs({"start", "-v"}).error() == "unknown option -v");  // --vip or --version: no guess
        CHECK(parseArgs({"start", "--bogus"}).error() == "unknown option --bogus");
        CHECK(agent::didYouMean("stp", {"start", "stop", "status"}) == "stop");
        CHECK(agent::didYouMean("a", {"ab"}).empty());  // a one-letter word is no basis for a guess
        // Which command the words name, skipping option values.
        CHECK(agent::commandIn({"-c", "start", "status", "-j"}) == "status");
        CHECK(agent::commandIn({"--state-dir", "/x", "chek"}).empty());
        CHECK(agent::commandIn({}).empty());
        // Usage lines show each option's argument; required ones are not in brackets.
        CHECK(agent::commandUsage("start") == "usage: lvs-rs-agent start [-c FILE [--config-dir DIR] | --vip ADDR ...] [--state-dir DIR] [--dry-run]\n");
        CHECK(agent::commandUsage("stop") == "usage: lvs-rs-agent stop [--vip ADDR ...] [--state-dir DIR] [--dry-run]\n");
        CHECK(agent::commandUsage("director-config").rfind("usage: lvs-rs-agent director-config --format keepalived|haproxy|ipvsadm ", 0) == 0);
        CHECK(agent::commandUsage("nope").empty());
        CHECK(agent::commandHelp("run").find("resync_interval_seconds (default 30)") != std::string::npos);
        CHECK(agent::commandHelp("run").find("every 30 s") == std::string::npos);
        CHECK(agent::commandHelp("status").find("1 the daemon is dead but left its VIPs and state behind") != std::string::npos);
    }

    TEST_CASE("status --ready, import --output, director-config --rip") {
        CHECK(parseArgs({"status", "--ready"})->ready);
        CHECK(parseArgs({"start", "--ready"}).error() == "--ready is not an option of start");
        CHECK(parseArgs({"import", "--output", "/tmp/c.json"})->output == "/tmp/c.json");
        CHECK(parseArgs({"start", "--output", "x"}).error() == "--output is not an option of start");
        CHECK(parseArgs({"import", "--output=a", "--output=b"}).error() == "--output given twice");
        CHECK(parseArgs({"director-config", "--format", "keepalived", "--rip", "2001:db8::60"})->rips == std::vector<std::string>{"2001:db8::60"});
        CHECK(parseArgs({"stop", "--vip", "198.51.100.1"})->vips == std::vector<std::string>{"198.51.100.1"});
    }

    TEST_CASE("director-config options") {
        auto o = parseArgs({"director-config", "--format", "haproxy", "--director-check=http://198.51.100.60:9100"});
        REQUIRE(o);
        CHECK(o->format == "haproxy");
        CHECK(o->directorCheck == "http://198.51.100.60:9100");
        CHECK(parseArgs({"director-config"}).error() == "director-config needs --format keepalived, haproxy or ipvsadm");
        CHECK(parseArgs({"director-config", "--format", "nginx"}).error() ==
              "director-config: unknown format \"nginx\" (known formats: keepalived, haproxy or ipvsadm)");
        CHECK(parseArgs({"router-config", "--format", "quagga"}).error() == "router-config: unknown format \"quagga\" (known formats: bird or frr)");
        CHECK(parseArgs({"start", "--format", "haproxy"}).error() == "--format is not an option of start");
        auto t = parseArgs({"director-config", "--format", "ipvsadm", "--method", "tun", "--encap=gue"});
        REQUIRE(t);
        CHECK(t->format == "ipvsadm");
        CHECK(t->method == "tun");
        CHECK(t->encap == "gue");
        CHECK(parseArgs({"start", "--method", "tun"}).error() == "--method is not an option of start");
    }

    TEST_CASE("bad usage names the problem") {
        CHECK(parseArgs({}).error() == "no command given (commands: start, stop, status, check, run, drain, undrain, reload, exit-hook, doctor, import, director-config, router-config)");
        CHECK(parseArgs({"strat"}).error().find("unknown command \"strat\"") == 0);
        CHECK(parseArgs({"exit-hook", "-c", "x.json"}).error().find("-c/--config and --config-dir mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"exit-hook", "--vip", "198.51.100.1"}).error() == "exit-hook asks systemd about the whole unit; --vip means nothing to it");
        CHECK(parseArgs({"start", "--vip"}).error() == "--vip needs a value");
        CHECK(parseArgs({"start", "--vip="}).error() == "--vip needs a value");
        CHECK(parseArgs({"start", "--bogus"}).error() == "unknown option --bogus");
        CHECK(parseArgs({"status", "--dry-run"}).error() == "--dry-run is not an option of status");
        CHECK(parseArgs({"start", "--json"}).error() == "--json is not an option of start");
        CHECK(parseArgs({"start", "extra"}).error() == "unexpected argument \"extra\"");
        CHECK(parseArgs({"start", "-c", "a", "-c", "b"}).error() == "--config given twice");
        CHECK(parseArgs({"start", "--state-dir", "a", "--state-dir=b"}).error() == "--state-dir given twice");
        CHECK(parseArgs({"doctor", "--sysroot", "a", "--sysroot", "b"}).error() == "--sysroot given twice");
        const std::string huge(100000, 'x');
        CHECK(parseArgs({"start", huge}).error() == "unexpected argument \"" + std::string(64, 'x') + "...\" (100000 bytes)");
        CHECK(parseArgs({huge}).error().size() < 300);
        CHECK(parseArgs({"start", "--" + huge}).error().size() < 300);
    }
}
