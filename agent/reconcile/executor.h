#pragma once
// Applies actions through netlink and /proc/sys, in two ways:
//  - transact (start, stop, the daemon's first pass and its exit): the state file is
//    written first with everything the run may add (a crash leaves nothing unowned),
//    then each action runs in order; if one fails, what this run changed is undone in
//    reverse and the state file goes back to what it said before. Only what this run
//    made is undone: an add the kernel answered "already there" is not this run's.
//  - applyEach (the daemon's repairs): every action on its own; what succeeds stays,
//    what fails is reported for that action alone, nothing is rolled back.
#include <expected>
#include <functional>
#include <string>
#include <vector>

#include "agent/reconcile/plan.h"
#include "agent/reconcile/state_file.h"
#include "netcfg/nftables.h"
#include "tunnel/tunnel_driver.h"
#include "netcfg/netlink.h"
#include "sysctl/sysctl.h"

namespace agent {

using LogLine = std::function<void(const std::string&)>;

struct ActionError {
    int err = 0;  // errno when known
    std::string message;
};
using ActionResult = std::expected<netcfg::Effect, ActionError>;

struct Executor {
    netcfg::Netlink& netlink;
    const sysctl::SysctlTree& sysctls;
    const StateFile& stateFile;
    LogLine log;  // one line per change and per rollback step
    tunnel::TunnelDriver* tunnel = nullptr;  // the tunnel's actions go through it
    netcfg::MarksDriver* marks = nullptr;    // and the two-box marks' through this

    // On success `owned` records what the plan did. On failure it is what the kernel
    // still holds of the agent's (normally what it was before), and the error names
    // the action.
    std::expected<void, std::string> transact(const Plan& plan, Owned& owned) const;

    // One result per action, in order. `owned` (what the state file says on entry) and
    // the state file follow what succeeded; the file is written only when ownership
    // changes, first with what the adds may create. A state file that cannot be written
    // stops the adds that would need it (reported as their failure).
    std::vector<ActionResult> applyEach(const std::vector<Action>& actions, Owned& owned) const;

    ActionResult run(const Action& action) const;
    // Every action in order, runs of netlink actions in batches: one result per action
    // attempted (with stopAtFailure, none after the first failure).
    std::vector<ActionResult> runAll(const std::vector<Action>& actions, bool stopAtFailure) const;
};

}  // namespace agent
