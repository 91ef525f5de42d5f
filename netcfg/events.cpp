#include "netcfg/events.h"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/object.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "netcfg/nl_convert.h"

namespace netcfg {
namespace {

// The receive buffer: 10,000 VIPs bring 30,000 notifications when bound at once (address,
// local route, main route). As root the buffer may exceed net.core.rmem_max; this is a
// setting of the socket, not of the host.
constexpr int kReceiveBuffer = 32 << 20;

struct ParseContext {
    Drained* out;
    bool removed;
    const RouteTables* tables;
};

void onObject(nl_object* obj, void* arg) {
    auto* ctx = static_cast<ParseContext*>(arg);
    const char* type = nl_object_get_type(obj);
    if (!type) return;
    Change c;
    if (std::strcmp(type, "route/addr") == 0) {
        auto a = toAddress(reinterpret_cast<rtnl_addr*>(obj));
        if (!a) return;
        c.kind = ctx->removed ? Change::Kind::AddressRemoved : Change::Kind::AddressAdded;
        c.address = *a;
    } else if (std::strcmp(type, "route/rule") == 0) {
        auto r = toRule(reinterpret_cast<rtnl_rule*>(obj), *ctx->tables);
        if (!r) return;
        c.kind = ctx->removed ? Change::Kind::RuleRemoved : Change::Kind::RuleAdded;
        c.rule = *r;
    } else if (std::strcmp(type, "route/route") == 0 && ctx->tables->nat != 0 &&
               rtnl_route_get_table(reinterpret_cast<rtnl_route*>(obj)) == ctx->tables->nat) {
        auto g = toGatewayRoute(reinterpret_cast<rtnl_route*>(obj), *ctx->tables);
        if (!g) return;
        c.kind = ctx->removed ? Change::Kind::GatewayRouteRemoved : Change::Kind::GatewayRouteAdded;
        c.gatewayRoute = *g;
    } else if (std::strcmp(type, "route/route") == 0) {
        auto r = toHostRoute(reinterpret_cast<rtnl_route*>(obj), *ctx->tables);
        if (!r) return;
        c.kind = ctx->removed ? Change::Kind::RouteRemoved : Change::Kind::RouteAdded;
        c.route = *r;
    } else if (std::strcmp(type, "route/link") == 0) {
        c.kind = ctx->removed ? Change::Kind::LinkRemoved : Change::Kind::LinkChanged;
        c.link = toLink(reinterpret_cast<rtnl_link*>(obj));
    } else {
        return;
    }
    ctx->out->changes.push_back(std::move(c));
}

// A route message that cannot concern the agent: not a host route, or in none of its
// tables. rtm_table holds ids below 256; a larger one is RT_TABLE_COMPAT there, its id in
// RTA_TABLE (checked after parsing).
bool unwantedRoute(const nlmsghdr* h, const RouteTables& tables) {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return true;
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
    if (tables.nat != 0 && rt->rtm_table == tables.nat) return false;  // the NAT table's, at any length
    if (tables.ranges) {
        // Table local's routes but the kernel's own (each address's); the announce table's
        // of every length.
        if (rt->rtm_table == RT_TABLE_LOCAL) return rt->rtm_protocol == RTPROT_KERNEL;
        if (tables.announce != 0 && rt->rtm_table == (tables.announce < 256 ? tables.announce : RT_TABLE_COMPAT)) return false;
    }
    const bool host = (rt->rtm_family == AF_INET && rt->rtm_dst_len == 32) ||
                      (rt->rtm_family == AF_INET6 && rt->rtm_dst_len == 128);
    if (!host) return true;
    if (rt->rtm_table == RT_TABLE_MAIN) return false;
    if (tables.announce == 0) return true;
    return tables.announce < 256 ? rt->rtm_table != tables.announce : rt->rtm_table != RT_TABLE_COMPAT;
}

// What libnl 3.7 parses without bounds in a route message, found by fuzz.events; the
// kernel never sends either, so such a route is dropped before libnl sees it:
//  - an RTA_MULTIPATH next hop that is too short, or whose aligned length runs past its
//    attribute (libnl steps through the list in a size_t that then wraps, allocating
//    gigabytes);
//  - an RTA_VIA, at the top or in a next hop, shorter than its address family
//    (libnl copies its length minus 2: a negative memcpy).
// Types are compared without their flag bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER), as
// libnl reads them.
bool shortVia(const rtattr* a) { return (a->rta_type & NLA_TYPE_MASK) == RTA_VIA && RTA_PAYLOAD(a) < sizeof(rtvia); }

bool malformedRoute(const nlmsghdr* h) {
    int left = static_cast<int>(RTM_PAYLOAD(h));
    for (auto* a = RTM_RTA(static_cast<const rtmsg*>(NLMSG_DATA(h))); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
        if (shortVia(a)) return true;
        if ((a->rta_type & NLA_TYPE_MASK) != RTA_MULTIPATH) continue;
        int room = static_cast<int>(RTA_PAYLOAD(a));
        for (auto* nh = static_cast<const rtnexthop*>(RTA_DATA(a)); room > 0;) {
            if (room < static_cast<int>(sizeof(rtnexthop)) || nh->rtnh_len < sizeof(rtnexthop) ||
                static_cast<int>(RTNH_ALIGN(nh->rtnh_len)) > room)
                return true;
            int inner = static_cast<int>(nh->rtnh_len - sizeof(rtnexthop));
            for (auto* n = RTNH_DATA(nh); RTA_OK(n, inner); n = RTA_NEXT(n, inner))
                if (shortVia(n)) return true;
            room -= RTNH_ALIGN(nh->rtnh_len);
            nh = RTNH_NEXT(nh);
        }
    }
    return false;
}

}  // namespace

namespace {

// With ranges, a block in front of the host-route program: a route message in table local
// passes unless it is the kernel's own (an address's local route), and one in the announce
// table passes at any length; everything else goes on to the program (at its first
// instruction, kRangeBlock on).
constexpr std::uint8_t kRangeBlock = 12;
std::vector<sock_filter> rangeBlock(const RouteTables& tables) {
    constexpr std::uint32_t kRt = NLMSG_HDRLEN;
    const std::uint32_t announce = tables.announce == 0 ? RT_TABLE_LOCAL : tables.announce < 256 ? tables.announce : RT_TABLE_COMPAT;
    return {
        /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(nlmsghdr, nlmsg_type)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWROUTE), 1, 0),
        /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELROUTE), 0, kRangeBlock - 3),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NLMSG_LENGTH(sizeof(rtmsg)), 0, kRangeBlock - 5),
        /* 5 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kRt + offsetof(rtmsg, rtm_table)),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RT_TABLE_LOCAL, 0, 2),
        /* 7 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kRt + offsetof(rtmsg, rtm_protocol)),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RTPROT_KERNEL, 2, 1),
        /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, announce, 0, kRangeBlock - 10),
        /* 10 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),  // pass
        /* 11 */ BPF_STMT(BPF_RET | BPF_K, 0),            // drop
    };
}

}  // namespace

