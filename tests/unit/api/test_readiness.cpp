#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/readiness.h"
#include "snapshot_fixtures.h"

using namespace api;

namespace {

using fixtures::drainsOf;

// The server's reasons, worded.
std::vector<std::string> serverReasons(const Snapshot& s) { return describe(serverReadiness(s).reasons); }

ServiceReadiness service(const std::string& vip, bool up, std::string error = "") {
    return {.name = "tcp " + vip + ":80", .vip = vip, .port = 80, .type = "tcp", .up = up, .lastError = std::move(error)};
}

agent::FindingView missing(const std::string& vip) {
    return {.subject = vip, .kind = "address_missing", .message = vip + "/32 is not bound on lo"};
}

}  // namespace

TEST_SUITE("readiness") {
    TEST_CASE("a range answers for every address inside it, a drain names VIPs only") {
        Snapshot s;
        s.setVips({{.vip = "198.51.100.1"}, {.vip = "198.18.0.0/16"}, {.vip = "2001:db8:1::/64"}});
        auto ranges = std::make_shared<std::vector<Snapshot::RangeSpan>>();
        ranges->push_back({.family = AF_INET, .net = {198, 18}, .len = 16, .text = "198.18.0.0/16"});
        ranges->push_back({.family = AF_INET6, .net = {0x20, 0x01, 0x0d, 0xb8, 0, 1}, .len = 64, .text = "2001:db8:1::/64"});
        s.ranges = ranges;
        s.services = {service("198.18.0.0/16", false, "connection refused")};  // a range's service counts for the range
        const auto* r = s.find("198.18.255.7");
        REQUIRE(r);
        CHECK(r->vip == "198.18.0.0/16");
        CHECK(s.find("198.18.0.0/16") == r);
        CHECK(s.find("2001:db8:1::ffff")->vip == "2001:db8:1::/64");
        CHECK_FALSE(s.find("198.19.0.1"));
        CHECK_FALSE(s.find("2001:db8:2::1"));
        CHECK_FALSE(s.findExact("198.18.255.7"));
        CHECK(s.find("198.51.100.1")->vip == "198.51.100.1");
        CHECK(vipReasons(s, *r) == std::vector<std::string>{"service tcp 198.18.0.0/16:80 is down: connection refused"});
        CHECK(vipReady(s, *s.find("2001:db8:1::5")));
    }

    TEST_CASE("one VIP's reasons, in order, for every input") {
        Snapshot s;
        s.setVips({{.vip = "198.51.100.1", .findings = {missing("198.51.100.1")}}, {.vip = "198.51.100.2"}});
        const auto& one = *s.find("198.51.100.1");
        const auto& two = *s.find("198.51.100.2");
        CHECK(vipReady(s, two));
        CHECK(vipReasons(s, two).empty());
        CHECK_FALSE(vipReady(s, one));
        CHECK(vipReasons(s, one) == std::vector<std::string>{"198.51.100.1/32 is not bound on lo"});

        // Everything at once: findings, its own drain, what holds every VIP back, its services.
        s.vipDrains = drainsOf({"198.51.100.1"});
        s.commonFindings = {{.message = "net.ipv4.conf.all.arp_ignore is 0, not 1"}};
        s.services = {service("198.51.100.1", false, "connection refused"), service("198.51.100.2", true)};
        CHECK(vipReasons(s, one) == std::vector<std::string>{"198.51.100.1/32 is not bound on lo", "draining",
                                                             "net.ipv4.conf.all.arp_ignore is 0, not 1",
                                                             "service tcp 198.51.100.1:80 is down: connection refused"});
        // Own: without what holds every VIP back (the log's per-VIP lines).
        CHECK(vipReasons(s, one, Scope::Own) == std::vector<std::string>{"198.51.100.1/32 is not bound on lo", "draining",
                                                                         "service tcp 198.51.100.1:80 is down: connection refused"});
        CHECK(vipReasons(s, two) == std::vector<std::string>{"net.ipv4.conf.all.arp_ignore is 0, not 1"});
        CHECK(vipReasons(s, two, Scope::Own).empty());
        CHECK_FALSE(vipReady(s, two));

        // The whole server's drain is said once, among the common reasons, not per VIP.
        s.commonFindings = {};
        s.serverDrain = Drain{};
        CHECK(vipReasons(s, one, Scope::Own) == std::vector<std::string>{"198.51.100.1/32 is not bound on lo",
                                                                         "service tcp 198.51.100.1:80 is down: connection refused"});

        // A service down without an error says so without a colon.
        CHECK(serviceDown(service("198.51.100.2", false)) == "service tcp 198.51.100.2:80 is down");
    }

    TEST_CASE("a VIP drained on its own is not ready, and only it") {
        Snapshot s;
        s.setVips({{.vip = "198.51.100.1"}, {.vip = "198.51.100.2"}});
        s.vipDrains = drainsOf({"198.51.100.2"});
        CHECK(vipReady(s, *s.find("198.51.100.1")));
        CHECK_FALSE(vipReady(s, *s.find("198.51.100.2")));
        CHECK(vipReasons(s, *s.find("198.51.100.2")) == std::vector<std::string>{"draining"});
        // The aggregate does not count it; it counts every VIP drained.
        CHECK(serverReasons(s).empty());
        s.vipDrains = drainsOf({"198.51.100.1", "198.51.100.2"});
        CHECK(serverReasons(s) == std::vector<std::string>{"every VIP is drained"});
    }

    TEST_CASE("the server's reasons: a few VIPs, then a count, the common ones, services") {
        Snapshot s;
        std::vector<VipReadiness> list;
        auto notReady = std::make_shared<std::vector<std::size_t>>();
        for (std::size_t i = 0; i < kListedVips + 5; ++i) {
            const std::string vip = "198.51.100." + std::to_string(i + 1);
            list.push_back({.vip = vip, .findings = {missing(vip)}});
            notReady->push_back(i);
        }
        s.setVips(std::move(list));
        s.notInPlace = notReady;
        s.lifecycle = Lifecycle::Starting;
        s.services = {service("198.51.100.1", false)};
        const auto r = serverReasons(s);
        REQUIRE(r.size() == kListedVips + 3);
        CHECK(r[0] == "198.51.100.1/32 is not bound on lo");
        CHECK(r[kListedVips - 1] == "198.51.100.20/32 is not bound on lo");
        CHECK(r[kListedVips] == "and 5 more VIP(s) not in place");
        CHECK(r[kListedVips + 1] == "starting: the first reconcile has not completed");
        CHECK(r[kListedVips + 2] == "service tcp 198.51.100.1:80 is down");
        CHECK(serverReasons(Snapshot{}).empty());
    }

    TEST_CASE("STATUS= line") {
        Snapshot s;
        s.setVips({{.vip = "198.51.100.1"}, {.vip = "198.51.100.2"}});
        s.server = Readiness::readyNow();
        CHECK(statusLine(s) == "ready: 2 VIP(s) in place");
        s.server = fixtures::notReady({"a", "b", "c"});
        s.lastReloadOk = false;
        s.lastReload = "reload rejected";
        CHECK(statusLine(s) == "not ready: a (+2 more); reload rejected");
    }
}

