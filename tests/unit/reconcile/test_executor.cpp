#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/reconcile/executor.h"
#include "fixtures.h"
#include "support/fake_netlink.h"

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
        REQUIRE(w.executor().transact(w.planFor(d, owned), owned));
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
            if (what == "add 2001:db8::10/128 to lo") return netcfg::NetError{.code = 11, .message = "adding 2001:db8::10/128: Permission denied"};
            return std::nullopt;
        };
        const Desired d = fixtures::desired({"198.51.100.188", "2001:db8::10"});
        auto r = w.executor().transact(w.planFor(d, owned), owned);
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
        REQUIRE(w.executor().transact(p, owned));
        REQUIRE(seenAtFirstChange);
        CHECK(seenAtFirstChange->addresses.contains(ip("198.51.100.188")));
        CHECK(seenAtFirstChange->sysctlOriginals.size() == 4);
    }

    TEST_CASE("a rollback that cannot be undone keeps ownership so stop can retry") {
        World w;
        Owned owned;
        w.nl.failWhen = [](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what == "add route 198.51.100.188/32 dev lo table main" || what == "remove 198.51.100.188/32 from lo")
                return netcfg::NetError{.code = 1, .message = "boom"};
            return std::nullopt;
        };
        const Desired d = fixtures::desired({"198.51.100.188"});
        REQUIRE_FALSE(w.executor().transact(w.planFor(d, owned), owned));
        CHECK(owned.addresses.contains(ip("198.51.100.188")));
        CHECK(w.state.load().value().addresses.contains(ip("198.51.100.188")));
    }

    TEST_CASE("a rollback never removes what the kernel said was already there") {
        World w;
        Owned owned;
        const Desired d = fixtures::desired({"198.51.100.188", "2001:db8::10"});
        const Plan p = w.planFor(d, owned);
        // Someone else binds the VIP between the look and the change: the add is acked
        // "already there" (EEXIST), so it is not this run's to undo.
        w.nl.state.addresses.push_back({.ifindex = 1, .address = ip("198.51.100.188"), .prefixlen = 32});
        w.nl.failWhen = [](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what == "add 2001:db8::10/128 to lo") return netcfg::NetError{.code = 11, .err = 13, .message = "Permission denied"};
            return std::nullopt;
        };
        REQUIRE_FALSE(w.executor().transact(p, owned));
        CHECK(w.nl.state.addresses.size() == 1);  // the other writer's address stays
        CHECK(owned.empty());
        CHECK(std::find(w.log.begin(), w.log.end(), "rolled back: removed 198.51.100.188/32 from lo") == w.log.end());
    }

    TEST_CASE("an address found already there at apply time is not recorded as owned") {
        World w;
        Owned owned;
        const Plan p = w.planFor(fixtures::desired({"198.51.100.188"}), owned);
        w.nl.state.addresses.push_back({.ifindex = 1, .address = ip("198.51.100.188"), .prefixlen = 32});
        REQUIRE(w.executor().transact(p, owned));
        CHECK_FALSE(owned.addresses.contains(ip("198.51.100.188")));
        CHECK(owned.routes.contains(ip("198.51.100.188")));
        CHECK_FALSE(w.state.load().value().addresses.contains(ip("198.51.100.188")));
    }

    TEST_CASE("applyEach: one failing action leaves the others applied, nothing rolled back") {
        World w;
        Owned owned;
        w.nl.failWhen = [](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what == "add 2001:db8::10/128 to lo") return netcfg::NetError{.code = 11, .err = 13, .message = "Permission denied"};
            return std::nullopt;
        };
        const Plan p = w.planFor(fixtures::desired({"198.51.100.188", "2001:db8::10", "198.51.100.189"}), owned);
        const auto results = w.executor().applyEach(p.actions, owned);
        REQUIRE(results.size() == p.actions.size());
        int failed = 0;
        for (std::size_t k = 0; k < results.size(); ++k)
            if (!results[k]) {
                ++failed;
                CHECK(describe(p.actions[k]) == "add 2001:db8::10/128 to lo");
                CHECK(results[k].error().err == 13);
            }
        CHECK(failed == 1);
        CHECK(w.sysctlValue("all", "arp_ignore") == 1);  // the ARP repair stays
        CHECK(w.nl.state.addresses.size() == 2);
        CHECK(w.nl.state.routes.size() == 3);
        CHECK(owned.addresses == std::set<netcfg::IpAddress>{ip("198.51.100.188"), ip("198.51.100.189")});
        CHECK(w.state.load().value() == owned);
    }

    TEST_CASE("applyEach: repairing what the agent owns does not rewrite the state file") {
        World w;
        Owned owned;
        REQUIRE(w.executor().transact(w.planFor(fixtures::desired({"198.51.100.188"}), owned), owned));
        w.nl.state.addresses.clear();
        const Plan p = w.planFor(fixtures::desired({"198.51.100.188"}), owned);
        REQUIRE(p.actions.size() == 1);
        fs::remove(w.state.path());  // a write would bring it back
        const auto results = w.executor().applyEach(p.actions, owned);
        REQUIRE(results.size() == 1);
        CHECK(results[0].has_value());
        CHECK(w.nl.state.addresses.size() == 1);
        CHECK_FALSE(fs::exists(w.state.path()));
    }

    TEST_CASE("stop after start returns to the original kernel state") {
        World w;
        std::ofstream(w.root / "proc/net/ipv4/conf/lo/arp_ignore") << "3\n";  // non-default original
        Owned owned;
        REQUIRE(w.executor().transact(w.planFor(fixtures::desired({"198.51.100.188"}), owned), owned));
        CHECK(w.sysctlValue("lo", "arp_ignore") == 1);
        REQUIRE(w.executor().transact(w.planFor(Desired{}, owned), owned));
        CHECK(w.sysctlValue("lo", "arp_ignore") == 3);
        CHECK(w.sysctlValue("all", "arp_ignore") == 0);
        CHECK(w.nl.state.addresses.empty());
        CHECK(w.nl.state.routes.empty());
        CHECK(owned.empty());
        CHECK_FALSE(fs::exists(w.state.path()));
    }
}
