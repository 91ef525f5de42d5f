#pragma once
// An in-memory Netlink with the kernel's observable behaviour for what the agent does:
// an address on a link, a host route, a link flag. Unit tests inject failures by
// operation, so rollback and error paths are tested without root.
#include <functional>
#include <optional>
#include <string>

#include "netcfg/netlink.h"

namespace netcfg {

class FakeNetlink final : public Netlink {
public:
    FakeNetlink();  // starts with lo (ifindex 1, down) and eth0 (ifindex 2, up)

    KernelState state;
    // Called with describe(op) (or "dump"); a returned error fails that op.
    std::function<std::optional<NetError>(const std::string&)> failWhen;

    std::expected<KernelState, NetError> dump() override;
    std::vector<NetStatus> apply(const std::vector<NetOp>& ops) override;

private:
    NetStatus applyOne(const NetOp& op);
};

}  // namespace netcfg
