#pragma once
// Whether each NAT director is reachable, kept known with no traffic flowing: the agent
// keeps the director's neighbour entry managed (NTF_EXT_MANAGED: the kernel keeps it
// resolved, Linux 5.16+) and, once nothing has confirmed it for a second, has the kernel
// verify it (NUD_PROBE: unicast ARP or NDP probes a second apart). A director that has not
// answered for kUnreachableAfter seconds (or whose entry failed) is unreachable: its NAT
// VIPs are not ready. The managed refresh alone notices a dead neighbour only after its
// reachable time (15 to 45 s); the probes bring that under 5 s. Everything goes through
// rtnetlink (CAP_NET_ADMIN): no raw socket, no CAP_NET_RAW.
//
// A static entry (PERMANENT, NOARP: set by hand) is left alone and counts as reachable.
// A change of the director's MAC (a VRRP failover to the other director) is logged and
// counted.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/reconcile/state_model.h"
#include "netcfg/netlink.h"

namespace agent {

struct DirectorStatus {
    enum class Reach { Unknown, Reachable, Unreachable };
    enum class Role { Nat, Peer };  // a NAT director, or a two-box peer director
    netcfg::IpAddress director;
    Role role = Role::Nat;
    int ifindex = 0;          // the link facing it (0: no address of this host on its subnet)
    std::string iface{};
    Reach reach = Reach::Unknown;
    std::string why{};        // Unknown, Unreachable: in words
    std::string mac{};        // the last one known
    std::string neighbourState{};  // "reachable", "stale", ... ("" : no entry)
    bool managed = false;     // the kernel keeps the entry resolved (NTF_EXT_MANAGED)
    bool isStatic = false;    // PERMANENT or NOARP: left alone
    double confirmedAgo = -1; // seconds since it last answered (-1: unknown)
    std::uint64_t macChanges = 0;
    std::uint64_t probes = 0;  // verifications asked of the kernel
    bool reachable() const { return reach == Reach::Reachable; }
    bool operator==(const DirectorStatus&) const = default;
};

class DirectorWatch {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr double kProbeAfter = 1.0;        // seconds without a confirmation before a probe
    static constexpr double kUnreachableAfter = 3.0;  // ... before the director counts as unreachable

    // The directors of `desired`: the NAT directors and the two-box peers (each on the link
    // of this host's address facing it). Those no longer wanted are released.
    void follow(netcfg::Netlink& nl, const Desired& desired, const KernelView& k);
    // Reads each entry, keeps it resolved and probes it when due. Returns the lines to log
    // (a MAC change, reachable again, unreachable and why).
    std::vector<std::string> step(netcfg::Netlink& nl, Clock::time_point now);
    // Lets every entry the agent made managed go back to a plain dynamic one (exit, stop).
    void release(netcfg::Netlink& nl);
    const std::vector<DirectorStatus>& status() const { return status_; }
    const DirectorStatus* find(int family) const;  // the NAT director of a family

private:
    struct Memory {
        std::optional<Clock::time_point> unresolvedSince;
        std::optional<Clock::time_point> lastProbe;
        int manages = 0;          // Manage requests sent
        bool managedSeen = false;  // the kernel has shown the flag (it has managed entries)
        std::optional<Clock::time_point> lastManage;
    };
    std::vector<DirectorStatus> status_;
    std::vector<Memory> memory_;
    std::vector<std::string> lastLogged_;  // per director: "reachable", or the unreachable reason last logged
};

// An entry the agent made managed: a plain dynamic one again (nothing if not managed, static
// or gone).
void releaseManagedNeighbour(netcfg::Netlink& nl, int ifindex, const netcfg::IpAddress& ip);

// One read of a director's entry for `status` and `doctor` (nothing changed): its state in
// words. nullopt when there is no link facing it.
std::optional<DirectorStatus> lookAtDirector(netcfg::Netlink& nl, const KernelView& k, const netcfg::IpAddress& director);

}  // namespace agent
