#include <doctest/doctest.h>

#include "agent/cli/cli.h"

using agent::parseArgs;

TEST_SUITE("cli") {
    TEST_CASE("import takes its files as arguments, and refuses the options that mean nothing to it") {
        const auto o = parseArgs({"import", "/etc/rc.local", "--from", "/etc/sysctl.conf", "/etc/init.d/realserver"});
        REQUIRE(o);
        CHECK(o->fromFiles == std::vector<std::string>{"/etc/rc.local", "/etc/sysctl.conf", "/etc/init.d/realserver"});
        CHECK(parseArgs({"import", "-c", "/etc/x.json"}).error().find("mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"import", "--vip", "198.51.100.1"}).error().find("mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"status", "/etc/rc.local"}).error() == "unexpected argument \"/etc/rc.local\"");
        CHECK(agent::commandHelp("import").rfind("usage: lvs-rs-agent import [FILE ...] [--from] [--sysroot]\n", 0) == 0);
        CHECK(agent::commandHelp("reload").rfind("usage: lvs-rs-agent reload [--state-dir DIR]\n", 0) == 0);
    }

    TEST_CASE("drain and undrain take --vip; the daemon's clients refuse the options that mean nothing to them") {
        const auto o = parseArgs({"drain", "--vip", "198.51.100.1", "--vip=2001:db8::1", "--state-dir", "/tmp/s"});
        REQUIRE(o);
        CHECK(o->vips == std::vector<std::string>{"198.51.100.1", "2001:db8::1"});
        CHECK(parseArgs({"undrain", "--vip", "198.51.100.1"}));
        CHECK(parseArgs({"drain", "-c", "/etc/x.json"}).error() ==
              "drain asks the running daemon, which has its configuration; -c/--config and --config-dir mean nothing to it");
        CHECK(parseArgs({"reload", "--config-dir", "/etc/x"}).error().find("mean nothing to it") != std::string::npos);
        CHECK(parseArgs({"reload", "--vip", "198.51.100.1"}).error() ==
              "reload reads the daemon's configuration file again; --vip means nothing to it");
        CHECK(agent::commandHelp("drain").rfind("usage: lvs-rs-agent drain [--vip ADDR ...] [--state-dir DIR]\n", 0) == 0);
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

    TEST_CASE("director-config options") {
        auto o = parseArgs({"director-config", "--format", "haproxy", "--director-check=http://198.51.100.60:9100"});
        REQUIRE(o);
        CHECK(o->format == "haproxy");
        CHECK(o->directorCheck == "http://198.51.100.60:9100");
        CHECK(parseArgs({"director-config"}).error() == "director-config needs --format keepalived or --format haproxy");
        CHECK(parseArgs({"director-config", "--format", "nginx"}).error() == "director-config needs --format keepalived or --format haproxy");
        CHECK(parseArgs({"start", "--format", "haproxy"}).error() == "--format is not an option of start");
    }

    TEST_CASE("bad usage names the problem") {
        CHECK(parseArgs({}).error() == "no command given (commands: start, stop, status, check, run, drain, undrain, reload, doctor, import, director-config)");
        CHECK(parseArgs({"strat"}).error().find("unknown command \"strat\"") == 0);
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
