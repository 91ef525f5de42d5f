// The Netlink interface over libnl-route-3.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <linux/fib_rules.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netlink/object.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "netcfg/netlink.h"
#include "netcfg/nl_convert.h"
#include "netcfg/nl_ptr.h"

namespace netcfg {
namespace {

NetError nlError(int err, const std::string& doing) {
    const int code = err < 0 ? -err : err;
    return NetError{.code = code, .message = doing + ": " + nl_geterror(code)};
}

NlAddr toNlAddr(const IpAddress& ip) {
    NlAddr a(nl_addr_build(ip.family, ip.bytes.data(), ip.size()));
    if (a) nl_addr_set_prefixlen(a.get(), ip.hostPrefix());
    return a;
}

class KernelNetlink final : public Netlink {
public:
    // Two sockets: libnl reads dumps on one and checks their sequence numbers; the
    // batched changes read their acks on the other themselves.
    // A third, with strict checking, dumps routes by table: the kernel then also checks the
    // headers of other dumps, which libnl builds short (a bare family for addresses).
    KernelNetlink(NlSock dumps, NlSock changes, NlSock routes)
        : dumpSock_(std::move(dumps)), sock_(std::move(changes)), routeSock_(std::move(routes)) {}

    std::expected<KernelState, NetError> dump(const RouteTables& tables) override {
        KernelState state;
        if (auto r = dumpLinks(state); !r) return std::unexpected(r.error());
        if (auto r = dumpAddresses(state); !r) return std::unexpected(r.error());
        if (auto r = dumpTable(kMainTable, tables, state); !r) return std::unexpected(r.error());
        if (tables.announce != 0)
            if (auto r = dumpTable(tables.announce, tables, state); !r) return std::unexpected(r.error());
        if (tables.ranges)
            if (auto r = dumpTable(kLocalTable, tables, state); !r) return std::unexpected(r.error());
        if (tables.nat != 0) {
            if (auto r = dumpTable(tables.nat, tables, state); !r) return std::unexpected(r.error());
            if (auto r = dumpRules(tables, state); !r) return std::unexpected(r.error());
        }
        return state;
    }

    std::vector<NetResult> apply(const std::vector<NetOp>& ops) override {
        std::vector<NetResult> results;
        for (std::size_t start = 0; start < ops.size(); start += kBatch) {
            const std::size_t end = std::min(ops.size(), start + kBatch);
            if (!applyChunk(ops, start, end, results)) break;
        }
        return results;
    }

private:
    // Up to kBatch requests go out in one sendmsg (rtnetlink handles every message of a
    // datagram in order); each gets its own ack. Half the syscalls of one request at a time.
    static constexpr std::size_t kBatch = 128;

    // Appends a result per op of [start, end) that was sent; false once one has failed.
    bool applyChunk(const std::vector<NetOp>& ops, std::size_t start, std::size_t end,
                    std::vector<NetResult>& results) {
        std::vector<char> batch;
        std::uint32_t firstSeq = 0;
        std::size_t built = start;
        std::optional<NetError> buildError;
        for (; built < end; ++built) {
            NlMsg msg;
            if (int err = buildRequest(ops[built], msg); err < 0) {
                buildError = nlError(err, "building the request to " + describe(ops[built]));
                break;
            }
            nl_complete_msg(sock_.get(), msg.get());
            const nlmsghdr* hdr = nlmsg_hdr(msg.get());
            if (built == start) firstSeq = hdr->nlmsg_seq;
            const char* bytes = reinterpret_cast<const char*>(hdr);
            batch.insert(batch.end(), bytes, bytes + NLMSG_ALIGN(hdr->nlmsg_len));
        }
        const std::size_t sent = built - start;
        if (sent > 0) {
            if (int err = nl_sendto(sock_.get(), batch.data(), batch.size()); err < 0) {
                results.push_back(std::unexpected(nlError(err, "sending " + describe(ops[start]))));
                return false;
            }
            std::vector<std::optional<int>> acks(sent);  // errno per op, 0 for success
            if (auto r = receiveAcks(firstSeq, acks); !r) {
                results.push_back(std::unexpected(r.error()));
                return false;
            }
            bool ok = true;
            for (std::size_t i = 0; i < sent; ++i) {
                results.push_back(outcome(ops[start + i], *acks[i]));
                ok = ok && results.back().has_value();
            }
            if (!ok) return false;
        }
        if (buildError) {
            results.push_back(std::unexpected(*buildError));
            return false;
        }
        return true;
    }