TEST_SUITE("readiness") {
    TEST_CASE("a drain: draining until idle after its earliest end, or at its deadline, and then ended for good") {
        const Drain d{.sinceUnix = 100, .earliestUnix = 105, .deadlineUnix = 160};
        // Idle before the directors have had their time: still draining.
        auto x = advance(d, 101, 0);
        CHECK_FALSE(x.ended());
        CHECK(x.connections == std::optional<std::uint64_t>(0));
        // Connections left past the earliest end: draining.
        x = advance(x, 106, 3);
        CHECK_FALSE(x.ended());
        // The last one closed: drained, idle.
        x = advance(x, 107.5, 0);
        CHECK(x.end == Drain::End::Idle);
        CHECK(x.endedUnix == 107.5);
        // Ended for good; its count still follows.
        x = advance(x, 108, 2);
        CHECK(x.end == Drain::End::Idle);
        CHECK(x.connections == std::optional<std::uint64_t>(2));
        // The deadline with connections left: drained, deadline.
        auto y = advance(d, 160, 4);
        CHECK(y.end == Drain::End::Deadline);
        CHECK(y.connections == std::optional<std::uint64_t>(4));
        // Not counted (the count failed): only the deadline ends it.
        CHECK_FALSE(advance(d, 110, std::nullopt).ended());
        CHECK(advance(d, 161, std::nullopt).end == Drain::End::Deadline);
        // min 0, max 0: over at once.
        CHECK(advance(Drain{.sinceUnix = 5, .earliestUnix = 5, .deadlineUnix = 5}, 5, 7).end == Drain::End::Deadline);
        CHECK(advance(Drain{.sinceUnix = 5, .earliestUnix = 5, .deadlineUnix = 5}, 5, 0).end == Drain::End::Idle);
    }

    TEST_CASE("states: a drain outranks the other reasons, draining then drained, and a new service check holds its VIP") {
        Snapshot s;
        s.setVips({{.vip = "198.51.100.1", .findings = {missing("198.51.100.1")}}, {.vip = "198.51.100.2"}});
        CHECK(vipReadiness(s, *s.find("198.51.100.2")).state == Readiness::State::Ready);
        CHECK(vipReadiness(s, *s.find("198.51.100.1")).state == Readiness::State::NotReady);
        auto drains = std::make_shared<Snapshot::Drains>();
        (*drains)["198.51.100.1"] = Drain{.sinceUnix = 1};
        s.vipDrains = drains;
        const auto r = vipReadiness(s, *s.find("198.51.100.1"));
        CHECK(r.state == Readiness::State::Draining);
        CHECK(describe(r.reasons) == std::vector<std::string>{"198.51.100.1/32 is not bound on lo", "draining"});
        (*drains)["198.51.100.1"].end = Drain::End::Idle;
        CHECK(vipReadiness(s, *s.find("198.51.100.1")).state == Readiness::State::Drained);
        // The whole server's drain decides every VIP.
        s.serverDrain = Drain{.sinceUnix = 2};
        CHECK(vipReadiness(s, *s.find("198.51.100.2")).state == Readiness::State::Draining);
        CHECK(serverReadiness(s).state == Readiness::State::Draining);
        s.serverDrain.reset();
        // A service check that has not probed yet: not ready, and said so.
        s.vipDrains = nullptr;
        ServiceReadiness fresh;
        fresh.name = "tcp 198.51.100.2:80", fresh.vip = "198.51.100.2", fresh.port = 80, fresh.type = "tcp", fresh.checked = false;
        s.services = {fresh};
        CHECK(vipReasons(s, *s.find("198.51.100.2")) == std::vector<std::string>{"service tcp 198.51.100.2:80 is not checked yet"});
        CHECK(std::string(name(Readiness::State::Drained)) == "drained");
        CHECK(std::string(name(Drain::End::Deadline)) == "deadline");
    }
}

