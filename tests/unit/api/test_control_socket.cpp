#include <doctest/doctest.h>

#include "api_harness.h"
#include "snapshot_fixtures.h"

using namespace api;
using namespace apitest;
using testhttp::Connection;
using testhttp::request;

namespace {

// The loop, as the control socket sees it: a drain request is published at once. Its
// configuration has two VIPs.
struct PublishingControl : DrainControl {
    SnapshotStore& store;
    std::atomic<int> requests{0};
    std::atomic<int> vipRequests{0};
    explicit PublishingControl(SnapshotStore& s) : store(s) {}
    static std::shared_ptr<Snapshot> make(bool draining, std::set<std::string> drained) {
        auto next = std::make_shared<Snapshot>();
        next->setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "2001:db8::1", .bound = true}});
        if (draining) next->serverDrain = api::Drain{};
        next->vipDrains = fixtures::drainsOf(drained);
        return next;
    }
    void requestDrain(bool d) override {
        ++requests;
        store.publish(make(d, fixtures::drainedNames(*store.get())));
    }
    void requestVipDrain(const std::vector<std::string>& vips, bool d) override {
        ++vipRequests;
        auto drained = fixtures::drainedNames(*store.get());
        for (const auto& v : vips) d ? (void)drained.insert(v) : (void)drained.erase(v);
        store.publish(make(store.get()->draining(), std::move(drained)));
    }
    // a reload: accepted or rejected, as the test sets it
    std::atomic<bool> reloadOk{true};
    std::uint64_t tickets = 0;
    std::uint64_t requestReload() override {
        auto next = std::make_shared<Snapshot>();
        next->serverDrain = store.get()->serverDrain;
        next->reloads = store.get()->reloads + 1;
        next->reloadServed = ++tickets;
        next->lastReloadOk = reloadOk;
        next->lastReload = reloadOk ? "reloaded /etc/x.json: 2 VIP(s)" : "reload rejected, the previous configuration stays in force: vips: bad\nline";
        store.publish(std::move(next));
        return tickets;
    }
};

struct ControlHarness {
    fixtures::TempDir dir{"lvs-control-"};
    SnapshotStore store;
    PublishingControl control{store};
    ControlServer server{control, store};
    std::filesystem::path sock = dir.path / "control.sock";
    ControlHarness() { store.publish(PublishingControl::make(false, {})); }
    int connectRaw() {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        return fd;
    }
};

}  // namespace

