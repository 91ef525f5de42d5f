// The agent's nftables table for the two-box marks: the script that replaces it in one
// transaction, the peer set changed in place, and the table read back from nft's JSON.
#include <doctest/doctest.h>

#include <string>

#include "fixtures.h"
#include "netcfg/nftables.h"

using fixtures::ip;

namespace {

netcfg::MarkSpec spec() {
    return {.mark = 3,
            .vips = {ip("198.51.100.188"), ip("2001:db8::188")},
            .ports = {{6, 80}, {17, 53}},
            .peerMacs = {"52:54:00:00:00:52"},
            .marking = true};
}

}  // namespace

TEST_SUITE("nftables") {
    TEST_CASE("the table's script: replaced whole in one transaction, one marking rule per family") {
        const std::string s = netcfg::markTableScript(spec());
        CHECK(s.rfind("table inet lvs_rs_agent\ndelete table inet lvs_rs_agent\ntable inet lvs_rs_agent {\n", 0) == 0);
        CHECK(s.find("  set peer_macs {\n    type ether_addr\n    elements = { 52:54:00:00:00:52 }\n  }\n") != std::string::npos);
        CHECK(s.find("elements = { 198.51.100.188 }") != std::string::npos);
        CHECK(s.find("elements = { 2001:db8::188 }") != std::string::npos);
        CHECK(s.find("type inet_proto . inet_service\n    elements = { tcp . 80, udp . 53 }") != std::string::npos);
        CHECK(s.find("type filter hook prerouting priority mangle; policy accept;") != std::string::npos);
        CHECK(s.find("    ip daddr @vips4 meta l4proto . th dport @ports ether saddr != @peer_macs meta mark set 0x00000003\n") !=
              std::string::npos);
        CHECK(s.find("    ip6 daddr @vips6 meta l4proto . th dport @ports ether saddr != @peer_macs meta mark set 0x00000003\n") !=
              std::string::npos);
    }

    TEST_CASE("a peer's MAC unknown: the chain has no rule (an empty set must never mark everything)") {
        auto sp = spec();
        sp.marking = false;
        sp.peerMacs.clear();
        const std::string s = netcfg::markTableScript(sp);
        CHECK(s.find("meta mark set") == std::string::npos);
        CHECK(s.find("  set peer_macs {\n    type ether_addr\n  }\n") != std::string::npos);  // no empty elements list
        sp = spec();
        sp.vips = {ip("198.51.100.188")};
        CHECK(netcfg::markTableScript(sp).find("vips6") == std::string::npos);  // no IPv6 VIP: no set, no rule
    }

    TEST_CASE("the peer set changed in place, and the table deleted") {
        CHECK(netcfg::peerSetScript({"52:54:00:00:00:52"}, {"52:54:00:00:00:62"}) ==
              "delete element inet lvs_rs_agent peer_macs { 52:54:00:00:00:52 }\nadd element inet lvs_rs_agent peer_macs { 52:54:00:00:00:62 }\n");
        CHECK(netcfg::peerSetScript({}, {}).empty());
        CHECK(netcfg::deleteMarkTableScript() == "delete table inet lvs_rs_agent\n");
    }

    TEST_CASE("the table read back from nft's JSON (as nft 1.0.6 lists it), and another table ignored") {
        const std::string listing = R"({"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
          {"table": {"family": "inet", "name": "lvs_rs_agent", "handle": 3}},
          {"set": {"family": "inet", "name": "peer_macs", "table": "lvs_rs_agent", "type": "ether_addr", "handle": 2,
                   "elem": ["52:54:00:00:00:52", "52:54:00:00:00:53"]}},
          {"set": {"family": "inet", "name": "vips4", "table": "lvs_rs_agent", "type": "ipv4_addr", "handle": 3, "elem": ["198.51.100.188"]}},
          {"set": {"family": "inet", "name": "ports", "table": "lvs_rs_agent", "type": ["inet_proto", "inet_service"], "handle": 5,
                   "elem": [{"concat": ["udp", 53]}, {"concat": ["tcp", 80]}]}},
          {"chain": {"family": "inet", "table": "lvs_rs_agent", "name": "prerouting", "handle": 6, "type": "filter",
                     "hook": "prerouting", "prio": -150, "policy": "accept"}},
          {"rule": {"family": "inet", "table": "lvs_rs_agent", "chain": "prerouting", "handle": 7,
                    "expr": [{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 3}}]}},
          {"table": {"family": "ip", "name": "other", "handle": 9}},
          {"set": {"family": "ip", "name": "peer_macs", "table": "other", "type": "ether_addr", "elem": ["52:54:00:00:00:99"]}}]})";
        const auto t = netcfg::parseMarkTable(listing);
        REQUIRE(t);
        CHECK(t->peerMacs == std::set<std::string>{"52:54:00:00:00:52", "52:54:00:00:00:53"});
        CHECK(t->vips == std::set<netcfg::IpAddress>{ip("198.51.100.188")});
        CHECK(t->ports == std::set<std::pair<int, int>>{{6, 80}, {17, 53}});
        CHECK(t->hooked);
        REQUIRE(t->rules.size() == 1);
        CHECK(t->rules[0].find("\"mark\"") != std::string::npos);
        CHECK_FALSE(netcfg::parseMarkTable(R"({"nftables": [{"table": {"family": "ip", "name": "other"}}]})"));
        CHECK_FALSE(netcfg::parseMarkTable("not json"));
    }

    TEST_CASE("VIP ranges: interval sets with prefixes, read back as ranges") {
        netcfg::MarkSpec spec{.mark = 3, .vips = {ip("198.51.100.188")}, .ports = {{6, 80}}, .peerMacs = {"52:54:00:00:00:52"},
                              .marking = true, .ranges = {{ip("203.0.113.0"), 28}, {ip("2001:db8:1::"), 64}}};
        const std::string s = netcfg::markTableScript(spec);
        CHECK(s.find("set vips4 {\n    type ipv4_addr\n    flags interval\n    elements = { 198.51.100.188, 203.0.113.0/28 }") != std::string::npos);
        CHECK(s.find("set vips6 {\n    type ipv6_addr\n    flags interval\n    elements = { 2001:db8:1::/64 }") != std::string::npos);
        CHECK(s.find("ip6 daddr @vips6") != std::string::npos);  // a family with only a range gets its rule
        const std::string listing = R"({"nftables": [
          {"table": {"family": "inet", "name": "lvs_rs_agent", "handle": 3}},
          {"set": {"family": "inet", "name": "vips4", "table": "lvs_rs_agent", "type": "ipv4_addr", "flags": ["interval"],
                   "elem": [{"prefix": {"addr": "203.0.113.0", "len": 28}}, "198.51.100.188"]}}]})";
        const auto t = netcfg::parseMarkTable(listing);
        REQUIRE(t);
        CHECK(t->vips == std::set<netcfg::IpAddress>{ip("198.51.100.188")});
        CHECK(t->ranges == std::set<std::pair<netcfg::IpAddress, int>>{{ip("203.0.113.0"), 28}});
        auto seen = *t;
        seen.ranges.insert({ip("2001:db8:1::"), 64});
        seen.hooked = true;
        seen.ports = {{6, 80}};
        netcfg::MarkSpec noRules = spec;
        noRules.marking = false;
        CHECK(netcfg::onlyPeersDiffer(seen, noRules));
        seen.ranges.erase({ip("203.0.113.0"), 28});
        CHECK_FALSE(netcfg::onlyPeersDiffer(seen, noRules));  // a range missing from the set: drift
    }
}
