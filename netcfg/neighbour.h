#pragma once
// One neighbour entry (ARP, NDP) as the kernel holds it, and the few changes the agent
// makes to one: keep it resolved (a managed entry, NTF_EXT_MANAGED, Linux 5.16+; the
// kernel then refreshes it with no traffic flowing), have it verified now (NUD_PROBE: the
// kernel sends its unicast probes and the entry fails when they go unanswered), and let it
// go. Single requests (RTM_GETNEIGH, RTM_NEWNEIGH) built with libnl's message API: libnl
// 3.7 has no managed flag and no single get.
#include <expected>
#include <optional>
#include <string>

#include "netcfg/ip_address.h"

namespace netcfg {

struct NetError;

struct Neighbour {
    int state = 0;              // NUD_*
    std::string mac{};          // "52:54:00:12:34:56"; empty: none known
    bool managed = false;       // NTF_EXT_MANAGED
    double confirmedAgo = 0;    // seconds since the neighbour last answered (or TCP confirmed it)
    // A MAC the kernel sends to (REACHABLE, STALE, DELAY, PROBE, and the static kinds).
    bool valid() const;
    // PERMANENT or NOARP: set by hand, never probed; the agent leaves it alone.
    bool isStatic() const;
    bool operator==(const Neighbour&) const = default;
};
// "reachable", "stale", "delay", "probe", "failed", "incomplete", "permanent", "noarp", "none"
std::string nudName(int state);

enum class NeighbourChange {
    Manage,   // create or keep, managed (NTF_USE too: resolved now; its state is left as it is)
    Probe,    // NUD_PROBE with its MAC: the kernel verifies it now (clears the managed flag)
    Release,  // a dynamic entry again (STALE with its MAC), or deleted when it has no MAC
};

// nullopt: no entry for ip on ifindex.
std::expected<std::optional<Neighbour>, NetError> getNeighbour(int ifindex, const IpAddress& ip);
std::expected<void, NetError> changeNeighbour(int ifindex, const IpAddress& ip, NeighbourChange what, const Neighbour& now);

}  // namespace netcfg