TEST_SUITE("status_document") {
    TEST_CASE("/status is rendered from typed fields: findings, sysctls, services, config") {
        Snapshot s;
        s.version = "t";
        s.setVips({{.vip = "198.51.100.1", .bound = false, .findings = {missing("198.51.100.1")}},
                   {.vip = "2001:db8::1", .bound = true, .addressOwned = true, .routePresent = true}});
        s.vipDrains = drainsOf({"2001:db8::1"});
        s.commonFindings = {{.subject = "net.ipv4.conf.all.arp_ignore", .kind = "wrong_value",
                             .message = "net.ipv4.conf.all.arp_ignore is 0, not 1", .expected = 1, .actual = 0}};
        s.sysctls = {{.key = "net.ipv4.conf.all.arp_ignore", .expected = 1, .kernel = 0, .original = std::nullopt}};
        s.services = {service("198.51.100.1", true)};
        s.services[0].rise = 2;
        auto config = std::make_shared<ConfigSummary>();
        config->source = "/etc/lvs-rs-agent/config.json";
        config->vips = {"198.51.100.1", "2001:db8::1"};
        config->vipsByFile = {{"/etc/lvs-rs-agent/config.json", {"198.51.100.1"}}, {"/etc/lvs-rs-agent/config.d/b.json", {"2001:db8::1"}}};
        s.config = config;
        const auto doc = nlohmann::json::parse(s.statusBody());
        CHECK(doc["version"] == "t");
        CHECK(doc["draining_vips"] == nlohmann::json::array({"2001:db8::1"}));
        const auto& vips = doc["state"]["vips"];
        REQUIRE(vips.size() == 2);
        CHECK(vips[0]["ok"] == false);
        CHECK(vips[0]["problems"] == nlohmann::json::array({"198.51.100.1/32 is not bound on lo"}));
        CHECK(vips[0]["findings"][0] == nlohmann::json{{"subject", "198.51.100.1"}, {"kind", "address_missing"},
                                                      {"message", "198.51.100.1/32 is not bound on lo"}});
        CHECK(vips[1]["address"]["expected"] == "2001:db8::1/128");
        CHECK(vips[1]["draining"] == true);
        CHECK(vips[1]["findings"] == nlohmann::json::array());
        CHECK(doc["state"]["findings"][0]["expected"] == 1);
        CHECK(doc["state"]["findings"][0]["actual"] == 0);
        CHECK(doc["state"]["sysctls"][0] == nlohmann::json{{"key", "net.ipv4.conf.all.arp_ignore"}, {"expected", 1}, {"kernel", 0},
                                                          {"original", nullptr}, {"ok", false}});
        CHECK(doc["services"][0]["rise"] == 2);
        CHECK(doc["config"]["vips_by_file"]["/etc/lvs-rs-agent/config.d/b.json"] == nlohmann::json::array({"2001:db8::1"}));
        CHECK(doc["config"]["source"] == "/etc/lvs-rs-agent/config.json");
        // Rendered once per snapshot: the same text again.
        CHECK(&s.statusBody() == &s.statusBody());
    }

    TEST_CASE("a message that looks like JSON stays a string") {
        Snapshot s;
        s.setVips({{.vip = "198.51.100.1", .findings = {{.subject = "198.51.100.1", .kind = "cannot_apply", .message = "[1,2]\"}"}}}});
        const auto doc = nlohmann::json::parse(s.statusBody());
        CHECK(doc["state"]["vips"][0]["findings"][0]["message"] == "[1,2]\"}");
        CHECK(doc["state"]["vips"][0]["problems"][0] == "[1,2]\"}");
    }
}
