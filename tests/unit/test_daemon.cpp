#include <doctest/doctest.h>

#include "agent/daemon/daemon.h"
#include "fake_world.h"
#include "fixtures.h"

using namespace agent;
using fixtures::ip;

namespace {

// A Daemon on a fake kernel: FakeNetlink and FakeEvents handed to it, /proc/sys and the
// state folder under a temporary folder, no HTTP API.
struct FakeDaemon {
    fixtures::TempDir dir{"lvs-daemon-"};
    netcfg::FakeNetlink* nl = nullptr;
    netcfg::FakeEvents* events = nullptr;
    std::unique_ptr<Daemon> d;

    explicit FakeDaemon(std::vector<const char*> vips) {
        auto fakeNl = std::make_unique<netcfg::FakeNetlink>();
        auto fakeEvents = std::make_unique<netcfg::FakeEvents>();
        nl = fakeNl.get();
        events = fakeEvents.get();
        nl->events = events;
        for (const char* iface : {"all", "lo"})
            for (const auto& k : kArpKeys) {
                std::filesystem::create_directories(dir.path / "proc/net/ipv4/conf" / iface);
                std::ofstream(dir.path / "proc/net/ipv4/conf" / iface / k) << "0\n";
            }
        Config cfg;
        for (auto* v : vips) cfg.vips.push_back(ip(v));
        cfg.drainSeconds = 0;
        const std::string stateDir = (dir.path / "state").string();
        d = std::make_unique<Daemon>(DaemonOptions{.stateDir = stateDir, .configPath = std::nullopt, .cliVips = {}}, cfg,
                                     Session(std::move(fakeNl), stateDir, sysctl::SysctlTree(dir.path / "proc")),
                                     std::move(fakeEvents));
    }
    // Turns the loop until cond holds (a deadline of seconds, polls of milliseconds).
    template <class F>
    bool stepUntil(F cond) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!cond()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            d->step(10);
        }
        return true;
    }
    bool bound(const char* vip) const {
        for (const auto& a : nl->state.addresses)
            if (a.ifindex == 1 && a.address == ip(vip)) return true;
        return false;
    }
};

}  // namespace

TEST_SUITE("daemon") {
    TEST_CASE("start converges once, publishes ready, and a drift is repaired from its event alone") {
        FakeDaemon f({"198.51.100.1", "198.51.100.2"});
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        CHECK(f.bound("198.51.100.1"));
        CHECK(f.d->snapshot()->ready);
        const int dumps = f.nl->dumps;
        const auto passes = f.d->state().reconcileCount;

        f.nl->removeAddress(1, ip("198.51.100.2"));
        REQUIRE(f.stepUntil([&] { return f.bound("198.51.100.2"); }));
        CHECK(f.nl->dumps == dumps);
        CHECK(f.d->state().repairs.at("address") == 1);
        CHECK(f.d->state().reconcileCount == passes + 1);
        CHECK(f.d->snapshot()->ready);

        // Its own change's notification causes no further pass.
        f.d->step(0);
        f.d->step(0);
        CHECK(f.d->state().reconcileCount == passes + 1);

        CHECK(f.d->finish() == Daemon::Exit::Ok);
        CHECK(f.nl->state.addresses.empty());
        CHECK(f.nl->state.routes.empty());
    }

    TEST_CASE("lost notifications bring one full resync") {
        FakeDaemon f({"198.51.100.1"});
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        const int dumps = f.nl->dumps;
        f.nl->state.routes.clear();  // changed silently
        f.events->overrun();
        REQUIRE(f.stepUntil([&] { return !f.nl->state.routes.empty(); }));
        CHECK(f.nl->dumps == dumps + 1);
        CHECK(f.d->state().overruns == 1);
    }

    TEST_CASE("a conflict on one VIP keeps the others ready") {
        FakeDaemon f({"198.51.100.1", "198.51.100.2"});
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        f.nl->addAddress(2, ip("198.51.100.2"), 24);
        REQUIRE(f.stepUntil([&] { return !f.d->snapshot()->ready; }));
        const auto s = f.d->snapshot();
        CHECK(s->readyFor(*s->find("198.51.100.1")));
        CHECK_FALSE(s->readyFor(*s->find("198.51.100.2")));
        CHECK(s->reasonsFor(*s->find("198.51.100.2"))[0].find("also an address of eth0") != std::string::npos);
    }

    TEST_CASE("a conflict at start refuses to run and changes nothing") {
        FakeDaemon f({"198.51.100.1"});
        f.nl->addAddress(2, ip("198.51.100.1"), 24);
        CHECK(f.d->start() == Daemon::Exit::Refused);
        CHECK_FALSE(f.bound("198.51.100.1"));
    }
}
