#pragma once
// The narrow rtnetlink interface the agent needs: one dump of links, addresses and host
// routes, and idempotent add/delete operations. A libnl implementation talks to the
// kernel; FakeNetlink (fake_netlink.h) keeps the same state in memory for unit tests.
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "netcfg/ip_address.h"

namespace netcfg {

// The agent's own route protocol id (rtm_protocol). Unassigned in iproute2's rt_protos;
// systemd/ ships an rt_protos.d entry naming it "lvs-rs-agent". Like keepalived's
// RTPROT_KEEPALIVED it marks the routes the agent added, so it never deletes another's.
constexpr int kRouteProtocol = 177;
constexpr std::uint32_t kMainTable = 254;  // RT_TABLE_MAIN

struct Link {
    int ifindex = 0;
    std::string name;
    bool up = false;
    bool loopback = false;
};

struct InterfaceAddress {
    int ifindex = 0;
    IpAddress address;
    int prefixlen = 0;
};

// A host route (full-length destination) in any table.
struct HostRoute {
    IpAddress dst;
    std::uint32_t table = kMainTable;
    int protocol = 0;
    int oif = 0;  // first nexthop's interface; 0 for blackhole and the like
};

struct KernelState {
    std::vector<Link> links;
    std::vector<InterfaceAddress> addresses;
    std::vector<HostRoute> routes;  // only full-length destinations in table main
};

struct NetError {
    int code = 0;  // a libnl NLE_* code (positive), 0 when not from libnl
    std::string message;
};

using NetStatus = std::expected<void, NetError>;

class Netlink {
public:
    virtual ~Netlink() = default;
    virtual std::expected<KernelState, NetError> dump() = 0;
    // Each operation is idempotent: adding what exists and deleting what is gone succeed.
    virtual NetStatus addAddress(int ifindex, const IpAddress& address) = 0;     // host prefix
    virtual NetStatus deleteAddress(int ifindex, const IpAddress& address) = 0;  // host prefix
    // A route to the host address via ifindex in table main, marked kRouteProtocol.
    virtual NetStatus addHostRoute(int ifindex, const IpAddress& dst) = 0;
    // Deletes only the route marked kRouteProtocol.
    virtual NetStatus deleteHostRoute(int ifindex, const IpAddress& dst) = 0;
    virtual NetStatus setLinkUp(int ifindex, bool up) = 0;
};

// Opens a NETLINK_ROUTE socket in the calling process's network namespace.
std::expected<std::unique_ptr<Netlink>, NetError> openKernelNetlink();

}  // namespace netcfg
