#include "netcfg/netlink.h"

namespace netcfg {
namespace {

std::string dev(const NetOp& op) { return op.ifname.empty() ? "if" + std::to_string(op.ifindex) : op.ifname; }

// "dev lo table main", "dev lo table 200 metric 10"
std::string where(const NetOp& op) {
    if (op.table == kMainTable) return " dev " + dev(op) + " table main";
    return " dev " + dev(op) + " table " + std::to_string(op.table) + (op.metric ? " metric " + std::to_string(op.metric) : "");
}

}  // namespace

std::expected<PathAnswer, NetError> Netlink::lookup(const IpAddress& src, const IpAddress& dst, int ipProto, int sport) {
    return lookupPath(src, dst, ipProto, sport);
}

std::expected<std::optional<Neighbour>, NetError> Netlink::neighbour(int ifindex, const IpAddress& ip) { return getNeighbour(ifindex, ip); }

std::expected<void, NetError> Netlink::changeNeighbour(int ifindex, const IpAddress& ip, NeighbourChange what, const Neighbour& now) {
    return netcfg::changeNeighbour(ifindex, ip, what, now);
}

std::string describe(const Rule& r) {
    return "from " + r.src.str() + " ipproto " + (r.ipProto == 17 ? "udp" : r.ipProto == 6 ? "tcp" : std::to_string(r.ipProto)) +
           " sport " + std::to_string(r.sport) + " lookup " + std::to_string(r.table) + " priority " + std::to_string(r.priority);
}

namespace {
std::string viaText(const NetOp& op) {
    return "default via " + op.gateway.str() + " dev " + dev(op) + " table " + std::to_string(op.table);
}
}  // namespace

std::string describe(const NetOp& op) {
    switch (op.kind) {
        case NetOp::Kind::AddRule: return "add rule " + describe(op.rule);
        case NetOp::Kind::DeleteRule: return "remove rule " + describe(op.rule);
        case NetOp::Kind::AddGatewayRoute: return "add route " + viaText(op);
        case NetOp::Kind::DeleteGatewayRoute: return "remove route " + viaText(op);
        case NetOp::Kind::AddAddress: return "add " + op.address.hostCidr() + " to " + dev(op);
        case NetOp::Kind::DeleteAddress: return "remove " + op.address.hostCidr() + " from " + dev(op);
        case NetOp::Kind::AddRoute: return "add route " + op.cidr() + where(op);
        case NetOp::Kind::DeleteRoute: return "remove route " + op.cidr() + where(op);
        case NetOp::Kind::AddLocalRoute: return "add local route " + op.cidr() + " dev " + dev(op) + " table local";
        case NetOp::Kind::DeleteLocalRoute: return "remove local route " + op.cidr() + " dev " + dev(op) + " table local";
        case NetOp::Kind::LinkUp: return "bring " + dev(op) + " up";
        case NetOp::Kind::LinkDown: return "bring " + dev(op) + " down";
    }
    return "?";
}

std::string pastTense(const NetOp& op) {
    switch (op.kind) {
        case NetOp::Kind::AddRule: return "added rule " + describe(op.rule);
        case NetOp::Kind::DeleteRule: return "removed rule " + describe(op.rule);
        case NetOp::Kind::AddGatewayRoute: return "added route " + viaText(op);
        case NetOp::Kind::DeleteGatewayRoute: return "removed route " + viaText(op);
        case NetOp::Kind::AddAddress: return "added " + op.address.hostCidr() + " to " + dev(op);
        case NetOp::Kind::DeleteAddress: return "removed " + op.address.hostCidr() + " from " + dev(op);
        case NetOp::Kind::AddRoute: return "added route " + op.cidr() + where(op);
        case NetOp::Kind::DeleteRoute: return "removed route " + op.cidr() + where(op);
        case NetOp::Kind::AddLocalRoute: return "added local route " + op.cidr() + " dev " + dev(op) + " table local";
        case NetOp::Kind::DeleteLocalRoute: return "removed local route " + op.cidr() + " dev " + dev(op) + " table local";
        case NetOp::Kind::LinkUp: return "brought " + dev(op) + " up";
        case NetOp::Kind::LinkDown: return "brought " + dev(op) + " down";
    }
    return "?";
}

HostRoute routeOf(const NetOp& op) {
    const bool local = op.localRoute();
    return HostRoute{.dst = op.address,
                     .table = local ? kLocalTable : op.table,
                     .protocol = kRouteProtocol,
                     .oif = op.ifindex,
                     .metric = op.announce() ? op.metric : 0,
                     .dstLen = op.prefixLen,
                     .type = local ? kLocalType : kUnicast};
}

NetOp inverse(const NetOp& op) {
    using K = NetOp::Kind;
    NetOp undo = op;
    switch (op.kind) {
        case K::AddAddress: undo.kind = K::DeleteAddress; break;
        case K::DeleteAddress: undo.kind = K::AddAddress; break;
        case K::AddRoute: undo.kind = K::DeleteRoute; break;
        case K::DeleteRoute: undo.kind = K::AddRoute; break;
        case K::LinkUp: undo.kind = K::LinkDown; break;
        case K::LinkDown: undo.kind = K::LinkUp; break;
        case K::AddLocalRoute: undo.kind = K::DeleteLocalRoute; break;
        case K::DeleteLocalRoute: undo.kind = K::AddLocalRoute; break;
        case K::AddRule: undo.kind = K::DeleteRule; break;
        case K::DeleteRule: undo.kind = K::AddRule; break;
        case K::AddGatewayRoute: undo.kind = K::DeleteGatewayRoute; break;
        case K::DeleteGatewayRoute: undo.kind = K::AddGatewayRoute; break;
    }
    return undo;
}

}  // namespace netcfg
