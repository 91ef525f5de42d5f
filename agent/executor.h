#pragma once
// Applies a plan through netlink and /proc/sys. The state file is written first with
// everything the run may add (a crash leaves nothing unowned), then each action runs in
// order; if one fails, what this run changed is undone in reverse and the state file
// goes back to what it said before. One line per change goes to the log.
#include <expected>
#include <functional>
#include <string>

#include "agent/plan.h"
#include "agent/state_file.h"
#include "netcfg/netlink.h"
#include "sysctl/sysctl.h"

namespace agent {

using LogLine = std::function<void(const std::string&)>;

struct Executor {
    netcfg::Netlink& netlink;
    const sysctl::SysctlTree& sysctls;
    const StateFile& stateFile;
    LogLine log;

    // On success `owned` becomes plan.ownedAfter. On failure it is what the kernel still
    // holds of the agent's (normally what it was before), and the error names the action.
    std::expected<void, std::string> apply(const Plan& plan, Owned& owned) const;

    std::expected<void, std::string> run(const Action& action) const;
};

}  // namespace agent
