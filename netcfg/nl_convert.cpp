#include "netcfg/nl_convert.h"

#include <linux/if.h>
#include <netlink/route/nexthop.h>
#include <sys/socket.h>

#include <cstring>

namespace netcfg {

// nl_addr_get_binary_addr points into the object.
IpAddress fromNlAddr(nl_addr* a) {
    IpAddress ip;
    if (!a) return ip;
    const int family = nl_addr_get_family(a);
    const unsigned len = nl_addr_get_len(a);
    if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)) {
        ip.family = family;
        std::memcpy(ip.bytes.data(), nl_addr_get_binary_addr(a), len);
    }
    return ip;
}

Link toLink(rtnl_link* l) {
    const unsigned flags = rtnl_link_get_flags(l);
    const char* name = rtnl_link_get_name(l);
    return Link{.ifindex = rtnl_link_get_ifindex(l),
                .name = name ? name : "",
                .up = (flags & IFF_UP) != 0,
                .loopback = (flags & IFF_LOOPBACK) != 0,
                .mtu = rtnl_link_get_mtu(l)};
}

std::optional<InterfaceAddress> toAddress(rtnl_addr* a) {
    IpAddress ip = fromNlAddr(rtnl_addr_get_local(a));
    if (ip.family == 0) return std::nullopt;
    return InterfaceAddress{.ifindex = rtnl_addr_get_ifindex(a), .address = ip, .prefixlen = rtnl_addr_get_prefixlen(a)};
}

std::optional<HostRoute> toHostRoute(rtnl_route* r, const RouteTables& tables) {
    const std::uint32_t table = rtnl_route_get_table(r);
    if (!tables.wanted(table)) return std::nullopt;
    nl_addr* dst = rtnl_route_get_dst(r);
    IpAddress ip = fromNlAddr(dst);
    if (ip.family == 0) return std::nullopt;
    const int len = static_cast<int>(nl_addr_get_prefixlen(dst));
    const int protocol = rtnl_route_get_protocol(r);
    const int type = rtnl_route_get_type(r);
    if (len > ip.hostPrefix()) return std::nullopt;  // the kernel never sends one (fuzz.events did: /65 of IPv4)
    const bool host = len == ip.hostPrefix();
    if (table == kLocalTable) {
        // Ranges' local routes: the agent's, or anyone's shorter than a host (an address's
        // own local route is the kernel's, and says nothing about a range).
        if (type != kLocalType || (host && protocol != kRouteProtocol)) return std::nullopt;
    } else if (!host && !(tables.ranges && table == tables.announce && protocol == kRouteProtocol)) {
        return std::nullopt;  // only a range's announce route is wanted at another length
    }
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    return HostRoute{.dst = ip,
                     .table = table,
                     .protocol = protocol,
                     .oif = nh ? rtnl_route_nh_get_ifindex(nh) : 0,
                     // a local route's metric means nothing (IPv6 gives it 1024): left out
                     .metric = table == kLocalTable ? 0 : rtnl_route_get_priority(r),
                     .dstLen = host ? -1 : len,
                     .type = type};
}

std::optional<Rule> toRule(rtnl_rule* r, const RouteTables& tables) {
    if (tables.nat == 0) return std::nullopt;
    std::uint8_t protocol = 0, ipProto = 0;
    (void)rtnl_rule_get_protocol(r, &protocol);
    const std::uint32_t table = rtnl_rule_get_table(r);
    if (table != tables.nat && protocol != kRouteProtocol) return std::nullopt;
    (void)rtnl_rule_get_ipproto(r, &ipProto);
    std::uint16_t sport = 0, sportEnd = 0;
    (void)rtnl_rule_get_sport(r, &sport, &sportEnd);
    nl_addr* src = rtnl_rule_get_src(r);
    IpAddress ip = fromNlAddr(src);
    // Only `from ADDR` of a host is one of the agent's kind; another is kept with family 0
    // (it still tells that someone else uses the table).
    if (ip.family != 0 && static_cast<int>(nl_addr_get_prefixlen(src)) != ip.hostPrefix()) ip = {};
    return Rule{.src = ip, .ipProto = ipProto, .sport = sport == sportEnd ? sport : 0, .table = table,
                .priority = rtnl_rule_get_prio(r), .protocol = protocol};
}

std::optional<GatewayRoute> toGatewayRoute(rtnl_route* r, const RouteTables& tables) {
    if (tables.nat == 0 || rtnl_route_get_table(r) != tables.nat) return std::nullopt;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (dst && nl_addr_get_prefixlen(dst) != 0) return std::nullopt;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    return GatewayRoute{.gateway = nh ? fromNlAddr(rtnl_route_nh_get_gateway(nh)) : IpAddress{},
                        .ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0,
                        .table = rtnl_route_get_table(r),
                        .protocol = rtnl_route_get_protocol(r)};
}

std::vector<IpAddress> gatewaysOf(rtnl_route* r) {
    std::vector<IpAddress> out;
    const int n = rtnl_route_get_nnexthops(r);
    for (int i = 0; i < n; ++i)
        if (rtnl_nexthop* nh = rtnl_route_nexthop_n(r, i))
            if (IpAddress gw = fromNlAddr(rtnl_route_nh_get_gateway(nh)); gw.family != 0) out.push_back(gw);
    return out;
}

}  // namespace netcfg
