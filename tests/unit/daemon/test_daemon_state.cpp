#include <doctest/doctest.h>

#include "agent/daemon/daemon_state.h"

using namespace agent;

TEST_SUITE("daemon_state") {
    TEST_CASE("a drain is counted every 200 ms, spaced out when a count is slow, never beyond 2 s") {
        CHECK(drainPollSeconds(0) == doctest::Approx(0.2));
        CHECK(drainPollSeconds(0.001) == doctest::Approx(0.2));   // 1 ms a count: 0.5 % of a core
        CHECK(drainPollSeconds(0.004) == doctest::Approx(0.2));   // exactly 2 %
        CHECK(drainPollSeconds(0.022) == doctest::Approx(1.1));   // 100,000 sockets on the host
        CHECK(drainPollSeconds(0.5) == doctest::Approx(2.0));
    }

    TEST_CASE("each phase has a name and a lifecycle for readiness") {
        CHECK(std::string(name(Phase::Draining)) == "draining");
        CHECK(lifecycleOf(Phase::Running) == api::Lifecycle::Running);
        CHECK(lifecycleOf(Phase::Exiting) == api::Lifecycle::Stopping);
    }
}
