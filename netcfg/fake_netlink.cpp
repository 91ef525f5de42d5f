#include "netcfg/fake_netlink.h"

#include <algorithm>

namespace netcfg {

FakeNetlink::FakeNetlink() {
    state.links = {Link{.ifindex = 1, .name = "lo", .up = false, .loopback = true},
                   Link{.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
}

std::expected<KernelState, NetError> FakeNetlink::dump() {
    if (auto e = failWhen ? failWhen("dump") : std::nullopt) return std::unexpected(*e);
    return state;
}

std::vector<NetStatus> FakeNetlink::apply(const std::vector<NetOp>& ops) {
    std::vector<NetStatus> results;
    for (const auto& op : ops) {
        results.push_back(applyOne(op));
        if (!results.back()) break;
    }
    return results;
}

NetStatus FakeNetlink::applyOne(const NetOp& op) {
    if (auto e = failWhen ? failWhen(describe(op)) : std::nullopt) return std::unexpected(*e);
    const IpAddress& ip = op.address;
    auto sameAddress = [&](const InterfaceAddress& x) {
        return x.ifindex == op.ifindex && x.address == ip && x.prefixlen == ip.hostPrefix();
    };
    auto& addrs = state.addresses;
    auto& routes = state.routes;
    switch (op.kind) {
        case NetOp::Kind::AddAddress:
            if (std::none_of(addrs.begin(), addrs.end(), sameAddress))
                addrs.push_back({.ifindex = op.ifindex, .address = ip, .prefixlen = ip.hostPrefix()});
            break;
        case NetOp::Kind::DeleteAddress:
            std::erase_if(addrs, sameAddress);
            break;
        case NetOp::Kind::AddRoute:
            if (std::any_of(routes.begin(), routes.end(), [&](const HostRoute& r) { return r.dst == ip; }))
                return std::unexpected(NetError{.code = 6, .message = "adding route " + ip.hostCidr() + ": Object exists"});
            routes.push_back({.dst = ip, .table = kMainTable, .protocol = kRouteProtocol, .oif = op.ifindex});
            break;
        case NetOp::Kind::DeleteRoute:
            std::erase_if(routes, [&](const HostRoute& r) {
                return r.dst == ip && r.oif == op.ifindex && r.protocol == kRouteProtocol;
            });
            break;
        case NetOp::Kind::LinkUp:
        case NetOp::Kind::LinkDown:
            for (auto& l : state.links)
                if (l.ifindex == op.ifindex) l.up = op.kind == NetOp::Kind::LinkUp;
            break;
    }
    return {};
}

}  // namespace netcfg
