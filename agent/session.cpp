#include "agent/session.h"

#include <cstdio>

#include "agent/cli.h"
#include "agent/log.h"

namespace agent {

Session::Session(std::unique_ptr<netcfg::Netlink> nl, std::string stateDir)
    : netlink_(std::move(nl)), stateFile_(std::move(stateDir)) {}

std::expected<Session, std::string> Session::open(const std::string& stateDir) {
    auto nl = netcfg::openKernelNetlink();
    if (!nl) return std::unexpected(nl.error().message);
    return Session(std::move(*nl), stateDir);
}

Session::PassResult Session::converge(const Desired& desired, Owned& owned, LogLine log) {
    PassResult result;
    auto failed = [&](std::string why) {
        result.error = std::move(why);
        return result;
    };
    auto observed = observe(desired, owned);
    if (!observed) return failed("reading the kernel state: " + observed.error());
    const Plan p = plan(desired, *observed, owned);
    if (!p.conflicts.empty()) {
        result.conflicts = p.conflicts;
        return result;
    }
    if (auto applied = executor(log).apply(p, owned); !applied)
        return failed(applied.error() + "; what this run changed was rolled back");
    result.changes = static_cast<int>(p.actions.size());

    auto again = observe(desired, owned);
    if (!again) return failed("verifying: " + again.error());
    const Plan check = plan(desired, *again, owned);
    if (!check.empty()) {
        std::string left;
        for (const auto& a : check.actions) left += (left.empty() ? "" : "; ") + describe(a);
        for (const auto& c : check.conflicts) left += (left.empty() ? "" : "; ") + c;
        result.error = "verification failed: the kernel still needs: " + left;
        result.drifted = true;
    }
    return result;
}

int Session::PassResult::logFailure() const {
    for (const auto& c : conflicts) logError(c);
    if (!conflicts.empty()) {
        logError("refused; nothing was changed");
        return kUsage;
    }
    logError(error);
    return kFailed;
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
    for (const auto& c : p.conflicts) std::printf("conflict: %s\n", c.c_str());
    if (p.actions.empty() && p.conflicts.empty()) std::printf("nothing to do: already in place\n");
    for (const auto& a : p.actions) std::printf("would %s\n", describe(a).c_str());
}

}  // namespace agent
