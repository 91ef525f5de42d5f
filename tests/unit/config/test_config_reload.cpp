#include <doctest/doctest.h>

#include "agent/config/config_reload.h"
#include "fixtures.h"

using namespace agent;
using fixtures::ip;

namespace {

Config base() {
    Config c;
    c.vips = {{.address = ip("198.51.100.1")}};
    c.api = {.enabled = true, .host = "127.0.0.1", .port = 9100, .tokenFile = "", .token = "a", .agentCheckPort = 0,
             .agentCheckWeight = -1, .agentCheckWaitMs = 200};
    c.checkIntervalMs = 1000;
    c.services = {ServiceCheck{.vip = ip("198.51.100.1"), .port = 80}};
    return c;
}

}  // namespace

TEST_SUITE("config_reload") {
    TEST_CASE("everything applies, the API's sockets untouched when their settings are") {
        Config next = base();
        next.vips.push_back({.address = ip("198.51.100.2")});
        next.api.token = "b";
        next.api.agentCheckWeight = 50;
        const auto p = planReload(base(), next);
        CHECK(p.notApplied.empty());
        CHECK_FALSE(p.apiChanged);
        CHECK(p.applied.vips.size() == 2);
        CHECK(p.applied.api.token == "b");
        CHECK(p.applied.api.agentCheckWeight == 50);
        CHECK_FALSE(p.servicesChanged);
        CHECK_FALSE(p.intervalChanged);
    }

    TEST_CASE("a change of api.listen or the agent-check settings applies: the API's sockets are bound anew") {
        for (int field = 0; field < 5; ++field) {
            CAPTURE(field);
            Config next = base();
            next.drain.maxSeconds = 9;
            if (field == 0) next.api.host = "::1";
            if (field == 1) next.api.port = 9200;
            if (field == 2) next.api.agentCheckPort = 9300;
            if (field == 3) next.api.agentCheckWaitMs = 500;
            if (field == 4) next.api.enabled = false;
            const auto p = planReload(base(), next);
            CHECK(p.apiChanged);
            CHECK(p.notApplied.empty());
            CHECK(p.applied.api.host == next.api.host);
            CHECK(p.applied.api.port == next.api.port);
            CHECK(p.applied.api.agentCheckPort == next.api.agentCheckPort);
            CHECK(p.applied.api.agentCheckWaitMs == next.api.agentCheckWaitMs);
            CHECK(p.applied.api.enabled == next.api.enabled);
            CHECK(p.applied.drain.maxSeconds == 9);
        }
        CHECK_FALSE(planReload(base(), base()).apiChanged);
    }

    TEST_CASE("service checks and the interval: changed only when they differ") {
        Config next = base();
        next.services[0].rise = 5;
        next.checkIntervalMs = 500;
        const auto p = planReload(base(), next);
        CHECK(p.servicesChanged);
        CHECK(p.intervalChanged);
        CHECK(sameServices(base().services, base().services));
        CHECK_FALSE(sameServices(base().services, {}));
    }

    TEST_CASE("a reload's reply says what changed, or that nothing did") {
        CHECK(describeChanges(base(), base()).empty());
        Config next = base();
        next.vips.push_back({.address = ip("198.51.100.2")});
        next.vips[0].drained = true;
        next.services[0].timeoutMs = 900;  // the same check (type, VIP, port), another setting
        next.services.push_back(ServiceCheck{.vip = ip("198.51.100.2"), .port = 443});
        next.drain.maxSeconds = 120;
        next.arp.interfaces = {"lo", "all", "eth1"};
        CHECK(describeChanges(base(), next) == std::vector<std::string>{
                                                   "VIPs added: 198.51.100.2", "VIPs changed: 198.51.100.1",
                                                   "checks added (not checked yet): tcp 198.51.100.2:443",
                                                   "checks changed (their state kept): tcp 198.51.100.1:80", "settings changed: arp, drain"});
        CHECK(describeChanges(next, base()) == std::vector<std::string>{
                                                   "VIPs removed (each drains first): 198.51.100.2", "VIPs changed: 198.51.100.1",
                                                   "checks removed: tcp 198.51.100.2:443", "checks changed (their state kept): tcp 198.51.100.1:80",
                                                   "settings changed: arp, drain"});
    }
}
