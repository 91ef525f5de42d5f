// The Netlink interface over libnl-route-3.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>

#include "netcfg/netlink.h"
#include "netcfg/nl_ptr.h"

namespace netcfg {
namespace {

NetError nlError(int err, const std::string& doing) {
    const int code = err < 0 ? -err : err;
    return NetError{.code = code, .message = doing + ": " + nl_geterror(code)};
}

// Borrowed from libnl's internal view: nl_addr_get_binary_addr points into the object.
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

NlAddr toNlAddr(const IpAddress& ip) {
    NlAddr a(nl_addr_build(ip.family, ip.bytes.data(), ip.size()));
    if (a) nl_addr_set_prefixlen(a.get(), ip.hostPrefix());
    return a;
}

bool ignorable(int err, std::initializer_list<int> done) {
    for (int d : done)
        if (-err == d) return true;
    return false;
}

class KernelNetlink final : public Netlink {
public:
    explicit KernelNetlink(NlSock sock) : sock_(std::move(sock)) {}

    std::expected<KernelState, NetError> dump() override {
        KernelState state;
        if (auto r = dumpLinks(state); !r) return std::unexpected(r.error());
        if (auto r = dumpAddresses(state); !r) return std::unexpected(r.error());
        if (auto r = dumpRoutes(state); !r) return std::unexpected(r.error());
        return state;
    }

    NetStatus addAddress(int ifindex, const IpAddress& ip) override {
        auto addr = buildAddress(ifindex, ip);
        if (!addr) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "out of memory"});
        if (!ip.isV4()) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
        const int err = rtnl_addr_add(sock_.get(), addr.get(), 0);
        if (err < 0 && !ignorable(err, {NLE_EXIST}))
            return std::unexpected(nlError(err, "adding " + ip.hostCidr()));
        return {};
    }

    NetStatus deleteAddress(int ifindex, const IpAddress& ip) override {
        auto addr = buildAddress(ifindex, ip);
        if (!addr) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "out of memory"});
        const int err = rtnl_addr_delete(sock_.get(), addr.get(), 0);
        if (err < 0 && !ignorable(err, {NLE_NOADDR, NLE_OBJ_NOTFOUND, NLE_NODEV}))
            return std::unexpected(nlError(err, "deleting " + ip.hostCidr()));
        return {};
    }

    NetStatus addHostRoute(int ifindex, const IpAddress& dst) override {
        auto route = buildRoute(ifindex, dst);
        if (!route) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "out of memory"});
        const int err = rtnl_route_add(sock_.get(), route.get(), NLM_F_EXCL);
        if (err < 0)
            return std::unexpected(nlError(err, "adding route " + dst.hostCidr()));
        return {};
    }

    NetStatus deleteHostRoute(int ifindex, const IpAddress& dst) override {
        auto route = buildRoute(ifindex, dst);
        if (!route) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "out of memory"});
        const int err = rtnl_route_delete(sock_.get(), route.get(), 0);
        if (err < 0 && !ignorable(err, {NLE_OBJ_NOTFOUND, NLE_NODEV}))
            return std::unexpected(nlError(err, "deleting route " + dst.hostCidr()));
        return {};
    }

    NetStatus setLinkUp(int ifindex, bool up) override {
        NlLink orig(rtnl_link_alloc());
        NlLink change(rtnl_link_alloc());
        if (!orig || !change)
            return std::unexpected(NetError{.code = NLE_NOMEM, .message = "out of memory"});
        rtnl_link_set_ifindex(orig.get(), ifindex);
        if (up)
            rtnl_link_set_flags(change.get(), IFF_UP);
        else
            rtnl_link_unset_flags(change.get(), IFF_UP);
        const int err = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0);
        if (err < 0)
            return std::unexpected(nlError(err, "setting link " + std::to_string(ifindex) + (up ? " up" : " down")));
        return {};
    }

