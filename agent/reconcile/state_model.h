#pragma once
// Desired and observed state: the two inputs of the planner besides what the agent owns.
// The kernel side is a KernelView: built from one full dump, then kept current change by
// change from rtnetlink notifications (the daemon's mirror), with lookups by address.
#include <expected>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "agent/config/config.h"
#include "agent/reconcile/state_file.h"
#include "tunnel/tunnel_driver.h"
#include "netcfg/events.h"
#include "netcfg/netlink.h"
#include "netcfg/nftables.h"
#include "sysctl/sysctl.h"

namespace agent {

// The tunnel decapsulation wanted: the program on these interfaces' hooks, its maps
// holding `maps` (the VIPs, the directors, the settings).
struct TunnelDesired {
    std::vector<std::string> interfaces;
    tunnel::TunnelMaps maps;
    // Not 0: maps.settings.mss is derived from the smallest MTU of the interfaces, less
    // this (the encapsulation's headers and TCP/IP's own).
    int mssOverhead = 0;
    bool operator==(const TunnelDesired&) const = default;
};

// The NAT reply paths wanted: per director (one per family), `default via DIRECTOR` in
// `table` and a rule per port from this server's address on the director's subnet.
struct NatDesired {
    std::vector<netcfg::IpAddress> directors;
    std::vector<std::pair<int, int>> ports;  // (IPPROTO_TCP or IPPROTO_UDP, port)
    std::uint32_t table = 0;
    std::uint32_t priority = 0;
    const netcfg::IpAddress* director(int family) const { return netcfg::ofFamily(directors, family); }
    bool operator==(const NatDesired&) const = default;
};

// The two-box marks wanted (colocated): the mark on packets for these VIPs and ports whose
// Ethernet source is no peer director's.
struct ColocatedDesired {
    std::uint32_t mark = 0;
    std::vector<netcfg::IpAddress> vips;
    std::vector<std::pair<int, int>> ports;  // (IPPROTO_TCP or IPPROTO_UDP, port)
    std::vector<netcfg::IpAddress> peers;
    std::vector<std::pair<netcfg::IpAddress, int>> ranges{};  // VIP ranges (network, length)
    bool operator==(const ColocatedDesired&) const = default;
};

struct Desired {
    std::vector<netcfg::IpAddress> vips;  // in configuration order
    std::set<netcfg::IpAddress> wanted;   // the same, for lookups
    // The VIPs that are ranges (network address -> length): one local route in table
    // local each, no address and no host route.
    std::map<netcfg::IpAddress, int> ranges;
    bool hostRoutes = true;
    std::map<sysctl::ConfKey, int> sysctls;  // exact values to hold
    // Sysctls the agent changed but `sysctls` does not name stay as they are (instead of
    // going back to their originals): `start --vip` and `stop --vip` touch VIPs only.
    bool holdOwnedSysctls = false;

    // The announce table: for each VIP in `announced` (the daemon's: ready, not drained,
    // not opted out), VIP dev lo proto 177 with `metric` in table `announceTable`.
    std::uint32_t announceTable = 0;  // 0: none; every announce route the agent owns goes
    std::uint32_t announceMetric = 0;
    std::set<netcfg::IpAddress> announceable{};  // the VIPs that may be announced
    std::set<netcfg::IpAddress> announced{};     // those to be announced now
    // Which VIPs are ready is not known yet (start, `start`, `stop --vip`): the announce
    // routes the agent owns for wanted VIPs stay as they are, none is added.
    bool holdAnnounced = true;

    // nullopt: no tunnel; the agent's filters go (unless held).
    std::optional<TunnelDesired> tunnel{};
    // `start --vip`, `stop --vip`: the agent's tunnel filters and maps stay as they are.
    bool holdTunnel = false;

    // nullopt: no NAT reply path; the agent's rules and routes go (unless held).
    std::optional<NatDesired> nat{};
    // `start --vip`, `stop --vip`: the agent's NAT rules and routes stay as they are.
    bool holdNat = false;

    // nullopt: no two-box marks; the agent's table goes (unless held).
    std::optional<ColocatedDesired> colocated{};
    bool holdMarks = false;  // `start --vip`, `stop --vip`: the table stays as it is