    NetStatus receiveAcks(std::uint32_t firstSeq, std::vector<std::optional<int>>& acks) {
        std::size_t remaining = acks.size();
        const int fd = nl_socket_get_fd(sock_.get());
        while (remaining > 0) {
            const ssize_t n = ::recv(fd, recvBuffer_.data(), recvBuffer_.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                return std::unexpected(NetError{.code = nl_syserr2nlerr(errno),
                                                .message = std::string("reading acks: ") + std::strerror(errno)});
            }
            int len = static_cast<int>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(recvBuffer_.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                const std::uint32_t index = h->nlmsg_seq - firstSeq;
                if (index >= acks.size() || acks[index]) continue;
                acks[index] = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
                --remaining;
            }
        }
        return {};
    }

    static NetResult outcome(const NetOp& op, int err) {
        using K = NetOp::Kind;
        if (err == 0) return Effect::Changed;
        const bool done = (op.kind == K::AddAddress && err == EEXIST) || (op.kind == K::AddRule && err == EEXIST) ||
                          (op.kind == K::DeleteRule && (err == ENOENT || err == ESRCH)) ||
                          (op.kind == K::DeleteGatewayRoute && (err == ESRCH || err == ENOENT || err == ENODEV)) ||
                          (op.kind == K::DeleteAddress && (err == EADDRNOTAVAIL || err == ENOENT || err == ENODEV)) ||
                          ((op.kind == K::DeleteRoute || op.kind == K::DeleteLocalRoute) && (err == ESRCH || err == ENOENT || err == ENODEV));
        if (done) return Effect::AlreadyDone;
        std::string hint;
        if (op.kind == K::AddAddress && !op.address.isV4() && err == EACCES) hint = " (is IPv6 disabled on the interface?)";
        if ((op.kind == K::AddRoute || op.kind == K::AddLocalRoute) && err == EEXIST) hint = " (a route for it already exists)";
        if (op.kind == K::AddGatewayRoute && err == EEXIST) hint = " (table " + std::to_string(op.table) + " already has a default route)";
        if (op.kind == K::AddRule && (err == EAFNOSUPPORT || err == EOPNOTSUPP || err == EINVAL))
            hint = " (the kernel cannot match rules on ipproto and sport: Linux 4.17 or later is needed)";
        return std::unexpected(NetError{.code = nl_syserr2nlerr(err),
                                        .err = err,
                                        .message = describe(op) + ": " + std::strerror(err) + hint});
    }

    int buildRequest(const NetOp& op, NlMsg& out) {
        using K = NetOp::Kind;
        nl_msg* raw = nullptr;
        int err = -NLE_NOMEM;
        switch (op.kind) {
            case K::AddAddress:
            case K::DeleteAddress: {
                auto addr = buildAddress(op.ifindex, op.address);
                if (!addr) break;
                if (op.kind == K::AddAddress) {
                    if (!op.address.isV4()) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
                    err = rtnl_addr_build_add_request(addr.get(), 0, &raw);
                } else {
                    err = rtnl_addr_build_delete_request(addr.get(), 0, &raw);
                }
                break;
            }
            case K::AddRoute:
            case K::DeleteRoute:
            case K::AddLocalRoute:
            case K::DeleteLocalRoute: {
                auto route = buildRoute(op);
                if (!route) break;
                const bool add = op.kind == K::AddRoute || op.kind == K::AddLocalRoute;
                err = add ? rtnl_route_build_add_request(route.get(), NLM_F_EXCL, &raw)
                          : rtnl_route_build_del_request(route.get(), 0, &raw);
                break;
            }
            case K::AddRule:
            case K::DeleteRule: {
                auto rule = buildRule(op.rule);
                if (!rule) break;
                err = op.kind == K::AddRule ? rtnl_rule_build_add_request(rule.get(), NLM_F_EXCL, &raw)
                                            : rtnl_rule_build_delete_request(rule.get(), 0, &raw);
                break;
            }
            case K::AddGatewayRoute:
            case K::DeleteGatewayRoute: {
                auto route = buildGatewayRoute(op);
                if (!route) break;
                err = op.kind == K::AddGatewayRoute ? rtnl_route_build_add_request(route.get(), NLM_F_EXCL, &raw)
                                                    : rtnl_route_build_del_request(route.get(), 0, &raw);
                break;
            }
            case K::LinkUp:
            case K::LinkDown: {
                NlLink orig(rtnl_link_alloc());
                NlLink change(rtnl_link_alloc());
                if (!orig || !change) break;
                rtnl_link_set_ifindex(orig.get(), op.ifindex);
                if (op.kind == K::LinkUp)
                    rtnl_link_set_flags(change.get(), IFF_UP);
                else
                    rtnl_link_unset_flags(change.get(), IFF_UP);
                err = rtnl_link_build_change_request(orig.get(), change.get(), 0, &raw);
                break;
            }
        }
        out.reset(raw);
        return err < 0 ? err : 0;
    }

