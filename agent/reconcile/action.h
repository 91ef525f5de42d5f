#pragma once
// What the planner asks for and the executor does: one change each (a sysctl write, a
// netlink operation, a change of the tunnel's decapsulation), its subject, and its
// wording (the one place an action is put into words).
#include <set>
#include <string>
#include <variant>

#include "agent/reconcile/finding.h"
#include "netcfg/netlink.h"
#include "netcfg/nftables.h"
#include "sysctl/sysctl.h"
#include "tunnel/tunnel_driver.h"

namespace agent {

struct SetSysctl {
    sysctl::ConfKey key;
    int from = 0;
    int to = 0;
    bool restore = false;  // back to the value found before the agent first changed it

    bool operator==(const SetSysctl&) const = default;
};

// A change of the tunnel's decapsulation, through the TunnelDriver.
struct TunnelOp {
    // Clsact: a clsact qdisc where there is none (the agent's, to remove once empty).
    enum class Kind { Sync, Clsact, Attach, Detach };
    Kind kind = Kind::Sync;
    std::string iface{};  // Clsact, Attach, Detach
    int ifindex = 0;
    bool removeClsact = false;  // Detach: the agent created the clsact qdisc (it goes once empty)
    tunnel::TunnelMaps maps{};  // Sync: what the maps are to hold

    bool operator==(const TunnelOp&) const = default;
};

// A change of the two-box marks' nftables table, through the MarksDriver.
struct MarksOp {
    enum class Kind { Apply, Peers, Remove };  // Apply: the whole table (replaced); Peers: the peer set in place
    Kind kind = Kind::Apply;
    netcfg::MarkSpec spec{};                // Apply
    std::set<std::string> remove{}, add{};  // Peers

    bool operator==(const MarksOp&) const = default;
};

// A change: a sysctl write, a netlink operation (address, host route, link flag), the
// tunnel's, or the marks'.
using Action = std::variant<SetSysctl, netcfg::NetOp, TunnelOp, MarksOp>;

// The subject an action changes (its item, for findings, backoff and counters).
Subject subjectOf(const Action& a);

std::string describe(const Action& a);    // "add 198.51.100.188/32 to lo"
std::string pastTense(const Action& a);   // "added 198.51.100.188/32 to lo"
// The action that undoes a (rollback).
Action inverse(const Action& a);

}  // namespace agent
