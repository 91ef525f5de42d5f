#include "agent/reconcile/session.h"

#include <cstdio>

#include "agent/base/log.h"

namespace agent {

Session::Session(std::unique_ptr<netcfg::Netlink> nl, std::string stateDir, sysctl::SysctlTree tree)
    : netlink_(std::move(nl)), sysctls_(std::move(tree)), stateFile_(std::move(stateDir)) {}

std::expected<Session, std::string> Session::open(const std::string& stateDir) {
    auto nl = netcfg::openKernelNetlink();
    if (!nl) return std::unexpected(nl.error().message);
    return Session(std::move(*nl), stateDir);
}

std::expected<Session::Locked, std::string> Session::lockAndLoad(std::chrono::milliseconds wait) {
    auto lock = DirLock::acquire(stateFile_.dir(), wait, logInfo);
    if (!lock) return std::unexpected(lock.error());
    if (auto torn = stateFile_.discardTornWrite(); !torn)
        return std::unexpected(torn.error());
    else if (*torn)
        logInfo("removed " + (stateFile_.dir() / "state.json.tmp").string() +
                ", left by a write that a crash cut short (nothing it lists was applied)");
    auto owned = stateFile_.load();
    if (!owned) return std::unexpected(owned.error());
    return Locked{.lock = std::move(*lock), .owned = std::move(*owned)};
}

std::expected<Plan, std::string> Session::dryRun(const Desired& desired) {
    auto owned = stateFile_.load();
    if (!owned) return std::unexpected(owned.error());
    auto observed = observe(desired, *owned);
    if (!observed) return std::unexpected(observed.error());
    return plan(desired, *observed, *owned);
}

void printPlan(const Plan& p) {
    for (const auto& c : p.conflicts()) std::printf("conflict: %s\n", describe(c).c_str());
    if (p.empty()) std::printf("nothing to do: already in place\n");
    for (const auto& a : p.actions) std::printf("would %s\n", describe(a).c_str());
}

}  // namespace agent
