#pragma once
// What every command that reads or changes the kernel shares: the netlink socket, the
// sysctl tree, the state file, and the observe-plan-apply-verify pass.
#include <chrono>
#include <expected>
#include <memory>
#include <string>

#include "agent/executor.h"
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
        std::string error;        // empty on success
        bool conflict = false;    // refused before any change
    };
    // Observe, plan, apply, then observe and plan again: success means the second plan
    // is empty. The caller holds the lock.
    PassResult converge(const Desired& desired, Owned& owned, LogLine log);

private:
    Session(std::unique_ptr<netcfg::Netlink> nl, std::string stateDir);
    std::unique_ptr<netcfg::Netlink> netlink_;
    sysctl::SysctlTree sysctls_;
    StateFile stateFile_;
};

void printPlan(const Plan& p);

}  // namespace agent
