#pragma once
// Small builders for desired and observed state, shared by the planner, executor and
// report tests.
#include "agent/reconcile/plan.h"

namespace fixtures {

inline netcfg::IpAddress ip(const char* s) { return *netcfg::IpAddress::parse(s); }

inline agent::Desired desired(std::vector<const char*> vips, bool routes = true) {
    agent::Config cfg;
    for (auto* v : vips) cfg.vips.push_back({.address = ip(v)});
    cfg.hostRoutes = routes;
    return agent::desiredFrom(cfg);
}

// lo (1) up or down, eth0 (2) up with 198.51.100.60/24, all ARP sysctls 0.
inline agent::Observed observed(bool loUp = true) {
    agent::Observed o;
    o.kernel.setLink({.ifindex = 1, .name = "lo", .up = loUp, .loopback = true});
    o.kernel.setLink({.ifindex = 2, .name = "eth0", .up = true, .loopback = false});
    o.kernel.add(netcfg::InterfaceAddress{.ifindex = 1, .address = ip("127.0.0.1"), .prefixlen = 8});
    o.kernel.add(netcfg::InterfaceAddress{.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24});
    for (const char* iface : {"all", "lo"})
        for (const auto& k : agent::kArpKeys) o.sysctls[{.iface = iface, .name = k}] = 0;
    return o;
}

inline void bind(agent::Observed& o, const char* vip, int ifindex = 1) {
    o.kernel.add(netcfg::InterfaceAddress{.ifindex = ifindex, .address = ip(vip), .prefixlen = ip(vip).hostPrefix()});
}

inline void route(agent::Observed& o, const char* vip, int protocol = netcfg::kRouteProtocol, int oif = 1) {
    o.kernel.add(netcfg::HostRoute{.dst = ip(vip), .table = netcfg::kMainTable, .protocol = protocol, .oif = oif});
}

inline void arpDone(agent::Observed& o) {
    for (const char* iface : {"all", "lo"}) {
        o.sysctls[{.iface = iface, .name = "arp_ignore"}] = 1;
        o.sysctls[{.iface = iface, .name = "arp_announce"}] = 2;
    }
}

// What the agent owns once every action of p has succeeded (as made by it).
inline agent::Owned ownedAfter(agent::Owned owned, const agent::Plan& p) {
    for (const auto& a : p.actions) agent::record(owned, a, netcfg::Effect::Changed);
    agent::applyForget(owned, p.forget);
    return owned;
}

inline std::vector<agent::FindingKind> kinds(const std::vector<agent::Finding>& fs) {
    std::vector<agent::FindingKind> out;
    for (const auto& f : fs) out.push_back(f.kind);
    return out;
}

inline netcfg::NetOp addOp(const char* vip) {
    return {.kind = netcfg::NetOp::Kind::AddAddress, .ifindex = 1, .address = ip(vip), .ifname = "lo"};
}

inline std::vector<std::string> described(const agent::Plan& p) {
    std::vector<std::string> out;
    for (const auto& a : p.actions) out.push_back(agent::describe(a));
    return out;
}

// The problems parseConfig finds in text, one per line ("" when it is accepted).
inline std::string configProblems(const std::string& text) {
    try {
        agent::parseConfig(text, "cfg.json");
    } catch (const agent::ConfigError& e) {
        std::string all;
        for (const auto& p : e.problems()) all += p + "\n";
        return all;
    }
    return "";
}

}  // namespace fixtures
