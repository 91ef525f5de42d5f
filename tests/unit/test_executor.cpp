#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/reconcile/executor.h"
#include "fixtures.h"
#include "netcfg/fake_netlink.h"

namespace fs = std::filesystem;
using namespace agent;
using fixtures::ip;

namespace {

// A fake kernel (FakeNetlink + a fake /proc/sys) and a state dir.
struct World {
    fs::path root = fs::temp_directory_path() / ("lvs-exec-" + std::to_string(::getpid()));
    netcfg::FakeNetlink nl;
    sysctl::SysctlTree tree{root / "proc"};
    StateFile state{root / "state"};
    std::vector<std::string> log;

    World() {
        fs::create_directories(root / "state");
        for (const char* iface : {"all", "lo"}) {
            fs::create_directories(root / "proc/net/ipv4/conf" / iface);
            for (const auto& k : kArpKeys) std::ofstream(root / "proc/net/ipv4/conf" / iface / k) << "0\n";
        }
    }
    ~World() { fs::remove_all(root); }

    Executor executor() {
        return Executor{nl, tree, state, [this](const std::string& l) { log.push_back(l); }};
    }
    Plan planFor(const Desired& d, const Owned& owned) { return plan(d, observe(nl, tree, d, owned).value(), owned); }
    int sysctlValue(const char* iface, const char* key) { return tree.read({.iface = iface, .name = key}).value(); }
};

}  // namespace

TEST_SUITE("executor") {
    TEST_CASE("apply reaches the desired state, logs each change and records ownership") {
        World w;
        Owned owned;
        const Desired d = fixtures::desired({"198.51.100.188"});
        REQUIRE(w.executor().apply(w.planFor(d, owned), owned));
        CHECK(w.planFor(d, owned).empty());
        CHECK(w.sysctlValue("all", "arp_ignore") == 1);
        CHECK(w.sysctlValue("lo", "arp_announce") == 2);
        CHECK(w.state.load().value() == owned);
        CHECK(owned.addresses.contains(ip("198.51.100.188")));
        CHECK(std::find(w.log.begin(), w.log.end(), "added 198.51.100.188/32 to lo") != w.log.end());
        CHECK(std::find(w.log.begin(), w.log.end(), "net.ipv4.conf.all.arp_ignore: 0 -> 1") != w.log.end());
    }

    TEST_CASE("a failure part-way rolls back what the run changed and restores the state file") {
        World w;
        Owned owned;
        w.nl.failWhen = [](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what == "add 2001:db8::10/128") return netcfg::NetError{.code = 11, .message = "adding 2001:db8::10/128: Permission denied"};
            return std::nullopt;
        };
        const Desired d = fixtures::desired({"198.51.100.188", "2001:db8::10"});
        auto r = w.executor().apply(w.planFor(d, owned), owned);
        REQUIRE_FALSE(r);
        CHECK(r.error() == "add 2001:db8::10/128 to lo failed: adding 2001:db8::10/128: Permission denied");
        CHECK(w.nl.state.addresses.size() == 0);  // fake starts with none
        CHECK(w.sysctlValue("all", "arp_ignore") == 0);
        CHECK(w.sysctlValue("lo", "arp_announce") == 0);
        CHECK(owned.empty());
        CHECK(w.state.load().value().empty());
        CHECK(std::find(w.log.begin(), w.log.end(), "rolled back: removed 198.51.100.188/32 from lo") != w.log.end());
    }

    TEST_CASE("the state file lists what the run may add before the first address is added") {
        World w;
        Owned owned;
        std::optional<Owned> seenAtFirstChange;
        w.nl.failWhen = [&](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what != "dump" && !seenAtFirstChange) seenAtFirstChange = w.state.load().value();
            return std::nullopt;
        };
        const Desired d = fixtures::desired({"198.51.100.188"});
        const Plan p = w.planFor(d, owned);
        REQUIRE(w.executor().apply(p, owned));
        REQUIRE(seenAtFirstChange);
        CHECK(seenAtFirstChange->addresses.contains(ip("198.51.100.188")));
        CHECK(seenAtFirstChange->sysctlOriginals.size() == 4);
    }

    TEST_CASE("a rollback that cannot be undone keeps ownership so stop can retry") {
        World w;
        Owned owned;
        w.nl.failWhen = [](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what == "add route 198.51.100.188/32" || what == "delete 198.51.100.188/32")
                return netcfg::NetError{.code = 1, .message = "boom"};
            return std::nullopt;
        };
        const Desired d = fixtures::desired({"198.51.100.188"});
        REQUIRE_FALSE(w.executor().apply(w.planFor(d, owned), owned));
        CHECK(owned.addresses.contains(ip("198.51.100.188")));
        CHECK(w.state.load().value().addresses.contains(ip("198.51.100.188")));
    }

    TEST_CASE("stop after start returns to the original kernel state") {
        World w;
        std::ofstream(w.root / "proc/net/ipv4/conf/lo/arp_ignore") << "3\n";  // non-default original
        Owned owned;
        REQUIRE(w.executor().apply(w.planFor(fixtures::desired({"198.51.100.188"}), owned), owned));
        CHECK(w.sysctlValue("lo", "arp_ignore") == 1);
        REQUIRE(w.executor().apply(w.planFor(Desired{}, owned), owned));
        CHECK(w.sysctlValue("lo", "arp_ignore") == 3);
        CHECK(w.sysctlValue("all", "arp_ignore") == 0);
        CHECK(w.nl.state.addresses.empty());
        CHECK(w.nl.state.routes.empty());
        CHECK(owned.empty());
        CHECK_FALSE(fs::exists(w.state.path()));
    }
}