namespace {

// With a NAT table, a block in front of the rest: a route message in that table passes at
// any length (its default routes); everything else goes on (at kNatBlock).
constexpr std::uint8_t kNatBlock = 8;
std::vector<sock_filter> natBlock(const RouteTables& tables) {
    constexpr std::uint32_t kRt = NLMSG_HDRLEN;
    return {
        /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(nlmsghdr, nlmsg_type)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWROUTE), 1, 0),
        /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELROUTE), 0, kNatBlock - 3),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NLMSG_LENGTH(sizeof(rtmsg)), 0, kNatBlock - 5),
        /* 5 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kRt + offsetof(rtmsg, rtm_table)),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, tables.nat, 0, kNatBlock - 7),
        /* 7 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),  // pass
    };
}

}  // namespace

std::vector<sock_filter> routeFilter(const RouteTables& tables) {
    const std::uint32_t other = tables.announce == 0 ? RT_TABLE_MAIN : tables.announce < 256 ? tables.announce : RT_TABLE_COMPAT;
    constexpr std::uint32_t kType = offsetof(nlmsghdr, nlmsg_type);
    constexpr std::uint32_t kRt = NLMSG_HDRLEN;
    constexpr std::uint32_t kFamily = kRt + offsetof(rtmsg, rtm_family);
    constexpr std::uint32_t kDstLen = kRt + offsetof(rtmsg, rtm_dst_len);
    constexpr std::uint32_t kTable = kRt + offsetof(rtmsg, rtm_table);
    std::vector<sock_filter> program = tables.nat != 0 ? natBlock(tables) : std::vector<sock_filter>{};
    if (tables.ranges) {
        auto block = rangeBlock(tables);
        program.insert(program.end(), block.begin(), block.end());
    }
    // A halfword load reads network order: the type, in host order in memory, compares
    // with htons() of itself on either byte order.
    std::vector<sock_filter> hosts{
        /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, kType),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWROUTE), 1, 0),
        /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELROUTE), 0, 14),  // not a route: pass
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NLMSG_LENGTH(sizeof(rtmsg)), 0, 12),  // short: pass
        /* 5 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kDstLen),
        /* 6 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
        /* 7 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kFamily),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 0, 2),
        /* 9 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
        /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 32, 3, 7),  // IPv4 host: the table; else drop
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 6),
        /* 12 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
        /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 128, 0, 4),
        /* 14 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kTable),
        /* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RT_TABLE_MAIN, 1, 0),
        /* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, other, 0, 1),
        /* 17 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),  // pass
        /* 18 */ BPF_STMT(BPF_RET | BPF_K, 0),            // drop
    };
    program.insert(program.end(), hosts.begin(), hosts.end());
    return program;
}

