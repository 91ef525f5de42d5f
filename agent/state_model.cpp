#include "agent/state_model.h"

#include <algorithm>

namespace agent {

Desired desiredFrom(const Config& cfg) {
    Desired d{.vips = cfg.vips, .hostRoutes = cfg.hostRoutes, .sysctls = {}};
    for (const auto& iface : cfg.arp.interfaces) {
        d.sysctls[{.iface = iface, .name = "arp_ignore"}] = cfg.arp.ignore;
        d.sysctls[{.iface = iface, .name = "arp_announce"}] = cfg.arp.announce;
    }
    return d;
}

const netcfg::Link* Observed::link(int ifindex) const {
    for (const auto& l : kernel.links)
        if (l.ifindex == ifindex) return &l;
    return nullptr;
}

std::string Observed::linkName(int ifindex) const {
    const auto* l = link(ifindex);
    return l ? l->name : "if" + std::to_string(ifindex);
}

KernelIndex::KernelIndex(const netcfg::KernelState& k) {
    for (const auto& a : k.addresses) addresses_.emplace(a.address, a);
    for (const auto& r : k.routes) routes_.emplace(r.dst, r);
}

bool KernelIndex::hasAddress(int ifindex, const netcfg::IpAddress& ip) const {
    auto [b, e] = addresses_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) { return p.second.ifindex == ifindex && p.second.prefixlen == ip.hostPrefix(); });
}

bool KernelIndex::hasRouteVia(int ifindex, const netcfg::IpAddress& ip) const {
    auto [b, e] = routes_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) { return p.second.oif == ifindex; });
}

bool KernelIndex::hasOwnRoute(int ifindex, const netcfg::IpAddress& ip) const {
    auto [b, e] = routes_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) { return p.second.oif == ifindex && p.second.protocol == netcfg::kRouteProtocol; });
}

std::vector<netcfg::InterfaceAddress> KernelIndex::addressesOf(const netcfg::IpAddress& ip) const {
    std::vector<netcfg::InterfaceAddress> out;
    for (auto [b, e] = addresses_.equal_range(ip); b != e; ++b) out.push_back(b->second);
    return out;
}

std::vector<netcfg::HostRoute> KernelIndex::routesTo(const netcfg::IpAddress& ip) const {
    std::vector<netcfg::HostRoute> out;
    for (auto [b, e] = routes_.equal_range(ip); b != e; ++b) out.push_back(b->second);
    return out;
}

std::expected<Observed, std::string> observe(netcfg::Netlink& nl, const sysctl::SysctlTree& tree,
                                             const Desired& desired, const Owned& owned) {
    Observed o;
    auto kernel = nl.dump();
    if (!kernel) return std::unexpected(kernel.error().message);
    o.kernel = std::move(*kernel);
    for (const auto& l : o.kernel.links) {
        if (l.loopback && (o.loIndex == 0 || l.name == "lo")) {
            o.loIndex = l.ifindex;
            o.loUp = l.up;
        }
    }
    std::set<sysctl::ConfKey> keys;
    for (const auto& [k, v] : desired.sysctls) keys.insert(k);
    for (const auto& [k, v] : owned.sysctlOriginals) keys.insert(k);
    for (const auto& name : kArpKeys) keys.insert({.iface = "all", .name = name});
    for (const auto& k : keys) {
        if (auto v = tree.read(k))
            o.sysctls[k] = *v;
        else
            o.sysctlErrors[k] = v.error();
    }
    return o;
}

}  // namespace agent
