#include <doctest/doctest.h>

#include "agent/daemon/daemon.h"
#include "api/agent_check.h"
#include "api/readiness.h"
#include "api/metrics.h"
#include "fake_world.h"
#include "fixtures.h"
#include "snapshot_fixtures.h"
#include "support/fake_connection_counter.h"

using namespace agent;
using fixtures::ip;

namespace {

// A Daemon on a fake kernel: FakeNetlink and FakeEvents handed to it, /proc/sys and the
// state folder under a temporary folder, no HTTP API.
struct FakeDaemon {
    fixtures::TempDir dir{"lvs-daemon-"};
    netcfg::FakeNetlink* nl = nullptr;
    netcfg::FakeEvents* events = nullptr;
    netcfg::FakeConnectionCounter* counter = nullptr;
    std::unique_ptr<Daemon> d;

    // configText: read from a file (so reload() reads it again) instead of vips.
    explicit FakeDaemon(std::vector<const char*> vips, const std::string& configText = "") { make(vips, configText, dir.path); }
    // The next process after one that ran in `root` and left `kernel`.
    FakeDaemon(std::vector<const char*> vips, const std::filesystem::path& root, netcfg::KernelState kernel) {
        make(vips, "", root);
        nl->state = std::move(kernel);
    }
    std::filesystem::path root;
    void make(std::vector<const char*> vips, const std::string& configText, const std::filesystem::path& at) {
        root = at;
        auto fakeNl = std::make_unique<netcfg::FakeNetlink>();
        auto fakeEvents = std::make_unique<netcfg::FakeEvents>();
        auto fakeCounter = std::make_unique<netcfg::FakeConnectionCounter>();
        counter = fakeCounter.get();
        nl = fakeNl.get();
        events = fakeEvents.get();
        nl->events = events;
        for (const char* iface : {"all", "lo"})
            for (const auto& k : kArpKeys) {
                std::filesystem::create_directories(root / "proc/net/ipv4/conf" / iface);
                if (!std::filesystem::exists(root / "proc/net/ipv4/conf" / iface / k))  // a next process finds what the last one set
                    std::ofstream(root / "proc/net/ipv4/conf" / iface / k) << "0\n";
            }
        Config cfg;
        std::optional<std::string> path;
        if (!configText.empty()) {
            path = (root / "config.json").string();
            writeConfig(configText);
            cfg = loadConfig(path, {});
        }
        for (auto* v : vips) cfg.vips.push_back({.address = ip(v)});
        if (configText.find("\"drain\"") == std::string::npos) cfg.drain = {.minSeconds = 0, .maxSeconds = 0};
        const std::string stateDir = (root / "state").string();
        d = std::make_unique<Daemon>(DaemonOptions{.stateDir = stateDir, .configPath = path, .cliVips = {}, .configDir = std::nullopt}, cfg,
                                     Session(std::move(fakeNl), stateDir, sysctl::SysctlTree(root / "proc"), nullptr, std::move(fakeCounter)),
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
    void writeConfig(const std::string& text) const { std::ofstream(root / "config.json") << text; }
    bool drained(const char* vip) const { return d->snapshot()->vipDrained(vip); }
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
        CHECK(f.d->snapshot()->ready());
        const int dumps = f.nl->dumps;
        const auto passes = f.d->state().reconcileCount;

        f.nl->removeAddress(1, ip("198.51.100.2"));
        REQUIRE(f.stepUntil([&] { return f.bound("198.51.100.2"); }));
        CHECK(f.nl->dumps == dumps);
        CHECK(f.d->state().repairs.at("address") == 1);
        CHECK(f.d->state().reconcileCount == passes + 1);
        CHECK(f.d->snapshot()->ready());

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
        REQUIRE(f.stepUntil([&] { return !f.d->snapshot()->ready(); }));
        const auto s = f.d->snapshot();
        CHECK(api::vipReady(*s, *s->find("198.51.100.1")));
        CHECK_FALSE(api::vipReady(*s, *s->find("198.51.100.2")));
        CHECK(api::vipReasons(*s, *s->find("198.51.100.2"))[0].find("also an address of eth0") != std::string::npos);
    }

    TEST_CASE("per-VIP drain: that VIP reports draining, the others and the aggregate stay ready, it stays bound") {
        FakeDaemon f({"198.51.100.1", "198.51.100.2"});
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        f.d->requestVipDrain({"198.51.100.2"}, true);
        REQUIRE(f.stepUntil([&] { return f.drained("198.51.100.2"); }));
        auto s = f.d->snapshot();
        CHECK(s->ready());  // one VIP drained on its own does not hold the server back
        CHECK(api::vipReady(*s, *s->find("198.51.100.1")));
        CHECK_FALSE(api::vipReady(*s, *s->find("198.51.100.2")));
        CHECK(api::vipReasons(*s, *s->find("198.51.100.2")) == std::vector<std::string>{"draining"});
        CHECK(api::agentCheckReplyFor(*s, "198.51.100.2\n") == "up drain\n");
        CHECK(api::agentCheckReplyFor(*s, "198.51.100.1\r\n") == "up ready\n");
        CHECK(api::agentCheckReply(*s) == "up ready\n");
        CHECK(f.bound("198.51.100.2"));
        const std::string status = s->statusBody();
        CHECK(status.find(R"("draining_vips":["198.51.100.2"])") != std::string::npos);
        CHECK(status.find(R"("draining":false,"draining_vips")") != std::string::npos);  // the whole server is not draining
        const auto first = status.find(R"("draining":true)");
        CHECK(first != std::string::npos);  // in the state of .2, and no other VIP's
        CHECK(status.find(R"("draining":true)", first + 1) == std::string::npos);
        CHECK(api::renderMetrics(*s, 0).find("lvs_rs_agent_vip_draining{vip=\"198.51.100.2\"} 1\n") != std::string::npos);
        CHECK(api::renderMetrics(*s, 0).find("lvs_rs_agent_vip_draining{vip=\"198.51.100.1\"} 0\n") != std::string::npos);
        CHECK(api::statusLine(*s) == "ready: 2 VIP(s) in place; 1 VIP(s) drained");

        // Every VIP drained: the aggregate says so, and agent-check without a VIP drains.
        f.d->requestVipDrain({"198.51.100.1"}, true);
        REQUIRE(f.stepUntil([&] { return f.drained("198.51.100.1"); }));
        s = f.d->snapshot();
        CHECK_FALSE(s->ready());
        CHECK(api::describe(s->server.reasons) == std::vector<std::string>{"every VIP is drained"});
        CHECK(api::agentCheckReply(*s) == "up drain\n");

        // A VIP not configured is ignored; undrain brings one back.
        f.d->requestVipDrain({"203.0.113.9"}, true);
        f.d->requestVipDrain({"198.51.100.1", "198.51.100.2"}, false);
        REQUIRE(f.stepUntil([&] { return !f.drained("198.51.100.1") && !f.drained("198.51.100.2"); }));
        CHECK(f.d->snapshot()->drainedCount() == 0);
        CHECK(f.d->snapshot()->ready());

        // The whole server's drain and a VIP's are apart: undrain keeps the VIP's.
        f.d->requestVipDrain({"198.51.100.1"}, true);
        f.d->requestDrain(true);
        REQUIRE(f.stepUntil([&] { return f.d->snapshot()->draining() && f.drained("198.51.100.1"); }));
        CHECK(api::vipReasons(*f.d->snapshot(), *f.d->snapshot()->find("198.51.100.1")) == std::vector<std::string>{"draining"});
        f.d->requestDrain(false);
        REQUIRE(f.stepUntil([&] { return !f.d->snapshot()->draining(); }));
        CHECK(f.drained("198.51.100.1"));
    }

    TEST_CASE("per-VIP drain: \"drained\": true at start, a reload applies what the file changed and keeps the rest") {
        FakeDaemon f({}, R"({"vips": ["198.51.100.1", {"address": "198.51.100.2", "drained": true}, "198.51.100.3"]})");
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        CHECK(f.drained("198.51.100.2"));
        CHECK(f.bound("198.51.100.2"));
        CHECK(f.d->snapshot()->ready());
        f.d->requestVipDrain({"198.51.100.3"}, true);
        REQUIRE(f.stepUntil([&] { return f.drained("198.51.100.3"); }));

        // Unchanged file: both drains stay.
        f.d->reload(0);
        CHECK(fixtures::drainedNames(*f.d->snapshot()) == std::set<std::string>{"198.51.100.2", "198.51.100.3"});
        // The file undrains .2 and drains .1; .3 (drained at run time) stays drained.
        f.writeConfig(R"({"vips": [{"address": "198.51.100.1", "drained": true}, "198.51.100.2", "198.51.100.3"], "drain_seconds": 0})");
        f.d->reload(0);
        CHECK(fixtures::drainedNames(*f.d->snapshot()) == std::set<std::string>{"198.51.100.1", "198.51.100.3"});
        // A VIP removed from the file is no longer drained (with max_seconds 0 its removal's
        // drain is over at once); a rejected reload changes nothing.
        f.writeConfig(R"({"vips": [{"address": "198.51.100.1", "drained": true}, "198.51.100.2"], "drain_seconds": 0})");
        f.d->reload(0);
        CHECK(fixtures::drainedNames(*f.d->snapshot()) == std::set<std::string>{"198.51.100.1"});
        f.writeConfig(R"({"vips": [{"address": "198.51.100.1", "drained": "no"}]})");
        f.d->reload(0);
        CHECK_FALSE(f.d->snapshot()->lastReloadOk);
        CHECK(fixtures::drainedNames(*f.d->snapshot()) == std::set<std::string>{"198.51.100.1"});
        CHECK(f.bound("198.51.100.2"));
    }

    TEST_CASE("a conflict at start refuses to run and changes nothing") {
        FakeDaemon f({"198.51.100.1"});
        f.nl->addAddress(2, ip("198.51.100.1"), 24);
        CHECK(f.d->start() == Daemon::Exit::Refused);
        CHECK_FALSE(f.bound("198.51.100.1"));
    }

    TEST_CASE("a restart hands over: nothing drained or undone, the next process adopts the state and the drains") {
        FakeDaemon a({"198.51.100.1", "198.51.100.2"});
        REQUIRE(a.d->start() == Daemon::Exit::Ok);
        a.d->requestVipDrain({"198.51.100.2"}, true);
        REQUIRE(a.stepUntil([&] { return a.drained("198.51.100.2"); }));
        // What the package's maintainer scripts write before an upgrade's restart (no bus here).
        std::ofstream(a.root / "state" / kRestartMarker) << "";
        a.d->beginExit();
        CHECK(a.d->handingOver());
        CHECK(a.d->stopping());
        CHECK(a.d->snapshot()->ready());  // readiness never withdrawn
        CHECK_FALSE(a.d->snapshot()->draining());
        CHECK(a.d->finish() == Daemon::Exit::Ok);
        CHECK(a.bound("198.51.100.1"));
        CHECK(a.bound("198.51.100.2"));
        CHECK(a.nl->state.routes.size() == 2);
        CHECK(std::filesystem::exists(a.root / "state" / kHandoverFile));
        CHECK_FALSE(std::filesystem::exists(a.root / "state" / kRestartMarker));  // read once

        auto kernel = a.nl->state;
        a.d.reset();  // the process exits (its lock goes with it)
        FakeDaemon b({"198.51.100.1", "198.51.100.2"}, a.root, std::move(kernel));
        const int opsBefore = b.nl->applied;
        REQUIRE(b.d->start() == Daemon::Exit::Ok);
        CHECK(b.nl->applied == opsBefore);  // adopted: nothing to add, nothing re-added
        CHECK(b.d->snapshot()->ready());
        CHECK(b.drained("198.51.100.2"));
        CHECK_FALSE(std::filesystem::exists(a.root / "state" / kHandoverFile));  // taken

        // Without a marker (and no systemd job to ask): a stop, which drains and undoes.
        b.d->beginExit();
        CHECK_FALSE(b.d->handingOver());
        CHECK(b.d->snapshot()->draining());
        REQUIRE(b.stepUntil([&] { return b.d->stopping(); }));
        CHECK(b.d->finish() == Daemon::Exit::Ok);
        CHECK(b.nl->state.addresses.empty());
        CHECK(b.nl->state.routes.empty());
    }

    TEST_CASE("a stale restart marker is a stop") {
        FakeDaemon f({"198.51.100.1"});
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        const auto marker = f.root / "state" / kRestartMarker;
        std::ofstream(marker) << "";
        std::filesystem::last_write_time(marker, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(10));
        f.d->beginExit();
        CHECK_FALSE(f.d->handingOver());
        REQUIRE(f.stepUntil([&] { return f.d->stopping(); }));
        CHECK(f.d->finish() == Daemon::Exit::Ok);
        CHECK(f.nl->state.addresses.empty());
    }

    TEST_CASE("a restart whose configuration no longer loads is a stop: the next process would not start") {
        FakeDaemon f({}, R"({"vips": ["198.51.100.1"]})");
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        std::ofstream(f.root / "state" / kRestartMarker) << "";
        f.writeConfig(R"({"vip": ["198.51.100.1"]})");
        f.d->beginExit();
        CHECK_FALSE(f.d->handingOver());
        REQUIRE(f.stepUntil([&] { return f.d->stopping(); }));
        CHECK(f.d->finish() == Daemon::Exit::Ok);
        CHECK(f.nl->state.addresses.empty());
    }

    TEST_CASE("a VIP's drain follows its connections: draining while one is open, drained idle once it closes") {
        FakeDaemon f({}, R"({"vips": ["198.51.100.1", "198.51.100.2"], "drain": {"min_seconds": 0, "max_seconds": 30}})");
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        const netcfg::Connection held{.local = ip("198.51.100.1"), .localPort = 80, .remote = ip("203.0.113.7"), .remotePort = 40001,
                                      .state = 1};
        f.counter->change([&](auto& c) { c.push_back(held); });
        f.d->requestVipDrain({"198.51.100.1"}, true);
        REQUIRE(f.stepUntil([&] { return f.drained("198.51.100.1"); }));
        auto s = f.d->snapshot();
        auto r = api::vipReadiness(*s, *s->find("198.51.100.1"));
        CHECK(r.state == api::Readiness::State::Draining);
        CHECK(r.drain.connections == std::optional<std::uint64_t>(1));
        CHECK(s->connections->at("198.51.100.1") == 1);
        CHECK(api::vipReady(*s, *s->find("198.51.100.2")));
        // The service checks' own connections (from the VIP itself) do not count.
        f.counter->change([&](auto& c) {
            c.push_back({.local = ip("198.51.100.1"), .localPort = 80, .remote = ip("198.51.100.1"), .remotePort = 50000, .state = 1});
        });
        f.counter->change([&](auto& c) { c.erase(c.begin()); });
        REQUIRE(f.stepUntil([&] {
            const auto now = f.d->snapshot();
            return api::vipReadiness(*now, *now->find("198.51.100.1")).state == api::Readiness::State::Drained;
        }));
        s = f.d->snapshot();
        r = api::vipReadiness(*s, *s->find("198.51.100.1"));
        CHECK(r.drain.end == api::Drain::End::Idle);
        CHECK(s->drainsIdle == 1);
        CHECK(api::renderMetrics(*s, 0).find("lvs_rs_agent_drains_completed_total{result=\"idle\"} 1") != std::string::npos);
        CHECK(api::renderMetrics(*s, 0).find("lvs_rs_agent_vip_drain_state{vip=\"198.51.100.1\",state=\"idle\"} 1") != std::string::npos);
        CHECK(f.bound("198.51.100.1"));  // drained, still bound until undrained or removed
        // The control socket's listing (drain --wait at its timeout).
        f.counter->change([&](auto& c) { c.push_back(held); });
        const auto list = f.d->listConnections(std::string("198.51.100.1"), 10);
        REQUIRE(list);
        CHECK(list->count == 1);
        REQUIRE(list->listed.size() == 1);
        CHECK(list->listed[0].client == "203.0.113.7:40001");
        CHECK(list->listed[0].vip == "198.51.100.1:80");
        CHECK(list->listed[0].state == "ESTABLISHED");
    }

    TEST_CASE("SIGTERM drains until the last connection closes, then undoes everything") {
        FakeDaemon f({}, R"({"vips": ["198.51.100.1"], "drain": {"min_seconds": 0, "max_seconds": 30}})");
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        f.counter->change([&](auto& c) {
            c.push_back({.local = ip("198.51.100.1"), .localPort = 80, .remote = ip("203.0.113.7"), .remotePort = 40001, .state = 1});
        });
        f.d->beginExit();
        for (int i = 0; i < 20; ++i) f.d->step(10);
        CHECK(f.d->state().phase == Phase::Draining);
        CHECK_FALSE(f.d->snapshot()->ready());
        CHECK(f.d->snapshot()->server.state == api::Readiness::State::Draining);
        CHECK(f.bound("198.51.100.1"));
        f.counter->change([&](auto& c) { c.clear(); });
        REQUIRE(f.stepUntil([&] { return f.d->stopping(); }));
        CHECK(f.d->state().phase == Phase::Exiting);
        CHECK(f.d->finish() == Daemon::Exit::Ok);
        CHECK_FALSE(f.bound("198.51.100.1"));
    }

    TEST_CASE("a VIP removed by reload drains first: bound and 503 while a connection is open, gone once it closes") {
        FakeDaemon f({}, R"({"vips": ["198.51.100.1", "198.51.100.2"], "drain": {"min_seconds": 0, "max_seconds": 30}})");
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        f.counter->change([&](auto& c) {
            c.push_back({.local = ip("198.51.100.2"), .localPort = 80, .remote = ip("203.0.113.7"), .remotePort = 40001, .state = 1});
        });
        f.writeConfig(R"({"vips": ["198.51.100.1"], "drain": {"min_seconds": 0, "max_seconds": 30}})");
        f.d->reload(0);
        auto s = f.d->snapshot();
        CHECK(s->lastReloadOk);
        CHECK(s->lastReload.find("VIPs removed (each drains first): 198.51.100.2") != std::string::npos);
        REQUIRE(s->find("198.51.100.2"));
        CHECK(api::vipReadiness(*s, *s->find("198.51.100.2")).state == api::Readiness::State::Draining);
        CHECK(f.bound("198.51.100.2"));
        f.counter->change([&](auto& c) { c.clear(); });
        REQUIRE(f.stepUntil([&] { return !f.bound("198.51.100.2"); }));
        CHECK_FALSE(f.d->snapshot()->find("198.51.100.2"));
        CHECK(f.bound("198.51.100.1"));
        // With max_seconds 0 it goes at once, as before drains followed connections.
        f.writeConfig(R"({"vips": ["198.51.100.3"], "drain_seconds": 0})");
        f.d->reload(0);
        CHECK_FALSE(f.bound("198.51.100.1"));
        CHECK(f.bound("198.51.100.3"));
        // Unchanged: the reply says so.
        f.d->reload(0);
        CHECK(f.d->snapshot()->lastReload.find("; no changes") != std::string::npos);
    }

    TEST_CASE("a reload that start would refuse (an ARP interface that does not exist) is refused with nothing changed") {
        FakeDaemon f({}, R"({"vips": ["198.51.100.1"]})");
        REQUIRE(f.d->start() == Daemon::Exit::Ok);
        f.writeConfig(R"({"vips": ["198.51.100.1", "198.51.100.2"], "arp": {"interfaces": ["lo", "all", "eth9"]}})");
        f.d->reload(0);
        const auto s = f.d->snapshot();
        CHECK_FALSE(s->lastReloadOk);
        CHECK(s->lastReload.find("reload rejected, nothing changed: ") == 0);
        CHECK(s->lastReload.find("eth9") != std::string::npos);
        CHECK_FALSE(f.bound("198.51.100.2"));
        CHECK_FALSE(s->find("198.51.100.2"));
    }
}
