#include "agent/session.h"

#include <cstdio>

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
    auto observed = observe(desired, owned);
    if (!observed) return {.error = "reading the kernel state: " + observed.error()};
    const Plan p = plan(desired, *observed, owned);
    if (!p.conflicts.empty()) {
        std::string all;
        for (const auto& c : p.conflicts) all += (all.empty() ? "" : "\n") + c;
        return {.error = all, .conflict = true};
    }
    if (auto applied = executor(log).apply(p, owned); !applied)
        return {.changes = 0, .error = applied.error() + "; what this run changed was rolled back"};
    result.changes = static_cast<int>(p.actions.size());

    auto again = observe(desired, owned);
    if (!again) return {.changes = result.changes, .error = "verifying: " + again.error()};
    const Plan check = plan(desired, *again, owned);
    if (!check.empty()) {
        std::string left;
        for (const auto& a : check.actions) left += (left.empty() ? "" : "; ") + describe(a);
        for (const auto& c : check.conflicts) left += (left.empty() ? "" : "; ") + c;
        result.error = "verification failed: the kernel still needs: " + left;
    }
    return result;
}

void printPlan(const Plan& p) {
    for (const auto& c : p.conflicts) std::printf("conflict: %s\n", c.c_str());
    if (p.actions.empty() && p.conflicts.empty()) std::printf("nothing to do: already in place\n");
    for (const auto& a : p.actions) std::printf("would %s\n", describe(a).c_str());
}

}  // namespace agent
