#include "netcfg/netlink.h"

namespace netcfg {

std::string describe(const NetOp& op) {
    switch (op.kind) {
        case NetOp::Kind::AddAddress: return "add " + op.address.hostCidr();
        case NetOp::Kind::DeleteAddress: return "delete " + op.address.hostCidr();
        case NetOp::Kind::AddRoute: return "add route " + op.address.hostCidr();
        case NetOp::Kind::DeleteRoute: return "delete route " + op.address.hostCidr();
        case NetOp::Kind::LinkUp: return "link up " + std::to_string(op.ifindex);
        case NetOp::Kind::LinkDown: return "link down " + std::to_string(op.ifindex);
    }
    return "?";
}

}  // namespace netcfg