    netcfg::RouteTables tables() const {
        return {.announce = announceTable, .ranges = !ranges.empty(), .nat = nat ? nat->table : 0};
    }
    int rangeLength(const netcfg::IpAddress& vip) const {
        const auto it = ranges.find(vip);
        return it == ranges.end() ? -1 : it->second;
    }
};

// The tables a full look needs: the desired ones, and table local while the agent still
// owns a range's local route there (to remove it).
netcfg::RouteTables tablesFor(const Desired& desired, const Owned& owned);

Desired desiredFrom(const Config& cfg);
Desired nothingDesired();
// The VIPs the agent owns something of (the address or the host route it added).
std::set<netcfg::IpAddress> ownedVips(const Owned& owned);
// `start --vip`: these VIPs on top of every VIP the agent already owns; nothing removed,
// and the ARP settings it changed before stay as they are.
Desired addedTo(Desired d, const Owned& owned);
// `stop --vip`: every VIP the agent owns but `drop`, and the ARP settings held as they
// are; nothing at all (every original restored) once no VIP of the agent's is left.
Desired ownedWithout(const Owned& owned, const std::set<netcfg::IpAddress>& drop);

inline const std::vector<std::string> kArpKeys{"arp_ignore", "arp_announce"};

// What the kernel holds of what the agent cares about: links, addresses and host routes
// in table main, indexed by address. Every update says whether it changed anything, so
// the agent's own changes, confirmed by their acks, are no-ops when their notification
// arrives.
class KernelView {
public:
    KernelView() = default;
    explicit KernelView(const netcfg::KernelState& k);

    // Returns true when the view changed.
    bool apply(const netcfg::Change& c);
    bool add(const netcfg::InterfaceAddress& a);
    bool remove(const netcfg::InterfaceAddress& a);
    bool add(const netcfg::HostRoute& r);
    bool remove(const netcfg::HostRoute& r);
    bool setLink(const netcfg::Link& l);
    bool removeLink(int ifindex);

    int loIndex() const { return loIndex_; }  // 0: no loopback link
    bool loUp() const;
    const netcfg::Link* link(int ifindex) const;
    std::string linkName(int ifindex) const;
    const std::map<int, netcfg::Link>& links() const { return links_; }

    // VIP/hostPrefix on ifindex.
    bool hasAddress(int ifindex, const netcfg::IpAddress& ip) const;
    // A host route for ip via ifindex in table main, whoever added it.
    bool hasRouteVia(int ifindex, const netcfg::IpAddress& ip) const;
    bool hasOwnRoute(int ifindex, const netcfg::IpAddress& ip) const;
    // ip's routes in another table (the announce table).
    std::vector<netcfg::HostRoute> routesIn(std::uint32_t table, const netcfg::IpAddress& ip) const;
    // Local routes in table local for ip/len via ifindex: anyone's, or the agent's only.
    bool hasLocalRoute(int ifindex, const netcfg::IpAddress& ip, int len) const;
    bool hasOwnLocalRoute(int ifindex, const netcfg::IpAddress& ip, int len) const;
    // The addresses of any link inside ip/len.
    std::vector<netcfg::InterfaceAddress> addressesWithin(const netcfg::IpAddress& ip, int len) const;
    // Table main's gateways, at the last dump.
    const std::vector<netcfg::IpAddress>& gateways() const { return gateways_; }
    // Routes of any length in the announce table the agent did not add, at the last dump.
    std::size_t foreignInAnnounce() const { return foreignInAnnounce_; }
    const std::string& foreignExample() const { return foreignExample_; }
    const netcfg::Link* linkNamed(const std::string& name) const;
    std::vector<netcfg::InterfaceAddress> addressesOf(const netcfg::IpAddress& ip) const;
    std::vector<netcfg::HostRoute> routesTo(const netcfg::IpAddress& ip) const;  // in table main
    std::vector<netcfg::InterfaceAddress> addressesOn(int ifindex) const;
    std::size_t addressCount() const { return addresses_.size(); }
    std::size_t routeCount() const { return routes_.size(); }
    std::size_t localRouteCount() const { return local_.size(); }

