#pragma once
// The narrow rtnetlink interface the agent needs: one dump of links, addresses and host
// routes, and idempotent add/delete operations. A libnl implementation talks to the
// kernel; FakeNetlink (tests/support/fake_netlink.h) keeps the same state in memory for unit tests.
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <cstddef>
#include <string>
#include <vector>

#include "netcfg/ip_address.h"
#include "netcfg/neighbour.h"

namespace netcfg {

// The agent's own route protocol id (rtm_protocol). Unassigned in iproute2's rt_protos;
// systemd/ ships an rt_protos.d entry naming it "lvs-rs-agent". Like keepalived's
// RTPROT_KEEPALIVED it marks the routes the agent added, so it never deletes another's.
constexpr int kRouteProtocol = 177;
constexpr std::uint32_t kMainTable = 254;  // RT_TABLE_MAIN
constexpr std::uint32_t kLocalTable = 255; // RT_TABLE_LOCAL
constexpr int kUnicast = 1;                // RTN_UNICAST
constexpr int kLocalType = 2;              // RTN_LOCAL

// The route tables the agent reads: table main always, and the announce table (the VIPs
// that are ready, for a routing daemon to carry into BGP) when one is configured. Dumps
// ask the kernel for these tables only, and notifications for others are dropped from
// their header: a full Internet table next to the agent costs it nothing.
//
// With ranges (VIPs given as a prefix, kept as one local route, "AnyIP"), table local is
// read too (its local routes of the agent's protocol, or shorter than a host), and the
// announce table's routes of every length (a range is announced as its prefix).
struct RouteTables {
    std::uint32_t announce = 0;  // 0: none
    bool ranges = false;
    // The NAT reply path's table (1-252): its default routes are read (as GatewayRoute),
    // and the policy rules of the agent's protocol. 0: none.
    std::uint32_t nat = 0;
    bool wanted(std::uint32_t table) const {
        return table == kMainTable || (announce != 0 && table == announce) || (ranges && table == kLocalTable);
    }
    bool operator==(const RouteTables&) const = default;
};

struct Link {
    int ifindex = 0;
    std::string name;
    bool up = false;
    bool loopback = false;
    unsigned mtu = 0;  // 0: not known (taken as 1500)
};

struct InterfaceAddress {
    int ifindex = 0;
    IpAddress address;
    int prefixlen = 0;
};

// A host route (full-length destination) in one of the RouteTables; with ranges, also a
// range's local route in table local and its prefix route in the announce table.
struct HostRoute {
    IpAddress dst;
    std::uint32_t table = kMainTable;
    int protocol = 0;
    int oif = 0;  // first nexthop's interface; 0 for blackhole and the like
    std::uint32_t metric = 0;  // RTA_PRIORITY
    int dstLen = -1;           // the destination's prefix length; -1: the host prefix
    int type = kUnicast;       // rtm_type: kUnicast, or kLocalType in table local

    int length() const { return dstLen < 0 ? dst.hostPrefix() : dstLen; }
};

// A policy rule of a NAT reply path: `from SRC ipproto P sport N lookup TABLE`, at a
// priority, marked with a protocol (kRouteProtocol: the agent's).
struct Rule {
    IpAddress src;  // a host prefix
    int ipProto = 0;  // IPPROTO_TCP, IPPROTO_UDP
    int sport = 0;
    std::uint32_t table = 0;
    std::uint32_t priority = 0;
    int protocol = 0;

    auto operator<=>(const Rule&) const = default;
};
// "from 198.51.100.10 ipproto tcp sport 80 lookup 201 priority 1000"
std::string describe(const Rule& r);

// A default route via a gateway in the NAT table (`default via GW dev IF table T`).
struct GatewayRoute {
    IpAddress gateway;
    int ifindex = 0;
    std::uint32_t table = 0;
    int protocol = 0;

