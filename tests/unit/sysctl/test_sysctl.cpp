#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "sysctl/sysctl.h"

namespace fs = std::filesystem;
using sysctl::ConfKey;

namespace {

// A fake /proc/sys with net/ipv4/conf/<iface>/arp_* files.
struct FakeProcSys {
    fs::path root = fs::temp_directory_path() / ("lvs-sysctl-" + std::to_string(::getpid()));
    FakeProcSys() {
        for (const char* iface : {"all", "default", "lo", "eth0.100"}) {
            fs::create_directories(root / "net/ipv4/conf" / iface);
            std::ofstream(root / "net/ipv4/conf" / iface / "arp_ignore") << "0\n";
            std::ofstream(root / "net/ipv4/conf" / iface / "arp_announce") << "0\n";
        }
    }
    ~FakeProcSys() { fs::remove_all(root); }
};

}  // namespace

TEST_SUITE("sysctl") {
    TEST_CASE("read and write under an injected root") {
        FakeProcSys proc;
        sysctl::SysctlTree tree(proc.root);
        const ConfKey key{.iface = "lo", .name = "arp_ignore"};
        CHECK(tree.read(key).value() == 0);
        REQUIRE(tree.write(key, 1));
        CHECK(tree.read(key).value() == 1);
        std::ifstream in(proc.root / "net/ipv4/conf/lo/arp_ignore");
        std::string text;
        std::getline(in, text);
        CHECK(text == "1");
    }

    TEST_CASE("interface names with dots become path components, not separators") {
        FakeProcSys proc;
        sysctl::SysctlTree tree(proc.root);
        const ConfKey key{.iface = "eth0.100", .name = "arp_announce"};
        CHECK(tree.pathOf(key) == proc.root / "net/ipv4/conf/eth0.100/arp_announce");
        REQUIRE(tree.write(key, 2));
        CHECK(tree.read(key).value() == 2);
        CHECK(sysctl::dotted(key) == "net.ipv4.conf.eth0.100.arp_announce");
    }

    TEST_CASE("a missing interface is an error with errno, and nothing is created") {
        FakeProcSys proc;
        sysctl::SysctlTree tree(proc.root);
        const ConfKey key{.iface = "eth9", .name = "arp_ignore"};
        auto r = tree.read(key);
        REQUIRE_FALSE(r);
        CHECK(r.error().err == ENOENT);
        CHECK(r.error().message == "reading net.ipv4.conf.eth9.arp_ignore: No such file or directory");
        CHECK_FALSE(tree.write(key, 1));
        CHECK_FALSE(fs::exists(proc.root / "net/ipv4/conf/eth9"));
    }

    TEST_CASE("invalid interface names never reach the file system") {
        FakeProcSys proc;
        sysctl::SysctlTree tree(proc.root);
        for (const char* bad : {"", ".", "..", "../../x", "a/b", "lo:0", "with space", "abcdefghijklmnop"}) {
            CAPTURE(bad);
            CHECK_FALSE(sysctl::isValidInterfaceName(bad));
            auto r = tree.write({.iface = bad, .name = "arp_ignore"}, 1);
            REQUIRE_FALSE(r);
            CHECK(r.error().err == EINVAL);
        }
        for (const char* good : {"lo", "all", "default", "eth0", "eth0.100", "br-lan", "abcdefghijklmno"})
            CHECK(sysctl::isValidInterfaceName(good));
    }

    TEST_CASE("a non-number is reported") {
        FakeProcSys proc;
        std::ofstream(proc.root / "net/ipv4/conf/lo/arp_ignore") << "banana\n";
        auto r = sysctl::SysctlTree(proc.root).read({.iface = "lo", .name = "arp_ignore"});
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("not a number") != std::string::npos);
    }

    TEST_CASE("effective value is max(all, iface) and interfaces are listed") {
        CHECK(sysctl::effective(0, 1) == 1);
        CHECK(sysctl::effective(2, 1) == 2);
        FakeProcSys proc;
        auto names = sysctl::SysctlTree(proc.root).interfaces();
        std::sort(names.begin(), names.end());
        CHECK(names == std::vector<std::string>{"all", "default", "eth0.100", "lo"});
    }
}