    // NAT: the policy rules and the NAT table's default routes (as the dump and the
    // notifications of RouteTables::nat give them).
    bool add(const netcfg::Rule& r) { return rules_.insert(r).second; }
    bool remove(const netcfg::Rule& r) { return rules_.erase(r) > 0; }
    // A table holds one default route per family: a new one replaced the one before
    // (`ip route replace` announces only the new route).
    bool add(const netcfg::GatewayRoute& r) {
        std::erase_if(gatewayRoutes_, [&](const netcfg::GatewayRoute& g) {
            return g.table == r.table && g.gateway.family == r.gateway.family && g != r;
        });
        return gatewayRoutes_.insert(r).second;
    }
    bool remove(const netcfg::GatewayRoute& r) { return gatewayRoutes_.erase(r) > 0; }
    const std::set<netcfg::Rule>& rules() const { return rules_; }
    const std::set<netcfg::GatewayRoute>& gatewayRoutes() const { return gatewayRoutes_; }
    // The address of a link other than lo whose subnet holds ip (the longest such prefix):
    // this server's address facing the NAT director (its RIP).
    std::optional<netcfg::InterfaceAddress> addressFacing(const netcfg::IpAddress& ip) const;

private:
    std::set<netcfg::Rule> rules_;
    std::set<netcfg::GatewayRoute> gatewayRoutes_;
    void findLoopback();
    std::map<int, netcfg::Link> links_;
    std::multimap<netcfg::IpAddress, netcfg::InterfaceAddress> addresses_;
    std::multimap<netcfg::IpAddress, netcfg::HostRoute> routes_;
    std::multimap<netcfg::IpAddress, netcfg::HostRoute> local_;  // table local's (ranges)
    std::vector<netcfg::IpAddress> gateways_;
    int loIndex_ = 0;
    std::size_t foreignInAnnounce_ = 0;
    std::string foreignExample_;
};

// The tunnel's program and hooks as the driver reports them.
struct TunnelObserved {
    std::string refused;  // the program could not be loaded: the kernel's answer
    std::optional<tunnel::TunnelMaps> maps;  // of the program held (nullopt: none)
    std::map<std::string, tunnel::TunnelHook> hooks;  // by interface name, those that exist
    bool operator==(const TunnelObserved&) const = default;
};

// A NAT port's reply path as the kernel's own lookup answers it (RTM_GETROUTE from the
// RIP with the port's protocol and source port to a client address off this server's
// subnets), or why it could not be asked.
struct NatPath {
    netcfg::IpAddress src;
    netcfg::PathAnswer answer{};
    std::string error{};
    bool operator==(const NatPath&) const = default;
};
using NatPathKey = std::tuple<int, int, int>;  // family, IPPROTO_TCP or IPPROTO_UDP, port

// The two-box marks as found: the agent's nftables table, and each peer director's MAC in
// the neighbour table (its entry on the link facing it; "" : not known).
struct MarksObserved {
    std::optional<netcfg::MarkTableSeen> table{};
    std::string error{};  // nftables could not be asked: nothing is planned for the marks
    std::map<netcfg::IpAddress, std::string> peerMacs{};
    bool operator==(const MarksObserved&) const = default;
};

struct Observed {
    KernelView kernel;
    MarksObserved marks{};
    std::map<NatPathKey, NatPath> natPaths{};  // asked at each tick while a NAT reply path is wanted
    TunnelObserved tunnel;
    std::map<sysctl::ConfKey, int> sysctls;                       // values read
    std::map<sysctl::ConfKey, sysctl::SysctlError> sysctlErrors;  // keys that could not be read
};

// The sysctl keys a plan and a report need: the desired and owned keys, and arp_* of "all".
std::set<sysctl::ConfKey> sysctlKeys(const Desired& desired, const Owned& owned);
// Whether keys is sysctlKeys(desired, owned), without building it.
bool sameSysctlKeys(const std::set<sysctl::ConfKey>& keys, const Desired& desired, const Owned& owned);
// Records one key's value or error in observed; true when what is recorded changed.
bool recordSysctl(const sysctl::ConfKey& key, const std::expected<int, sysctl::SysctlError>& v, Observed& observed);
inline bool readSysctl(const sysctl::SysctlTree& tree, const sysctl::ConfKey& key, Observed& observed) {
    return recordSysctl(key, tree.read(key), observed);
}

// The interfaces whose tunnel hooks matter: the desired and the owned ones.
std::set<std::string> tunnelInterfaces(const Desired& desired, const Owned& owned);
// Asks the driver (holding the program first when a tunnel is desired) about the
// interfaces of `kernel`; with no driver, a desired tunnel is refused.
// With mayLoad false (status, dry runs) only a program that runs is taken up.
TunnelObserved observeTunnel(tunnel::TunnelDriver* driver, const KernelView& kernel, const Desired& desired,
                             const Owned& owned, bool mayLoad = true);

// A client address off every subnet of this server, for the reply path's lookup (a
// documentation address; the first that no local prefix holds).
std::optional<netcfg::IpAddress> clientProbe(const KernelView& k, int family);
// Each NAT port's reply path, as the kernel's own lookup answers it now.
std::map<NatPathKey, NatPath> lookupNatPaths(netcfg::Netlink& nl, const KernelView& k, const Desired& desired);

// The marks' table (through `driver`, when the marks are desired or owned) and the peers' MACs.
// The marks' table alone, into m (its table, or the error).
void readMarkTable(netcfg::MarksDriver* driver, MarksObserved& m);
// The table the configuration and the peers' MACs make: no rule (and an empty peer set)
// while any peer's MAC is unknown.
netcfg::MarkSpec wantedMarks(const ColocatedDesired& want, const MarksObserved& observed);
MarksObserved observeMarks(netcfg::Netlink& nl, netcfg::MarksDriver* driver, const KernelView& k, const Desired& desired,
                           const Owned& owned);

// Dumps the kernel once and reads the sysctls the plan and the report need (and the
// tunnel's hooks and maps, through `tunnel`; the marks' table through `marks`).
std::expected<Observed, std::string> observe(netcfg::Netlink& nl, const sysctl::SysctlTree& tree,
                                             const Desired& desired, const Owned& owned,
                                             tunnel::TunnelDriver* tunnel = nullptr, bool mayLoad = true,
                                             netcfg::MarksDriver* marks = nullptr);

}  // namespace agent
