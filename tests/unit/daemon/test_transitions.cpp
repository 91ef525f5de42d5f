#include <doctest/doctest.h>

#include "agent/daemon/transitions.h"
#include "snapshot_fixtures.h"

using namespace agent;

namespace {

struct Recorder {
    std::vector<std::string> lines;
    TransitionLog log{[this](Priority, const std::string& l) { lines.push_back(l); }};
    std::vector<std::string> take() { return std::exchange(lines, {}); }
};

std::shared_ptr<api::Snapshot> snapshot(bool ready, std::vector<api::VipReadiness> vips, std::set<std::string> drained = {},
                       std::vector<api::ServiceReadiness> services = {}) {
    auto s = std::make_shared<api::Snapshot>();
    s->lifecycle = api::Lifecycle::Running;
    s->server = ready ? api::Readiness::readyNow() : fixtures::notReady({"something"});
    s->setVips(std::move(vips));
    s->vipDrains = fixtures::drainsOf(drained);
    s->services = std::move(services);
    return s;
}

ServiceStatus service(bool up, int successes, int failures, const std::string& error = "") {
    ServiceStatus st;
    st.check.vip = *netcfg::IpAddress::parse("198.51.100.1");
    st.check.port = 80;
    st.up = up;
    st.successes = successes;
    st.failures = failures;
    st.lastError = error;
    st.checks = successes + failures;
    st.checked = st.checks > 0;
    return st;
}

}  // namespace

TEST_SUITE("transitions") {
    TEST_CASE("the server's and each VIP's readiness changes, one line each, with the reason") {
        Recorder r;
        api::Snapshot starting;
        starting.lifecycle = api::Lifecycle::Starting;
        r.log.observe(starting, {}, nullptr);
        CHECK(r.take().empty());  // starting: no news
        const api::ServiceReadiness down{.name = "tcp 198.51.100.1:80", .vip = "198.51.100.1", .port = 80, .type = "tcp", .up = false,
                                         .lastError = "connect: Connection refused"};
        auto s1 = snapshot(false, {{.vip = "198.51.100.1"}, {.vip = "198.51.100.2"}}, {}, {down});
        r.log.observe(*s1, {service(false, 0, 0)}, nullptr);
        // A check starts down: no service line before its first probe; the VIP it holds
        // back is named once.
        CHECK(r.take() == std::vector<std::string>{
                              "readiness: VIP 198.51.100.1 not ready: service tcp 198.51.100.1:80 is down: connect: Connection refused"});
        // Its first probe fails: why is logged once (a script's first line belongs in the log).
        r.log.observe(*s1, {service(false, 0, 1, "connect: Connection refused")}, nullptr);
        CHECK(r.take() == std::vector<std::string>{
                              "service tcp 198.51.100.1:80 is down (1 failure(s) in a row, fall 3): connect: Connection refused"});
        r.log.observe(*s1, {service(false, 0, 2)}, nullptr);
        CHECK(r.take().empty());  // nothing changed
        auto up = down;
        up.up = true;
        auto s2 = snapshot(true, {{.vip = "198.51.100.1"}, {.vip = "198.51.100.2"}}, {}, {up});
        const std::set<std::size_t> untouched;  // the service's VIP is looked at all the same
        r.log.observe(*s2, {service(true, 2, 0)}, &untouched);
        CHECK(r.take() == std::vector<std::string>{"service tcp 198.51.100.1:80 is up (2 success(es) in a row, rise 2)",
                                                   "readiness: VIP 198.51.100.1 ready",
                                                   "readiness: server ready: 2 VIP(s) in place"});
        // A drain, seen without the VIP's entry being touched.
        auto s3 = snapshot(false, {{.vip = "198.51.100.1"}, {.vip = "198.51.100.2"}}, {"198.51.100.2"}, {up});
        const std::set<std::size_t> none;
        r.log.observe(*s3, {service(true, 3, 0)}, &none);
        CHECK(r.take() == std::vector<std::string>{"readiness: VIP 198.51.100.2 not ready: draining",
                                                   "readiness: server not ready: something"});
        // A VIP's own finding, on a touched entry; the service falls.
        auto s4 = snapshot(false, {{.vip = "198.51.100.1", .findings = {{.message = "198.51.100.1/32 is not bound on lo"}}}, {.vip = "198.51.100.2"}},
                           {"198.51.100.2"}, {up});
        const std::set<std::size_t> first{0};
        r.log.observe(*s4, {service(false, 0, 3, "timeout")}, &first);
        CHECK(r.take() == std::vector<std::string>{"service tcp 198.51.100.1:80 is down (3 failure(s) in a row, fall 3): timeout",
                                                   "readiness: VIP 198.51.100.1 not ready: 198.51.100.1/32 is not bound on lo"});
    }

    TEST_CASE("bounded: a few VIP lines, then a count") {
        Recorder r;
        std::vector<api::VipReadiness> vips;
        for (int i = 1; i <= 20; ++i) vips.push_back({.vip = "198.51.100." + std::to_string(i), .findings = {{.message = "x"}}});
        r.log.observe(*snapshot(false, vips), {}, nullptr);
        const auto lines = r.take();
        REQUIRE(lines.size() == TransitionLog::kVipLines + 2);
        CHECK(lines[TransitionLog::kVipLines] == "readiness: and 15 more VIP(s) changed; see /status");
        CHECK(lines.back() == "readiness: server not ready: something");
    }
}