TEST_SUITE("control_socket") {
    TEST_CASE("control socket: drain and undrain report what the loop did") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        CHECK(controlRequest(h.sock, "drain").value() == "ok draining: /ready answers 503, VIPs stay bound");
        CHECK(controlRequest(h.sock, "drain").value() == "ok already draining: /ready answers 503, VIPs stay bound");
        CHECK(controlRequest(h.sock, "undrain").value() == "ok undrained: /ready follows the checks again");
        CHECK(controlRequest(h.sock, "status").value() == "error unknown command \"status\" (drain, undrain, reload, drains, readiness, drain-status, connections)");
        CHECK(h.control.requests == 2);
        CHECK(h.control.vipRequests == 0);
        const auto mode = std::filesystem::status(h.sock).permissions() & std::filesystem::perms::all;
        CHECK(mode == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    }

    TEST_CASE("control socket: drain and undrain of single VIPs, all or nothing") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        CHECK(controlRequest(h.sock, "drain 198.51.100.1").value() ==
              "ok draining 198.51.100.1: /ready/198.51.100.1 answers 503 and agent-check \"drain\"; the VIP stays bound");
        CHECK(fixtures::drainedNames(*h.store.get()) == std::set<std::string>{"198.51.100.1"});
        CHECK_FALSE(h.store.get()->draining());
        CHECK(controlRequest(h.sock, "drain 198.51.100.1").value().rfind("ok already draining 198.51.100.1:", 0) == 0);
        CHECK(h.control.vipRequests == 1);  // already: the loop is not asked again
        // Written differently, the same VIP; repeated, once.
        CHECK(controlRequest(h.sock, "drain 2001:DB8:0::1 2001:db8::1").value() ==
              "ok draining 2001:db8::1: /ready/2001:db8::1 answers 503 and agent-check \"drain\"; the VIP stays bound");
        CHECK(controlRequest(h.sock, "drains").value() == "ok draining=no drained=2 198.51.100.1 2001:db8::1");
        const auto parsed = parseDrainsReply(controlRequest(h.sock, "drains").value());
        REQUIRE(parsed);
        CHECK_FALSE(parsed->draining);
        CHECK(parsed->count == 2);
        CHECK(parsed->listed == std::vector<std::string>{"198.51.100.1", "2001:db8::1"});
        CHECK_FALSE(parseDrainsReply("error busy: 16 control clients at once"));
        CHECK_FALSE(parseDrainsReply("ok draining=maybe drained=1"));
        CHECK_FALSE(parseDrainsReply("ok draining=no drained="));
        // One VIP that is not configured, or not an address: nothing changes.
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1 203.0.113.9").value() ==
              "error not a VIP of this agent's configuration: 203.0.113.9; nothing changed");
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1 lo").value() == "error \"lo\" is not an IP address; nothing changed");
        CHECK(controlRequest(h.sock, "reload now").value() == "error reload takes no argument");
        CHECK(h.store.get()->vipDrains->size() == 2);
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1 2001:db8::1").value() ==
              "ok undrained 198.51.100.1, 2001:db8::1: readiness follows the checks again");
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1").value() == "ok not drained: 198.51.100.1");
        CHECK(controlRequest(h.sock, "drains").value() == "ok draining=no drained=0");
        // The whole server's drain and the VIPs' are apart.
        CHECK(controlRequest(h.sock, "drain").value().rfind("ok draining:", 0) == 0);
        CHECK(controlRequest(h.sock, "drains").value() == "ok draining=yes drained=0");
        CHECK(h.control.vipRequests == 3);
        std::string many = "drain";
        for (std::size_t i = 0; i <= ControlServer::kMaxVips; ++i) many += " 198.51.100.1";
        CHECK(controlRequest(h.sock, many).value() == "error at most 128 VIPs in one command; nothing changed");
        CHECK(h.control.vipRequests == 3);
    }

    TEST_CASE("control socket: readiness per VIP as /ready computes it, undrain names the VIP drains that remain") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        auto r = parseReadinessReply(controlRequest(h.sock, "readiness").value());
        REQUIRE(r);
        CHECK((*r)["vips"] == 2);
        CHECK((*r)["not_ready_count"] == 0);
        CHECK((*r)["pid"] == static_cast<long>(::getpid()));
        REQUIRE(controlRequest(h.sock, "drain 198.51.100.1").value().rfind("ok draining 198.51.100.1", 0) == 0);
        r = parseReadinessReply(controlRequest(h.sock, "readiness").value());
        REQUIRE(r);
        CHECK((*r)["not_ready_count"] == 1);
        CHECK((*r)["not_ready"] == nlohmann::json::parse(R"([{"vip": "198.51.100.1", "reasons": ["draining"]}])"));
        CHECK((*r)["drained_vips"] == nlohmann::json::parse(R"(["198.51.100.1"])"));
        CHECK((*r)["draining"] == false);
        CHECK(controlRequest(h.sock, "readiness now").value() == "error readiness takes no argument");
        CHECK_FALSE(parseReadinessReply("ok draining=no drained=0"));
        CHECK_FALSE(parseReadinessReply("ok {\"ready\": 1, \"not_ready\": []}"));
        CHECK_FALSE(parseReadinessReply("ok {broken"));
        // The whole server's undrain does not lift a VIP's drain, and says how to.
        CHECK(controlRequest(h.sock, "undrain").value() ==
              "ok the whole server was not draining; 1 VIP(s) stay drained on their own (198.51.100.1): lift with "
              "`lvs-rs-agent undrain --vip 198.51.100.1`");
        REQUIRE(controlRequest(h.sock, "drain").value().rfind("ok draining:", 0) == 0);
        CHECK(controlRequest(h.sock, "undrain").value() ==
              "ok undrained: /ready follows the checks again; 1 VIP(s) stay drained on their own (198.51.100.1): lift with "
              "`lvs-rs-agent undrain --vip 198.51.100.1`");
        REQUIRE(controlRequest(h.sock, "undrain 198.51.100.1").value().rfind("ok undrained", 0) == 0);
        CHECK(controlRequest(h.sock, "undrain").value() == "ok the whole server was not draining: /ready follows the checks");
    }

    TEST_CASE("control socket: reload answers with the loop's outcome, as one line") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        CHECK(controlRequest(h.sock, "reload").value() == "ok reloaded /etc/x.json: 2 VIP(s)");
        h.control.reloadOk = false;
        CHECK(controlRequest(h.sock, "reload").value() ==
              "error reload rejected, the previous configuration stays in force: vips: bad line");
    }

    TEST_CASE("control socket: a reload's answer is its own, not that of a SIGHUP published meanwhile") {
        fixtures::TempDir dir{"lvs-control-reload-"};
        SnapshotStore store;
        store.publish(std::make_shared<Snapshot>());
        struct Deferred : DrainControl {
            std::atomic<std::uint64_t> asked{0};
            void requestDrain(bool) override {}
            void requestVipDrain(const std::vector<std::string>&, bool) override {}
            std::uint64_t requestReload() override { return ++asked; }
        } control;
        ControlServer server{control, store};
        const auto sock = dir.path / "control.sock";
        REQUIRE(server.start(sock));
        auto reply = std::async(std::launch::async, [&] { return controlRequest(sock, "reload"); });
        REQUIRE(eventually([&] { return control.asked == 1; }));
        auto sighup = std::make_shared<Snapshot>();  // an earlier SIGHUP's outcome, published late
        sighup->reloads = 1;
        sighup->lastReloadOk = false;
        sighup->lastReload = "reload rejected, the previous configuration stays in force: old";
        store.publish(sighup);
        CHECK(reply.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
        auto served = std::make_shared<Snapshot>();
        served->reloads = 2;
        served->reloadServed = 1;
        served->lastReload = "reloaded /etc/x.json: 1 VIP(s)";
        store.publish(served);
        CHECK(reply.get().value() == "ok reloaded /etc/x.json: 1 VIP(s)");
    }

    TEST_CASE("control socket: a trickling client holds nobody up") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        const int trickler = h.connectRaw();
        REQUIRE(::send(trickler, "dr", 2, 0) == 2);
        const int staller = h.connectRaw();
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(controlRequest(h.sock, "drain").value().rfind("ok draining", 0) == 0);
        CHECK(std::chrono::steady_clock::now() - t0 < ControlServer::kLineDeadline);
        ::close(trickler);
        ::close(staller);
    }

    TEST_CASE("control socket: a command whose client has gone is not applied") {
        ControlHarness h;
        REQUIRE(h.server.listen(h.sock));
        const int gone = h.connectRaw();  // queued before the server serves
        REQUIRE(::send(gone, "drain\n", 6, 0) == 6);
        ::close(gone);
        h.server.serveInBackground();
        // served after the one that left (the server takes clients in turn)
        CHECK(controlRequest(h.sock, "nothing").value().rfind("error unknown command", 0) == 0);
        CHECK(h.control.requests == 0);
        CHECK_FALSE(h.store.get()->draining());
    }

    TEST_CASE("control socket: no command within the deadline is answered and closed") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        const int idle = h.connectRaw();
        timeval tv{.tv_sec = 10, .tv_usec = 0};
        ::setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[128] = {};
        const ssize_t n = ::recv(idle, buf, sizeof buf - 1, 0);
        ::close(idle);
        REQUIRE(n > 0);
        CHECK(std::string(buf) == "error no command within 2 s\n");
    }
}
