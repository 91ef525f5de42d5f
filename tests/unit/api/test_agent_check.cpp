#include <doctest/doctest.h>

#include "api/readiness.h"
#include "api_harness.h"

using namespace api;
using namespace apitest;
using testhttp::Connection;
using testhttp::request;

TEST_SUITE("agent_check") {
    TEST_CASE("agent-check replies") {
        api::Snapshot s;
        CHECK(api::agentCheckReply(s) == "down\n");
        s.server = api::Readiness::readyNow();
        CHECK(api::agentCheckReply(s) == "up ready\n");
        s.agentCheckWeight = 50;
        CHECK(api::agentCheckReply(s) == "up ready 50%\n");
        s.serverDrain = api::Drain{};
        s.server = api::serverReadiness(s);
        CHECK(api::agentCheckReply(s) == "up drain\n");
    }

    TEST_CASE("agent-check: a VIP sent by agent-send gets that VIP's state, a silent client holds nobody up") {
        SnapshotStore store;
        auto sp = std::make_shared<Snapshot>();
        sp->server = api::Readiness::readyNow();
        sp->setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "198.51.100.2", .bound = true},
                     {.vip = "2001:db8::1", .bound = false, .findings = {{.message = "2001:db8::1/128 is not bound on lo"}}}});
        sp->vipDrains = fixtures::drainsOf({"198.51.100.2"});
        store.publish(sp);
        // A long wait here, so that "answered before it" proves no waiting on the silent one
        // even on a slow machine.
        constexpr std::chrono::milliseconds kWait{2000};
        AgentCheckResponder responder(store, kWait);
        const int port = responder.start("127.0.0.1", 0).value();
        auto ask = [&](const std::string& line) {
            Connection c("127.0.0.1", port, 3000);
            REQUIRE(c.ok());
            c.send(line);
            CHECK(c.closedByPeer(3000));
            return c.pending();
        };
        Connection silent("127.0.0.1", port, 5000);  // sends nothing
        REQUIRE(silent.ok());
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(ask("198.51.100.1\n") == "up ready\n");
        CHECK(std::chrono::steady_clock::now() - t0 < kWait);  // not behind the silent one
        CHECK(ask("198.51.100.2\r\n") == "up drain\n");
        CHECK(ask("2001:DB8::1\n") == "down\n");
        CHECK(ask("203.0.113.9\n") == "down #203.0.113.9 is not a VIP of this agent\n");
        CHECK(ask("\x01\xff\n") == "down #?? is not a VIP of this agent\n");
        CHECK(ask(std::string(200, 'x')).rfind("down #request too long", 0) == 0);
        // agent-send without a newline: what arrived by the deadline is the request.
        CHECK(ask("198.51.100.2") == "up drain\n");
        // A client that closes its side at once gets the whole server's state at once.
        {
            Connection c("127.0.0.1", port, 3000);
            REQUIRE(c.ok());
            const auto t1 = std::chrono::steady_clock::now();
            ::shutdown(c.fd(), SHUT_WR);
            CHECK(c.closedByPeer(3000));
            CHECK(c.pending() == "up ready\n");
            CHECK(std::chrono::steady_clock::now() - t1 < kWait);
        }
        // The silent client: the whole server's state after the wait (HAProxy without agent-send).
        CHECK(silent.closedByPeer(5000));
        CHECK(silent.pending() == "up ready\n");
        CHECK(std::chrono::steady_clock::now() - t0 >= kWait);
    }
}