    auto operator<=>(const GatewayRoute&) const = default;
};

struct KernelState {
    std::vector<Link> links;
    std::vector<InterfaceAddress> addresses;
    std::vector<HostRoute> routes;  // only full-length destinations in the RouteTables
    // Routes of any length in the announce table that the agent did not add (a table
    // another program uses): how many, and the first one ("10.0.0.0/8 proto 4").
    std::size_t foreignInAnnounce = 0;
    std::string foreignExample;
    // The gateways of table main's routes (a range must not cover one), at the dump.
    std::vector<IpAddress> gateways;
    // With a NAT table: the policy rules that look it up or carry the agent's protocol,
    // and the default routes in it.
    std::vector<Rule> rules;
    std::vector<GatewayRoute> gatewayRoutes;
};

struct NetError {
    int code = 0;  // a libnl NLE_* code (positive), 0 when not from libnl
    int err = 0;   // the kernel's errno for a refused change, 0 otherwise
    std::string message;
};

using NetStatus = std::expected<void, NetError>;

// What a successful change did. An add of what already exists and a delete of what is
// gone succeed as AlreadyDone: the caller did not make that state, so it must neither
// record it as its own nor roll it back.
enum class Effect { Changed, AlreadyDone };
using NetResult = std::expected<Effect, NetError>;

// One change. Every kind is idempotent: adding what exists and deleting what is gone
// succeed. Addresses use the host prefix (/32, /128; IPv6 without DAD); routes are host
// routes via ifindex marked kRouteProtocol, and only those are deleted: in table main
// (the VIP's host route, scope link for IPv4) or in the announce table (scope global,
// with a metric, for a routing daemon to learn).
//
// A range's local route (AddLocalRoute, DeleteLocalRoute): `address`/`prefixLen` type local
// dev lo in table local, marked kRouteProtocol (ip route add local PREFIX dev lo table local).
//
// NAT (AddRule, DeleteRule): `rule`, marked kRouteProtocol. AddGatewayRoute,
// DeleteGatewayRoute: `default via gateway dev ifindex table table proto 177`.
struct NetOp {
    enum class Kind { AddAddress, DeleteAddress, AddRoute, DeleteRoute, LinkUp, LinkDown, AddLocalRoute, DeleteLocalRoute,
                      AddRule, DeleteRule, AddGatewayRoute, DeleteGatewayRoute };
    Kind kind = Kind::AddAddress;
    int ifindex = 0;
    IpAddress address;   // unused for LinkUp/LinkDown
    std::string ifname;  // the link's name, for messages only ("lo")
    std::uint32_t table = kMainTable;  // AddRoute, DeleteRoute
    std::uint32_t metric = 0;          // AddRoute, DeleteRoute
    int prefixLen = -1;  // local routes, and a range's announce route; -1: the host prefix
    Rule rule{};               // AddRule, DeleteRule
    IpAddress gateway{};       // AddGatewayRoute, DeleteGatewayRoute

    bool nat() const { return kind == Kind::AddRule || kind == Kind::DeleteRule || kind == Kind::AddGatewayRoute || kind == Kind::DeleteGatewayRoute; }
    GatewayRoute gatewayRoute() const { return {.gateway = gateway, .ifindex = ifindex, .table = table, .protocol = kRouteProtocol}; }
    bool announce() const { return (kind == Kind::AddRoute || kind == Kind::DeleteRoute) && table != kMainTable; }
    bool localRoute() const { return kind == Kind::AddLocalRoute || kind == Kind::DeleteLocalRoute; }
    std::string cidr() const { return address.cidr(prefixLen); }

    bool operator==(const NetOp&) const = default;
};

// "add 198.51.100.1/32 to lo", "add route 198.51.100.1/32 dev lo table main", "bring lo up"
std::string describe(const NetOp& op);
// "added 198.51.100.1/32 to lo", ...
std::string pastTense(const NetOp& op);
// The change that undoes op.
NetOp inverse(const NetOp& op);
// The route a route op (AddRoute, DeleteRoute, AddLocalRoute, DeleteLocalRoute) adds or
// deletes, as a dump shows it: the agent's protocol, its table, type, length and metric.
HostRoute routeOf(const NetOp& op);

class Netlink {
public:
    virtual ~Netlink() = default;
    // Links, addresses, and the host routes of `tables` (only those tables are dumped).
    virtual std::expected<KernelState, NetError> dump(const RouteTables& tables) = 0;
    // Applies ops in order. Returns one result per op attempted: every op up to the
    // first failure, and possibly some after it (the kernel implementation sends ops in
    // batches); ops past the returned size were not attempted.
    virtual std::vector<NetResult> apply(const std::vector<NetOp>& ops) = 0;
    // The kernel's route for a reply from src (ipProto, sport) to dst: lookupPath() below.
    virtual std::expected<struct PathAnswer, NetError> lookup(const IpAddress& src, const IpAddress& dst, int ipProto, int sport);
    // One neighbour entry, and the agent's changes to one: netcfg/neighbour.h.
    virtual std::expected<std::optional<Neighbour>, NetError> neighbour(int ifindex, const IpAddress& ip);
    virtual std::expected<void, NetError> changeNeighbour(int ifindex, const IpAddress& ip, NeighbourChange what, const Neighbour& now);
};

// The kernel's answer to a route lookup for a reply: from src, with this protocol and
// source port, to dst (RTM_GETROUTE with RTA_SRC, RTA_IP_PROTO, RTA_SPORT: what the policy
// rules match on).
struct PathAnswer {
    IpAddress gateway;  // family 0: none (a connected destination)
    int oif = 0;
    std::uint32_t table = 0;
    bool operator==(const PathAnswer&) const = default;
};
std::expected<PathAnswer, NetError> lookupPath(const IpAddress& src, const IpAddress& dst, int ipProto, int sport);

// Opens a NETLINK_ROUTE socket in the calling process's network namespace.
std::expected<std::unique_ptr<Netlink>, NetError> openKernelNetlink();

}  // namespace netcfg