private:
    NetStatus dumpLinks(KernelState& state) {
        nl_cache* raw = nullptr;
        if (int err = rtnl_link_alloc_cache(sock_.get(), AF_UNSPEC, &raw); err < 0)
            return std::unexpected(nlError(err, "dumping links"));
        NlCache cache(raw);
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
            auto* l = reinterpret_cast<rtnl_link*>(o);
            const unsigned flags = rtnl_link_get_flags(l);
            const char* name = rtnl_link_get_name(l);
            state.links.push_back(Link{.ifindex = rtnl_link_get_ifindex(l),
                                       .name = name ? name : "",
                                       .up = (flags & IFF_UP) != 0,
                                       .loopback = (flags & IFF_LOOPBACK) != 0});
        }
        return {};
    }

    NetStatus dumpAddresses(KernelState& state) {
        nl_cache* raw = nullptr;
        if (int err = rtnl_addr_alloc_cache(sock_.get(), &raw); err < 0)
            return std::unexpected(nlError(err, "dumping addresses"));
        NlCache cache(raw);
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
            auto* a = reinterpret_cast<rtnl_addr*>(o);
            IpAddress ip = fromNlAddr(rtnl_addr_get_local(a));
            if (ip.family == 0) continue;
            state.addresses.push_back(InterfaceAddress{.ifindex = rtnl_addr_get_ifindex(a),
                                                       .address = ip,
                                                       .prefixlen = rtnl_addr_get_prefixlen(a)});
        }
        return {};
    }

    NetStatus dumpRoutes(KernelState& state) {
        nl_cache* raw = nullptr;
        if (int err = rtnl_route_alloc_cache(sock_.get(), AF_UNSPEC, 0, &raw); err < 0)
            return std::unexpected(nlError(err, "dumping routes"));
        NlCache cache(raw);
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
            auto* r = reinterpret_cast<rtnl_route*>(o);
            if (rtnl_route_get_table(r) != kMainTable) continue;
            nl_addr* dst = rtnl_route_get_dst(r);
            IpAddress ip = fromNlAddr(dst);
            if (ip.family == 0 || static_cast<int>(nl_addr_get_prefixlen(dst)) != ip.hostPrefix())
                continue;
            rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
            state.routes.push_back(HostRoute{.dst = ip,
                                             .table = rtnl_route_get_table(r),
                                             .protocol = rtnl_route_get_protocol(r),
                                             .oif = nh ? rtnl_route_nh_get_ifindex(nh) : 0});
        }
        return {};
    }

    static NlRtAddr buildAddress(int ifindex, const IpAddress& ip) {
        NlRtAddr addr(rtnl_addr_alloc());
        NlAddr local = toNlAddr(ip);
        if (!addr || !local) return nullptr;
        rtnl_addr_set_ifindex(addr.get(), ifindex);
        rtnl_addr_set_family(addr.get(), ip.family);
        if (rtnl_addr_set_local(addr.get(), local.get()) < 0) return nullptr;
        rtnl_addr_set_prefixlen(addr.get(), ip.hostPrefix());
        return addr;
    }

    static NlRoute buildRoute(int ifindex, const IpAddress& dst) {
        NlRoute route(rtnl_route_alloc());
        NlAddr addr = toNlAddr(dst);
        if (!route || !addr) return nullptr;
        rtnl_route_set_family(route.get(), dst.family);
        rtnl_route_set_table(route.get(), kMainTable);
        rtnl_route_set_protocol(route.get(), kRouteProtocol);
        rtnl_route_set_type(route.get(), RTN_UNICAST);
        rtnl_route_set_scope(route.get(), dst.isV4() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
        if (rtnl_route_set_dst(route.get(), addr.get()) < 0) return nullptr;
        rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
        if (!nh) return nullptr;
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_add_nexthop(route.get(), nh);
        return route;
    }

    NlSock sock_;
};

}  // namespace

std::expected<std::unique_ptr<Netlink>, NetError> openKernelNetlink() {
    NlSock sock(nl_socket_alloc());
    if (!sock) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "allocating a netlink socket"});
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(nlError(err, "connecting to rtnetlink"));
    // Large dumps (10,000 VIPs bring 20,000 routes) need more than the default buffer.
    nl_socket_set_buffer_size(sock.get(), 4 << 20, 1 << 20);
    return std::make_unique<KernelNetlink>(std::move(sock));
}

}  // namespace netcfg
