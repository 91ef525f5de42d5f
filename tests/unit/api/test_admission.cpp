#include <doctest/doctest.h>

#include "api/admission.h"

using namespace api;
using namespace std::chrono_literals;

TEST_SUITE("admission") {
    TEST_CASE("who gets in: per-client limit first, then the total (room to be made)") {
        const HttpLimits l{.maxConnections = 4, .maxPerClient = 2};
        CHECK(admitDecision(0, 0, l) == Admit::Yes);
        CHECK(admitDecision(1, 3, l) == Admit::Yes);
        CHECK(admitDecision(2, 0, l) == Admit::RefusedPerClient);
        CHECK(admitDecision(0, 4, l) == Admit::MakeRoom);
        CHECK(admitDecision(2, 4, l) == Admit::RefusedPerClient);  // its own limit before anyone makes room
    }

    TEST_CASE("who makes room: the longest-waiting idle one, never one being answered or already dropped") {
        const auto t0 = AdmissionClock::time_point{} + 100s;
        std::vector<ConnTimes> open{{.dropped = false, .inExchange = false, .waiting = t0 + 3s, .exchangeSince = {}},
                                    {.dropped = false, .inExchange = true, .waiting = t0, .exchangeSince = t0 + 4s},
                                    {.dropped = true, .inExchange = false, .waiting = t0 + 1s, .exchangeSince = {}},
                                    {.dropped = false, .inExchange = false, .waiting = t0 + 2s, .exchangeSince = {}}};
        CHECK(roomFrom(open) == std::optional<std::size_t>(3));
        open[3].inExchange = true;
        CHECK(roomFrom(open) == std::optional<std::size_t>(0));
        open[0].dropped = true;
        CHECK_FALSE(roomFrom(open));  // everyone busy: the newcomer is refused, no answer cut short
        CHECK_FALSE(roomFrom({}));
    }

    TEST_CASE("overstaying: a head that does not arrive, an answer that is not taken") {
        const HttpLimits l{.headDeadline = 5000ms, .exchangeDeadline = 15000ms};
        const auto t0 = AdmissionClock::time_point{} + 100s;
        ConnTimes c{.dropped = false, .inExchange = false, .waiting = t0, .exchangeSince = {}};
        CHECK_FALSE(overdue(c, t0 + 5s, l));
        CHECK(overdue(c, t0 + 5001ms, l) == Overdue::HeadTimeout);
        c.inExchange = true;
        c.exchangeSince = t0 + 6s;
        CHECK_FALSE(overdue(c, t0 + 20s, l));
        CHECK(overdue(c, t0 + 22s, l) == Overdue::ExchangeTimeout);
        c.dropped = true;
        CHECK_FALSE(overdue(c, t0 + 60s, l));
    }

    TEST_CASE("large answers held for slow readers: bounded together, small ones always") {
        const HttpLimits l{.largeBody = 100, .largeBodiesInFlight = 250};
        CHECK_FALSE(isLarge(99, l));
        CHECK(isLarge(100, l));
        CHECK(largeAnswerFits(0, 200, l));
        CHECK(largeAnswerFits(150, 100, l));
        CHECK_FALSE(largeAnswerFits(200, 100, l));
    }
}
