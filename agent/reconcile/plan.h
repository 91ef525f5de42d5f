#pragma once
// plan(desired, observed, owned) -> actions and findings: a pure function, tested table
// by table without root. "Nothing to do" is an empty plan. It plans everything (start,
// stop, a full resync) or only the items an event touched (the daemon's repairs).
#include <set>
#include <string>
#include <vector>

#include "agent/reconcile/action.h"
#include "agent/reconcile/finding.h"
#include "agent/reconcile/ownership.h"
#include "agent/reconcile/state_file.h"
#include "agent/reconcile/state_model.h"

namespace agent {

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

}  // namespace agent
