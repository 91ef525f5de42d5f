#include "agent/state_model.h"

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
