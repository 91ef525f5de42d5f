#include <doctest/doctest.h>

#include "agent/tools/router_config.h"

using namespace agent;

TEST_SUITE("router_config") {
    TEST_CASE("the target: neighbors, AS numbers and router id checked, defaults from the documentation ranges") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188"], "announce": {"table": 200}})", "f");
        CHECK(routerTarget(cfg, {}, "", "", "").error().find("router-config needs --neighbor ROUTER") == 0);
        auto t = routerTarget(cfg, {"192.0.2.1"}, "", "", "");
        REQUIRE(t);
        CHECK(t->neighbors == std::vector<std::string>{"192.0.2.1"});
        REQUIRE(t->warnings.size() == 2);  // the AS numbers and the router id defaulted
        CHECK(t->warnings[0].find("local AS 64500 and peer AS 64496") != std::string::npos);
        Config both = parseConfig(R"({"vips": ["198.51.100.188", "2001:db8::188"], "announce": {"table": 200}})", "f");
        const auto w = routerTarget(both, {"192.0.2.1"}, "64500", "64496", "192.0.2.11")->warnings;
        CHECK(w == std::vector<std::string>{"the IPv6 VIPs get no BGP session: no IPv6 --neighbor was given"});
        CHECK(t->localAs == 64500);
        CHECK(t->peerAs == 64496);
        CHECK(t->routerId == "192.0.2.10");
        auto u = routerTarget(cfg, {"198.51.100.1", "2001:DB8::1"}, "4200000000", "65001", "198.51.100.60");
        REQUIRE(u);
        CHECK(u->neighbors == std::vector<std::string>{"198.51.100.1", "2001:db8::1"});
        CHECK(u->localAs == 4200000000LL);
        CHECK(u->routerId == "198.51.100.60");
        CHECK(routerTarget(cfg, {"router1"}, "", "", "").error() == "--neighbor \"router1\": not an IPv4 or IPv6 address");
        CHECK(routerTarget(cfg, {}, "0", "", "").error().find("--local-as \"0\": an AS number") == 0);
        CHECK(routerTarget(cfg, {}, "", "4294967296", "").error().find("--peer-as \"4294967296\"") == 0);
        CHECK(routerTarget(cfg, {}, "64500x", "", "").error().find("--local-as") == 0);
        CHECK(routerTarget(cfg, {}, "", "", "2001:db8::1").error() == "--router-id \"2001:db8::1\": a router id is an IPv4 address");
        Config none = parseConfig(R"({"vips": ["198.51.100.188"]})", "f");
        CHECK(routerTarget(none, {"192.0.2.1"}, "", "", "").error().find("no \"announce\"") != std::string::npos);
    }

    TEST_CASE("BIRD: learns the announce table, only the agent's host routes, and exports them per family") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188", "2001:db8::188"], "announce": {"table": 200}})", "f");
        const auto b = renderRouterConfig(cfg, RouterFormat::Bird, *routerTarget(cfg, {"192.0.2.1", "2001:db8::1"}, "", "", ""));
        for (const char* needle : {"kernel table 200;", "learn;", "import where krt_source = 177 && net.len = 32;",
                                   "import where krt_source = 177 && net.len = 128;", "neighbor 192.0.2.1 as 64496;",
                                   "neighbor 2001:db8::1 as 64496;", "export where krt_source = 177; next hop self;",
                                   "hold time 3;", "router id 192.0.2.10;"})
            CHECK_MESSAGE(b.find(needle) != std::string::npos, needle);
        // No IPv6 VIP announced: no IPv6 session.
        Config v4 = parseConfig(R"({"vips": ["198.51.100.188", {"address": "2001:db8::188", "announce": false}],
                                    "announce": {"table": 200}})", "f");
        const auto only4 = renderRouterConfig(v4, RouterFormat::Bird, *routerTarget(v4, {"192.0.2.1", "2001:db8::1"}, "", "", ""));
        CHECK(only4.find("neighbor 2001:db8::1") == std::string::npos);
        CHECK(only4.find("neighbor 192.0.2.1") != std::string::npos);
    }

    TEST_CASE("FRR: import-table, a route-map passing host routes, redistribute and IPv4 sessions only") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188", "2001:db8::188"], "announce": {"table": 201}})", "f");
        const auto f = renderRouterConfig(cfg, RouterFormat::Frr, *routerTarget(cfg, {"192.0.2.1", "2001:db8::1"}, "64501", "", ""));
        for (const char* needle : {"ip import-table 201", "ip prefix-list LVS_RS_AGENT_VIPS seq 10 permit 0.0.0.0/0 ge 32",
                                   "match ip address prefix-list LVS_RS_AGENT_VIPS", "set origin igp", "router bgp 64501",
                                   "neighbor 192.0.2.1 remote-as 64496", "redistribute table 201 route-map LVS_RS_AGENT",
                                   "neighbor 192.0.2.1 route-map LVS_RS_AGENT out", "announce this server's IPv6 VIPs with BIRD"})
            CHECK_MESSAGE(f.find(needle) != std::string::npos, needle);
        CHECK(f.find("2001:db8::1") == std::string::npos);
    }
}
