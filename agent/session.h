#pragma once
// What every command that reads or changes the kernel shares: the netlink socket, the
// sysctl tree, the state file, and the observe-plan-apply-verify pass.
#include <chrono>
#include <expected>
#include <memory>
#include <string>

#include "agent/executor.h"
#include "agent/lock.h"
#include "agent/plan.h"
#include "agent/state_file.h"
#include "agent/state_model.h"

namespace agent {

class Session {
public:
    static std::expected<Session, std::string> open(const std::string& stateDir);

    netcfg::Netlink& netlink() { return *netlink_; }
    const sysctl::SysctlTree& sysctls() const { return sysctls_; }
    const StateFile& stateFile() const { return stateFile_; }

    std::expected<Observed, std::string> observe(const Desired& d, const Owned& owned) {
        return agent::observe(*netlink_, sysctls_, d, owned);
    }
    Executor executor(LogLine log) { return Executor{*netlink_, sysctls_, stateFile_, std::move(log)}; }

    struct PassResult {
        int changes = 0;
        std::string error;                   // empty on success
        std::vector<std::string> conflicts;  // refused before any change
        bool drifted = false;                // applied, but the re-read found something undone meanwhile
        bool ok() const { return error.empty() && conflicts.empty(); }
        // Logs the failure; returns the exit code (2 for a conflict, 1 otherwise).
        int logFailure() const;
    };
    // Observe, plan, apply, then observe and plan again: success means the second plan
    // is empty. The caller holds the lock.
    PassResult converge(const Desired& desired, Owned& owned, LogLine log);
    // Takes the state-dir lock (waiting up to `wait`), then reads what the agent owns.
    struct Locked {
        DirLock lock;
        Owned owned;
    };
    std::expected<Locked, std::string> lockAndLoad(std::chrono::milliseconds wait);
    // The plan against the live kernel and the state file, changing nothing (--dry-run).
    std::expected<Plan, std::string> dryRun(const Desired& desired);

private:
    Session(std::unique_ptr<netcfg::Netlink> nl, std::string stateDir);
    std::unique_ptr<netcfg::Netlink> netlink_;
    sysctl::SysctlTree sysctls_;
    StateFile stateFile_;
};

void printPlan(const Plan& p);

}  // namespace agent