    NetStatus dumpLinks(KernelState& state) {
        nl_cache* raw = nullptr;
        if (int err = rtnl_link_alloc_cache(dumpSock_.get(), AF_UNSPEC, &raw); err < 0)
            return std::unexpected(nlError(err, "dumping links"));
        NlCache cache(raw);
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
            state.links.push_back(toLink(reinterpret_cast<rtnl_link*>(o)));
        }
        return {};
    }

    NetStatus dumpAddresses(KernelState& state) {
        nl_cache* raw = nullptr;
        if (int err = rtnl_addr_alloc_cache(dumpSock_.get(), &raw); err < 0)
            return std::unexpected(nlError(err, "dumping addresses"));
        NlCache cache(raw);
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
            if (auto a = toAddress(reinterpret_cast<rtnl_addr*>(o))) state.addresses.push_back(*a);
        }
        return {};
    }

    // One table's routes. libnl's rtnl_route_alloc_cache asks for every table (a full
    // Internet table next to the agent: a million routes read, parsed and dropped on each
    // resync), so the request is built here: RTM_GETROUTE for all families with the table
    // in rtm_table and RTA_TABLE, which the kernel honours on a socket with
    // NETLINK_GET_STRICT_CHK (4.20). libnl still parses the answer (nl_cache_pickup).
    // Without strict checking (an older kernel) every table comes back and is filtered here.
    NetStatus dumpTable(std::uint32_t table, const RouteTables& tables, KernelState& state) {
        const std::string doing = "dumping routes of table " + std::to_string(table);
        nl_cache* raw = nullptr;
        if (int err = nl_cache_alloc_name("route/route", &raw); err < 0) return std::unexpected(nlError(err, doing));
        NlCache cache(raw);
        NlMsg msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP));
        if (!msg) return std::unexpected(nlError(NLE_NOMEM, doing));
        rtmsg rtm{};
        rtm.rtm_family = AF_UNSPEC;
        rtm.rtm_table = table < 256 ? static_cast<unsigned char>(table) : RT_TABLE_COMPAT;
        if (int err = nlmsg_append(msg.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO); err < 0) return std::unexpected(nlError(err, doing));
        if (int err = nla_put_u32(msg.get(), RTA_TABLE, table); err < 0) return std::unexpected(nlError(err, doing));
        if (int err = nl_send_auto(routeSock_.get(), msg.get()); err < 0) return std::unexpected(nlError(err, doing));
        if (int err = nl_cache_pickup(routeSock_.get(), raw); err < 0) return std::unexpected(nlError(err, doing));
        const bool announce = table == tables.announce;
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
            auto* route = reinterpret_cast<rtnl_route*>(o);
            if (rtnl_route_get_table(route) != table) continue;  // no strict checking: every table came
            if (table == tables.nat) {
                if (auto g = toGatewayRoute(route, tables)) state.gatewayRoutes.push_back(*g);
                continue;
            }
            if (auto r = toHostRoute(route, tables)) state.routes.push_back(*r);
            if (table == kMainTable)
                for (const auto& gw : gatewaysOf(route)) state.gateways.push_back(gw);
            if (announce && rtnl_route_get_protocol(route) != kRouteProtocol) {
                if (state.foreignInAnnounce++ == 0) {
                    std::array<char, 128> dst{};
                    nl_addr2str(rtnl_route_get_dst(route), dst.data(), dst.size());
                    state.foreignExample = std::string(dst.data()) + " proto " + std::to_string(rtnl_route_get_protocol(route));
                }
            }
        }
        return {};
    }

    // Every policy rule (few on any host), keeping those of the NAT table or the agent's.
    NetStatus dumpRules(const RouteTables& tables, KernelState& state) {
        nl_cache* raw = nullptr;
        if (int err = rtnl_rule_alloc_cache(dumpSock_.get(), AF_UNSPEC, &raw); err < 0)
            return std::unexpected(nlError(err, "dumping policy rules"));
        NlCache cache(raw);
        for (auto* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o))
            if (auto r = toRule(reinterpret_cast<rtnl_rule*>(o), tables)) state.rules.push_back(*r);
        return {};
    }

    static NlRule buildRule(const Rule& r) {
        NlRule rule(rtnl_rule_alloc());
        NlAddr src = toNlAddr(r.src);
        if (!rule || !src) return nullptr;
        rtnl_rule_set_family(rule.get(), r.src.family);
        if (rtnl_rule_set_src(rule.get(), src.get()) < 0) return nullptr;
        rtnl_rule_set_table(rule.get(), r.table);
        rtnl_rule_set_prio(rule.get(), r.priority);
        rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
        if (rtnl_rule_set_ipproto(rule.get(), static_cast<std::uint8_t>(r.ipProto)) < 0) return nullptr;
        if (rtnl_rule_set_sport(rule.get(), static_cast<std::uint16_t>(r.sport)) < 0) return nullptr;
        if (rtnl_rule_set_protocol(rule.get(), kRouteProtocol) < 0) return nullptr;
        return rule;
    }

    // default via GATEWAY dev IF table T proto 177 (scope global).
    static NlRoute buildGatewayRoute(const NetOp& op) {
        NlRoute route(rtnl_route_alloc());
        NlAddr dst(nl_addr_build(op.gateway.family, nullptr, 0));
        NlAddr gw = toNlAddr(op.gateway);
        if (!route || !dst || !gw) return nullptr;
        nl_addr_set_prefixlen(dst.get(), 0);
        rtnl_route_set_family(route.get(), op.gateway.family);
        rtnl_route_set_table(route.get(), op.table);
        rtnl_route_set_protocol(route.get(), kRouteProtocol);
        rtnl_route_set_type(route.get(), RTN_UNICAST);
        rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
        if (rtnl_route_set_dst(route.get(), dst.get()) < 0) return nullptr;
        rtnl_nexthop* nh = rtnl_route_nh_alloc();
        if (!nh) return nullptr;
        rtnl_route_nh_set_ifindex(nh, op.ifindex);
        rtnl_route_nh_set_gateway(nh, gw.get());
        rtnl_route_add_nexthop(route.get(), nh);
        return route;
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

    // The VIP's host route in table main (IPv4: scope link, as the kernel makes for a
    // device route), or its announce route: scope global, which routing daemons learn
    // (BIRD skips a kernel route of another scope), with the configured metric; or a
    // range's local route in table local (scope host, as the kernel makes for an address).
    static NlRoute buildRoute(const NetOp& op) {
        const IpAddress& dst = op.address;
        NlRoute route(rtnl_route_alloc());
        NlAddr addr = toNlAddr(dst);
        if (!route || !addr) return nullptr;
        if (op.prefixLen >= 0) nl_addr_set_prefixlen(addr.get(), op.prefixLen);
        const bool local = op.localRoute();
        rtnl_route_set_family(route.get(), dst.family);
        rtnl_route_set_table(route.get(), local ? kLocalTable : op.table);
        rtnl_route_set_protocol(route.get(), kRouteProtocol);
        rtnl_route_set_type(route.get(), local ? RTN_LOCAL : RTN_UNICAST);
        rtnl_route_set_scope(route.get(), local ? RT_SCOPE_HOST
                                          : dst.isV4() && !op.announce() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
        if (op.announce()) rtnl_route_set_priority(route.get(), op.metric);
        if (rtnl_route_set_dst(route.get(), addr.get()) < 0) return nullptr;
        rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
        if (!nh) return nullptr;
        rtnl_route_nh_set_ifindex(nh, op.ifindex);
        rtnl_route_add_nexthop(route.get(), nh);
        return route;
    }

    NlSock dumpSock_;
    NlSock sock_;
    NlSock routeSock_;
    std::array<char, 64 << 10> recvBuffer_{};
};

}  // namespace

