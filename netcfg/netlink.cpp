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

std::string describe(const NetOp& op) {
    switch (op.kind) {
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
    }
    return undo;
}

}  // namespace netcfg
