#pragma once
// Desired and observed state: the two inputs of the planner besides what the agent owns.
#include <expected>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/state_file.h"
#include "netcfg/netlink.h"
#include "sysctl/sysctl.h"

namespace agent {

struct Desired {
    std::vector<netcfg::IpAddress> vips;
    bool hostRoutes = true;
    std::map<sysctl::ConfKey, int> sysctls;  // exact values to hold
};

Desired desiredFrom(const Config& cfg);

inline const std::vector<std::string> kArpKeys{"arp_ignore", "arp_announce"};

struct Observed {
    netcfg::KernelState kernel;
    std::map<sysctl::ConfKey, int> sysctls;          // values read
    std::map<sysctl::ConfKey, sysctl::SysctlError> sysctlErrors;  // keys that could not be read
    int loIndex = 0;  // 0: no loopback link found
    bool loUp = false;

    const netcfg::Link* link(int ifindex) const;
    std::string linkName(int ifindex) const;
};

// Lookups by address into a kernel dump, built once per plan or report: with thousands
// of VIPs a scan of every address and route per VIP would dominate a pass.
class KernelIndex {
public:
    explicit KernelIndex(const netcfg::KernelState& k);
    // VIP/hostPrefix on ifindex.
    bool hasAddress(int ifindex, const netcfg::IpAddress& ip) const;
    // A host route for ip via ifindex in table main, whoever added it.
    bool hasRouteVia(int ifindex, const netcfg::IpAddress& ip) const;
    bool hasOwnRoute(int ifindex, const netcfg::IpAddress& ip) const;
    std::vector<netcfg::InterfaceAddress> addressesOf(const netcfg::IpAddress& ip) const;
    std::vector<netcfg::HostRoute> routesTo(const netcfg::IpAddress& ip) const;

private:
    std::multimap<netcfg::IpAddress, netcfg::InterfaceAddress> addresses_;
    std::multimap<netcfg::IpAddress, netcfg::HostRoute> routes_;
};

// Dumps the kernel once and reads the sysctls the plan and the report need: the desired
// and owned keys, and arp_* of "all" and of every configured interface.
std::expected<Observed, std::string> observe(netcfg::Netlink& nl, const sysctl::SysctlTree& tree,
                                             const Desired& desired, const Owned& owned);

}  // namespace agent