namespace {

std::expected<NlSock, NetError> openSocket(bool strict = false) {
    NlSock sock(nl_socket_alloc());
    if (!sock) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "allocating a netlink socket"});
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(nlError(err, "connecting to rtnetlink"));
    // Large dumps (10,000 VIPs bring 20,000 routes) and batches of acks need more than
    // the default buffer.
    nl_socket_set_buffer_size(sock.get(), 4 << 20, 1 << 20);
    // One recvmsg per message instead of a MSG_PEEK first: half the syscalls. The
    // buffer must hold the largest dump message the kernel sends (32 KiB).
    nl_socket_disable_msg_peek(sock.get());
    nl_socket_set_msg_buf_size(sock.get(), 64 << 10);
    // Dumps filtered by table (dumpTable); an older kernel refuses the option and sends
    // every table instead, which dumpTable filters.
    const int one = 1;
    if (strict) (void)::setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
    return sock;
}

}  // namespace

namespace {

struct LookupContext {
    std::optional<PathAnswer> answer;
};

void onLookupObject(nl_object* obj, void* arg) {
    auto* ctx = static_cast<LookupContext*>(arg);
    const char* type = nl_object_get_type(obj);
    if (!type || std::strcmp(type, "route/route") != 0) return;
    auto* route = reinterpret_cast<rtnl_route*>(obj);
    rtnl_nexthop* nh = rtnl_route_nexthop_n(route, 0);
    ctx->answer = PathAnswer{.gateway = nh ? fromNlAddr(rtnl_route_nh_get_gateway(nh)) : IpAddress{},
                             .oif = nh ? rtnl_route_nh_get_ifindex(nh) : 0,
                             .table = rtnl_route_get_table(route)};
}

int onLookupMessage(nl_msg* msg, void* arg) {
    nl_msg_parse(msg, onLookupObject, arg);
    return NL_OK;
}

}  // namespace