std::expected<void, NetError> attachRouteFilter(int fd, const RouteTables& tables) {
    auto program = routeFilter(tables);
    const sock_fprog prog{.len = static_cast<unsigned short>(program.size()), .filter = program.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
        return std::unexpected(NetError{.code = 0, .err = errno, .message = std::string("attaching the route filter: ") + std::strerror(errno)});
    return {};
}

void ChangeEvents::watch(const RouteTables& tables) {
    EventSource::watch(tables);
    (void)attachRouteFilter(fd(), tables);  // best effort: parse() checks the same
}

std::expected<ChangeEvents, NetError> ChangeEvents::open() {
    NlSock sock(nl_socket_alloc());
    if (!sock) return std::unexpected(NetError{.code = NLE_NOMEM, .err = 0, .message = "allocating a netlink socket"});
    nl_socket_disable_seq_check(sock.get());
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(NetError{.code = -err, .err = 0, .message = std::string("connecting to rtnetlink: ") + nl_geterror(err)});
    if (int err = nl_socket_add_memberships(sock.get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                            RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_TC, RTNLGRP_IPV4_RULE,
                                            RTNLGRP_IPV6_RULE, 0);
        err < 0)
        return std::unexpected(NetError{.code = -err, .err = 0, .message = std::string("subscribing to rtnetlink groups: ") + nl_geterror(err)});
    nl_socket_set_nonblocking(sock.get());
    const int fd = nl_socket_get_fd(sock.get());
    (void)attachRouteFilter(fd, {});  // table main alone until watch(); parse() checks the same
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer) < 0)
        nl_socket_set_buffer_size(sock.get(), kReceiveBuffer, 0);  // without CAP_NET_ADMIN: up to rmem_max
    return ChangeEvents(std::move(sock));
}

int ChangeEvents::fd() const { return nl_socket_get_fd(sock_.get()); }

void ChangeEvents::parse(const char* data, std::size_t size, Drained& out, const RouteTables& tables) {
    int len = static_cast<int>(size);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        bool removed = false;
        switch (h->nlmsg_type) {
            case RTM_DELROUTE: removed = true; [[fallthrough]];
            case RTM_NEWROUTE:
                if (unwantedRoute(h, tables) || malformedRoute(h)) {
                    ++out.ignored;
                    continue;
                }
                break;
            case RTM_DELRULE:
            case RTM_NEWRULE:
                if (tables.nat == 0) {  // rules matter only with a NAT reply path: never parsed otherwise
                    ++out.ignored;
                    continue;
                }
                removed = h->nlmsg_type == RTM_DELRULE;
                break;
            case RTM_DELADDR:
            case RTM_DELLINK: removed = true; break;
            case RTM_NEWADDR:
            case RTM_NEWLINK: break;
            case RTM_NEWQDISC:
            case RTM_DELQDISC:
            case RTM_NEWTFILTER:
            case RTM_DELTFILTER: ++out.tc; continue;
            default: ++out.ignored; continue;
        }
        NlMsg msg(nlmsg_convert(const_cast<nlmsghdr*>(h)));
        if (!msg) continue;
        nlmsg_set_proto(msg.get(), NETLINK_ROUTE);
        ParseContext ctx{.out = &out, .removed = removed, .tables = &tables};
        nl_msg_parse(msg.get(), onObject, &ctx);  // a message libnl cannot parse is skipped
    }
}

Drained ChangeEvents::drain() {
    Drained d;
    static thread_local std::vector<char> buf(256 << 10);
    for (;;) {
        const ssize_t n = ::recv(fd(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) {
            parse(buf.data(), static_cast<std::size_t>(n), d, tables_);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOBUFS) {
            d.overrun = true;
            continue;
        }
        return d;  // EAGAIN, or an error the next full resync will cover
    }
}

}  // namespace netcfg
