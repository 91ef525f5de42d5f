#include "netcfg/fake_netlink.h"

#include <algorithm>

namespace netcfg {

FakeNetlink::FakeNetlink() {
    state.links = {Link{.ifindex = 1, .name = "lo", .up = false, .loopback = true},
                   Link{.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
}

std::optional<NetError> FakeNetlink::injected(const std::string& what) {
    ++operations;
    return failWhen ? failWhen(what) : std::nullopt;
}

std::expected<KernelState, NetError> FakeNetlink::dump() {
    if (auto e = failWhen ? failWhen("dump") : std::nullopt) return std::unexpected(*e);
    return state;
}

NetStatus FakeNetlink::addAddress(int ifindex, const IpAddress& ip) {
    if (auto e = injected("add " + ip.hostCidr())) return std::unexpected(*e);
    auto& a = state.addresses;
    if (std::none_of(a.begin(), a.end(), [&](const InterfaceAddress& x) {
            return x.ifindex == ifindex && x.address == ip && x.prefixlen == ip.hostPrefix();
        }))
        a.push_back({.ifindex = ifindex, .address = ip, .prefixlen = ip.hostPrefix()});
    return {};
}

NetStatus FakeNetlink::deleteAddress(int ifindex, const IpAddress& ip) {
    if (auto e = injected("delete " + ip.hostCidr())) return std::unexpected(*e);
    std::erase_if(state.addresses, [&](const InterfaceAddress& x) {
        return x.ifindex == ifindex && x.address == ip && x.prefixlen == ip.hostPrefix();
    });
    return {};
}

NetStatus FakeNetlink::addHostRoute(int ifindex, const IpAddress& dst) {
    if (auto e = injected("add route " + dst.hostCidr())) return std::unexpected(*e);
    auto& r = state.routes;
    if (std::any_of(r.begin(), r.end(), [&](const HostRoute& x) { return x.dst == dst; }))
        return std::unexpected(NetError{.code = 6, .message = "adding route " + dst.hostCidr() + ": Object exists"});
    r.push_back({.dst = dst, .table = kMainTable, .protocol = kRouteProtocol, .oif = ifindex});
    return {};
}

NetStatus FakeNetlink::deleteHostRoute(int ifindex, const IpAddress& dst) {
    if (auto e = injected("delete route " + dst.hostCidr())) return std::unexpected(*e);
    std::erase_if(state.routes, [&](const HostRoute& x) {
        return x.dst == dst && x.oif == ifindex && x.protocol == kRouteProtocol;
    });
    return {};
}

NetStatus FakeNetlink::setLinkUp(int ifindex, bool up) {
    if (auto e = injected(std::string("link ") + (up ? "up " : "down ") + std::to_string(ifindex))) return std::unexpected(*e);
    for (auto& l : state.links)
        if (l.ifindex == ifindex) l.up = up;
    return {};
}

}  // namespace netcfg
