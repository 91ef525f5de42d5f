#pragma once
// Small builders for desired and observed state, shared by the planner, executor and
// report tests.
#include "agent/reconcile/plan.h"

namespace fixtures {

inline netcfg::IpAddress ip(const char* s) { return *netcfg::IpAddress::parse(s); }

inline agent::Desired desired(std::vector<const char*> vips, bool routes = true) {
    agent::Config cfg;
    for (auto* v : vips) cfg.vips.push_back(ip(v));
    cfg.hostRoutes = routes;
    return agent::desiredFrom(cfg);
}

// lo (1) up or down, eth0 (2) up with 198.51.100.60/24, all ARP sysctls 0.
inline agent::Observed observed(bool loUp = true) {
    agent::Observed o;
    o.kernel.links = {{.ifindex = 1, .name = "lo", .up = loUp, .loopback = true},
                      {.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
    o.kernel.addresses = {{.ifindex = 1, .address = ip("127.0.0.1"), .prefixlen = 8},
                          {.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24}};
    o.loIndex = 1;
    o.loUp = loUp;
    for (const char* iface : {"all", "lo"})
        for (const auto& k : agent::kArpKeys) o.sysctls[{.iface = iface, .name = k}] = 0;
    return o;
}

inline void bind(agent::Observed& o, const char* vip, int ifindex = 1) {
    o.kernel.addresses.push_back({.ifindex = ifindex, .address = ip(vip), .prefixlen = ip(vip).hostPrefix()});
}

inline void route(agent::Observed& o, const char* vip, int protocol = netcfg::kRouteProtocol, int oif = 1) {
    o.kernel.routes.push_back({.dst = ip(vip), .table = netcfg::kMainTable, .protocol = protocol, .oif = oif});
}

inline void arpDone(agent::Observed& o) {
    for (const char* iface : {"all", "lo"}) {
        o.sysctls[{.iface = iface, .name = "arp_ignore"}] = 1;
        o.sysctls[{.iface = iface, .name = "arp_announce"}] = 2;
    }
}

template <class T>
std::vector<T> only(const agent::Plan& p) {
    std::vector<T> out;
    for (const auto& a : p.actions)
        if (auto* x = std::get_if<T>(&a)) out.push_back(*x);
    return out;
}

inline std::vector<std::string> described(const agent::Plan& p) {
    std::vector<std::string> out;
    for (const auto& a : p.actions) out.push_back(agent::describe(a));
    return out;
}

}  // namespace fixtures
