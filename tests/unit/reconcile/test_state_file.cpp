#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/reconcile/lock.h"
#include "agent/reconcile/state_file.h"
#include "fixtures.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace agent;
using fixtures::ip;
using fixtures::TempDir;

namespace {

Owned sample() {
    Owned o;
    o.addresses = {ip("198.51.100.188"), ip("2001:db8::10")};
    o.routes = {ip("198.51.100.188")};
    o.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 0;
    o.sysctlOriginals[{.iface = "eth0.100", .name = "arp_announce"}] = 1;
    return o;
}

}  // namespace

namespace {
std::string fileText(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_SUITE("state_file") {
    TEST_CASE("round trip") {
        TempDir dir;
        StateFile f(dir.path);
        CHECK(f.load().value().empty());
        REQUIRE(f.save(sample()));
        CHECK(f.load().value() == sample());
        CHECK((fs::status(f.path()).permissions() & fs::perms::others_read) == fs::perms::none);
    }

    TEST_CASE("an empty state removes the file") {
        TempDir dir;
        StateFile f(dir.path);
        REQUIRE(f.save(sample()));
        REQUIRE(f.save(Owned{}));
        CHECK_FALSE(fs::exists(f.path()));
        CHECK(f.load().value().empty());
    }

    TEST_CASE("a torn temp file from a crash is ignored and replaced by the next save") {
        TempDir dir;
        StateFile f(dir.path);
        REQUIRE(f.save(sample()));
        std::ofstream(dir.path / "state.json.tmp") << R"({"format": 1, "addresses": ["198.51.1)";
        CHECK(f.load().value() == sample());
        Owned more = sample();
        more.addresses.insert(ip("203.0.113.5"));
        REQUIRE(f.save(more));
        CHECK(f.load().value() == more);
        CHECK_FALSE(fs::exists(dir.path / "state.json.tmp"));
    }

    TEST_CASE("a temp file left by a crash during the very first write is discarded") {
        TempDir dir;
        StateFile f(dir.path);
        std::ofstream(dir.path / "state.json.tmp") << R"({"format": 1, "addresses": ["198.51.100.1"], "routes": [], "sysctl_originals": []})";
        CHECK(f.load().value().empty());  // the rename never happened: nothing was applied
        CHECK(f.discardTornWrite().value());
        CHECK_FALSE(fs::exists(dir.path / "state.json.tmp"));
        CHECK_FALSE(f.discardTornWrite().value());
    }

    TEST_CASE("a state file that is not a regular file is an error, not read forever") {
        TempDir dir;
        REQUIRE(::mkfifo((dir.path / "state.json").c_str(), 0600) == 0);
        auto r = StateFile(dir.path).load();
        REQUIRE_FALSE(r);
        CHECK(r.error().find("is a FIFO (named pipe), not a regular file") != std::string::npos);
    }

    TEST_CASE("a damaged state file is an error that says what to do, never silently empty") {
        TempDir dir;
        std::ofstream(dir.path / "state.json") << "{not json";
        auto r = StateFile(dir.path).load();
        REQUIRE_FALSE(r);
        CHECK(r.error().find("is damaged") != std::string::npos);
        CHECK(r.error().find("move it aside") != std::string::npos);
    }

    TEST_CASE("a state file of a newer format (a downgrade) is refused by name, not as damage") {
        TempDir dir;
        std::ofstream(dir.path / "state.json") << R"({"format": 7, "addresses": [], "routes": [], "sysctl_originals": []})";
        auto r = StateFile(dir.path).load();
        REQUIRE_FALSE(r);
        CHECK(r.error().find("has format 7, written by a newer lvs-rs-agent; this version reads format 6") != std::string::npos);
        CHECK(r.error().find("is damaged") == std::string::npos);
    }

    TEST_CASE("announce routes are kept in format 2, which an older agent refuses, and without them format 1") {
        TempDir dir;
        StateFile f(dir.path);
        Owned o;
        o.addresses.insert(ip("198.51.100.1"));
        REQUIRE(f.save(o));
        CHECK(fileText(dir.path / "state.json").find("\"format\": 1") != std::string::npos);
        o.announced[ip("198.51.100.1")] = {.table = 200, .metric = 20};
        REQUIRE(f.save(o));
        CHECK(fileText(dir.path / "state.json").find("\"format\": 2") != std::string::npos);
        auto back = f.load();
        REQUIRE(back);
        CHECK(*back == o);
    }

    TEST_CASE("ranges' local routes and a range's announce length are kept in format 3, which an older agent refuses") {
        TempDir dir;
        StateFile f(dir.path);
        Owned o;
        o.localRoutes.insert({ip("198.18.0.0"), 16});
        o.localRoutes.insert({ip("2001:db8:1::"), 64});
        o.announced[ip("198.18.0.0")] = {.table = 200, .metric = 0, .len = 16};
        REQUIRE(f.save(o));
        const std::string text = fileText(dir.path / "state.json");
        CHECK(text.find("\"format\": 3") != std::string::npos);
        CHECK(text.find("\"198.18.0.0/16\"") != std::string::npos);
        auto back = f.load();
        REQUIRE(back);
        CHECK(*back == o);
        // a damaged range is named as damage, never half-read
        std::ofstream(dir.path / "state.json") << R"({"format": 3, "addresses": [], "routes": [], "sysctl_originals": [], "local_routes": ["198.18.0.0/40"]})";
        auto bad = f.load();
        REQUIRE_FALSE(bad);
        CHECK(bad.error().find("is damaged (bad prefix 198.18.0.0/40)") != std::string::npos);
    }

    TEST_CASE("unite keeps the first original") {
        Owned a, b;
        a.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 0;
        b.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 1;
        b.addresses.insert(ip("198.51.100.1"));
        const Owned u = unite(a, b);
        CHECK(u.sysctlOriginals.at({.iface = "all", .name = "arp_ignore"}) == 0);
        CHECK(u.addresses.size() == 1);
    }

    TEST_CASE("state dir is created 0700") {
        TempDir dir;
        const auto sd = dir.path / "run";
        REQUIRE(ensureStateDir(sd));
        struct stat st {};
        REQUIRE(::stat(sd.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0700);
        CHECK(ensureStateDir(sd));
        std::ofstream(dir.path / "file") << "x";
        CHECK_FALSE(ensureStateDir(dir.path / "file"));
    }

    TEST_CASE("the lock is exclusive and released with its owner") {
        TempDir dir;
        {
            auto first = DirLock::acquire(dir.path, std::chrono::milliseconds(0));
            REQUIRE(first);
            auto second = DirLock::acquire(dir.path, std::chrono::milliseconds(50));
            REQUIRE_FALSE(second);
            CHECK(second.error().find("another lvs-rs-agent holds") != std::string::npos);
        }
        CHECK(DirLock::acquire(dir.path, std::chrono::milliseconds(0)));
    }
}