// One RTM_GETROUTE, built here: libnl's rtnl_route_lookup carries no ports. The answer is
// parsed by libnl (nl_msg_parse), as notifications are. RTM_F_LOOKUP_TABLE: the reply
// names the table the lookup ended in.
std::expected<PathAnswer, NetError> lookupPath(const IpAddress& src, const IpAddress& dst, int ipProto, int sport) {
    const std::string doing = "looking up the route from " + src.str() + " to " + dst.str();
    auto sock = openSocket();
    if (!sock) return std::unexpected(sock.error());
    NlMsg msg(nlmsg_alloc_simple(RTM_GETROUTE, 0));
    if (!msg) return std::unexpected(nlError(NLE_NOMEM, doing));
    rtmsg rtm{};
    rtm.rtm_family = static_cast<unsigned char>(dst.family);
    rtm.rtm_dst_len = static_cast<unsigned char>(dst.hostPrefix());
    rtm.rtm_src_len = static_cast<unsigned char>(src.hostPrefix());
    rtm.rtm_flags = RTM_F_LOOKUP_TABLE;
    int err = nlmsg_append(msg.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO);
    if (err >= 0) err = nla_put(msg.get(), RTA_DST, static_cast<int>(dst.size()), dst.bytes.data());
    if (err >= 0) err = nla_put(msg.get(), RTA_SRC, static_cast<int>(src.size()), src.bytes.data());
    if (err >= 0) err = nla_put_u8(msg.get(), RTA_IP_PROTO, static_cast<std::uint8_t>(ipProto));
    if (err >= 0) err = nla_put_u16(msg.get(), RTA_SPORT, htons(static_cast<std::uint16_t>(sport)));
    if (err < 0) return std::unexpected(nlError(err, doing));
    LookupContext ctx;
    nl_socket_modify_cb(sock->get(), NL_CB_VALID, NL_CB_CUSTOM, onLookupMessage, &ctx);
    if (err = nl_send_auto(sock->get(), msg.get()); err < 0) return std::unexpected(nlError(err, doing));
    if (err = nl_recvmsgs_default(sock->get()); err < 0) return std::unexpected(nlError(err, doing));
    if (!ctx.answer) return std::unexpected(NetError{.code = NLE_NOATTR, .message = doing + ": no route in the answer"});
    return *ctx.answer;
}

std::expected<std::unique_ptr<Netlink>, NetError> openKernelNetlink() {
    auto dumps = openSocket();
    if (!dumps) return std::unexpected(dumps.error());
    auto changes = openSocket();
    if (!changes) return std::unexpected(changes.error());
    auto routes = openSocket(true);
    if (!routes) return std::unexpected(routes.error());
    return std::make_unique<KernelNetlink>(std::move(*dumps), std::move(*changes), std::move(*routes));
}

}  // namespace netcfg
