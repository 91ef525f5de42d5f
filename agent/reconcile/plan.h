#pragma once
// plan(desired, observed, owned) -> actions and findings: a pure function, tested table
// by table without root. "Nothing to do" is an empty plan. It plans everything (start,
// stop, a full resync) or only the items an event touched (the daemon's repairs).
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "agent/reconcile/finding.h"
#include "agent/reconcile/state_file.h"
#include "agent/reconcile/state_model.h"

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
    netcfg::TunnelMaps maps{};  // Sync: what the maps are to hold

    bool operator==(const TunnelOp&) const = default;
};

// A change: a sysctl write, a netlink operation (address, host route, link flag), or the
// tunnel's.
using Action = std::variant<SetSysctl, netcfg::NetOp, TunnelOp>;

// The subject an action changes (its item, for findings, backoff and counters).
Subject subjectOf(const Action& a);

// Ownership records with nothing left to undo in the kernel: dropped without an action.
struct Forget {
    std::set<netcfg::IpAddress> addresses;
    std::set<netcfg::IpAddress> routes;
    std::set<sysctl::ConfKey> sysctls;
    std::set<LocalRoute> localRoutes;
    std::set<std::string> tunnelHooks;
    bool empty() const {
        return addresses.empty() && routes.empty() && sysctls.empty() && localRoutes.empty() && tunnelHooks.empty();
    }
};

struct Plan {
    std::vector<Action> actions;
    // Everything not as desired, one finding each; the actions repair all but conflicts.
    std::vector<Finding> findings;
    Forget forget;

    bool hasConflicts() const;
    std::vector<Finding> conflicts() const;
    bool empty() const { return actions.empty() && !hasConflicts(); }
};

// Every item a full pass plans: the desired and owned settings, lo, the desired and owned
// VIPs (the daemon marks them all dirty for a resync; a full plan walks the same).
std::set<Subject> allSubjects(const Desired& desired, const Owned& owned);

// Order: ARP sysctls first (so the VIP is never bound while this host would answer ARP
// for it), lo up, addresses, routes; removals in reverse; sysctl restores last. With
// `only`, just those items are planned (the daemon's repair of what an event touched).
Plan plan(const Desired& desired, const Observed& observed, const Owned& owned,
          const std::set<Subject>* only = nullptr);

// Records in `owned` what a successful action did; returns true when `owned` changed.
// An add that found its object already there (AlreadyDone) was not made by the agent:
// it is not recorded, and so never removed by `stop` or a rollback.
bool recordEffect(Owned& owned, const Action& a, netcfg::Effect effect);
// Drops the records the plan found nothing left for; true when `owned` changed.
bool applyForget(Owned& owned, const Forget& f);
// What the agent may own once the plan has run (written before the first change, so a
// crash part-way leaves nothing unowned).
Owned mayOwnAfter(const Owned& owned, const Plan& p);

std::string describe(const Action& a);    // "add 198.51.100.188/32 to lo"
std::string pastTense(const Action& a);   // "added 198.51.100.188/32 to lo"
// The action that undoes a (rollback).
Action inverse(const Action& a);

}  // namespace agent
