#include <doctest/doctest.h>

#include "agent/reconcile/flap_damper.h"
#include "fixtures.h"

using namespace agent;
using namespace std::chrono_literals;
using fixtures::ip;

TEST_SUITE("flap_damper") {
    const Subject kAddr = Subject::address(ip("198.51.100.1"));
    const Subject kSysctl = Subject::setting({.iface = "all", .name = "arp_ignore"});

    TEST_CASE("one doubling backoff for the damper's steps and the retries of a failed item") {
        CHECK(doublingBackoff(100ms, 1, 5000ms) == 100ms);
        CHECK(doublingBackoff(100ms, 2, 5000ms) == 200ms);
        CHECK(doublingBackoff(100ms, 6, 5000ms) == 3200ms);
        CHECK(doublingBackoff(100ms, 7, 5000ms) == 5000ms);
        CHECK(doublingBackoff(1000ms, 1000, 30000ms) == 30000ms);  // no overflow however long it goes on
        CHECK(doublingBackoff(1000ms, 0, 30000ms) == 1000ms);
    }

    TEST_CASE("flap damper: repairs below the threshold are not delayed") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        CHECK_FALSE(d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t));
        CHECK_FALSE(d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t + 1s));
        CHECK_FALSE(d.fighting());
        CHECK(d.nextAllowed(kAddr) <= t);
    }

    TEST_CASE("flap damper: a fight backs off exponentially to the cap, one log line per step") {
        FlapDamper d;
        auto t = FlapDamper::Clock::now();
        const std::string item = "net.ipv4.conf.all.arp_ignore";
        d.recordRepairs({{kSysctl, "sysctl", item}}, t);
        d.recordRepairs({{kSysctl, "sysctl", item}}, t + 10ms);
        auto line = d.recordRepairs({{kSysctl, "sysctl", item}}, t + 20ms);
        REQUIRE(line);
        CHECK(*line == "fighting: something keeps undoing net.ipv4.conf.all.arp_ignore; next repair in 100 ms");
        CHECK(d.fighting());
        CHECK(d.nextAllowed(kSysctl) == t + 20ms + 100ms);
        std::vector<long long> steps;
        int lines = 1;
        for (int i = 0; i < 10; ++i) {
            t += 10ms;
            if (d.recordRepairs({{kSysctl, "sysctl", item}}, t + 20ms)) ++lines;
            steps.push_back(d.backoff().count());
        }
        CHECK(steps == std::vector<long long>{200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000});
        CHECK(lines == 7);  // 100, 200, 400, 800, 1600, 3200, 5000: no line once capped
        CHECK(d.fightingWith() == std::vector<std::string>{item});
    }

    TEST_CASE("flap damper: one item fought over does not hold back another") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        for (int i = 0; i < 3; ++i) d.recordRepairs({{kSysctl, "sysctl", "net.ipv4.conf.all.arp_ignore"}}, t + i * 1ms);
        REQUIRE(d.fighting());
        CHECK(d.nextAllowed(kSysctl) > t + 2ms);
        CHECK(d.nextAllowed(kAddr) <= t);  // never repaired: at once
        CHECK_FALSE(d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t + 3ms));
        CHECK(d.nextAllowed(kAddr) <= t + 3ms);
    }

    TEST_CASE("flap damper: a VIP's address and route are damped apart") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t);
        d.recordRepairs({{kAddr, "route", "route 198.51.100.1/32"}}, t + 1ms);
        CHECK_FALSE(d.recordRepairs({{kAddr, "route", "route 198.51.100.1/32"}}, t + 2ms));
        CHECK_FALSE(d.fighting());
        CHECK(d.recordRepairs({{kAddr, "route", "route 198.51.100.1/32"}}, t + 3ms));
        CHECK(d.nextAllowed(kAddr) == t + 3ms + 100ms);  // the VIP waits for its route's backoff
    }

    TEST_CASE("flap damper: a line about thousands of items stays short") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        std::optional<std::string> line;
        for (int round = 0; round < 3; ++round) {
            std::vector<FlapDamper::Repair> many;
            for (int i = 0; i < 10000; ++i) {
                netcfg::IpAddress a = ip("198.18.0.0");
                a.bytes[2] = static_cast<std::uint8_t>(i / 256);
                a.bytes[3] = static_cast<std::uint8_t>(i % 256);
                many.push_back({Subject::address(a), "route", "route " + a.hostCidr()});
            }
            line = d.recordRepairs(many, t + round * 1ms);
        }
        REQUIRE(line);
        CHECK(line->size() < 200);
        CHECK(line->find("and 9,997 more") != std::string::npos);
        CHECK(d.fightingCount() == 10000);
        CHECK(d.fightingWith().size() == FlapDamper::kListed);
    }

    TEST_CASE("flap damper: quiet for the window ends the fight") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        const Subject route = Subject::address(ip("198.51.100.1"));
        for (int i = 0; i < 3; ++i) d.recordRepairs({{route, "route", "route 198.51.100.1/32"}}, t + i * 1ms);
        REQUIRE(d.fighting());
        CHECK_FALSE(d.settle(t + 5s));  // still within the window
        CHECK(d.fighting());
        auto line = d.settle(t + 11s);
        REQUIRE(line);
        CHECK(line->find("no longer fighting over route 198.51.100.1/32") == 0);
        CHECK_FALSE(d.fighting());
        CHECK(d.backoff().count() == 0);
    }
}
