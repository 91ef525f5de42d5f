#pragma once
// An in-memory Netlink with the kernel's observable behaviour for what the agent does:
// an address on a link, a host route, a link flag. Unit tests inject failures by
// operation, so rollback and error paths are tested without root.
#include <functional>
#include <string>

#include "netcfg/netlink.h"

namespace netcfg {

class FakeNetlink final : public Netlink {
public:
    FakeNetlink();  // starts with lo (ifindex 1, down) and eth0 (ifindex 2, up)

    KernelState state;
    int operations = 0;  // mutating calls made
    // Called with a description such as "add 198.51.100.1/32"; a returned error fails it.
    std::function<std::optional<NetError>(const std::string&)> failWhen;

    std::expected<KernelState, NetError> dump() override;
    NetStatus addAddress(int ifindex, const IpAddress& address) override;
    NetStatus deleteAddress(int ifindex, const IpAddress& address) override;
    NetStatus addHostRoute(int ifindex, const IpAddress& dst) override;
    NetStatus deleteHostRoute(int ifindex, const IpAddress& dst) override;
    NetStatus setLinkUp(int ifindex, bool up) override;

private:
    std::optional<NetError> injected(const std::string& what);
};

}  // namespace netcfg
