#include "agent/executor.h"

#include <vector>

namespace agent {
namespace {

template <class R>
std::expected<void, std::string> asStatus(const R& r) {
    if (r) return {};
    return std::unexpected(r.error().message);
}

}  // namespace

std::expected<void, std::string> Executor::run(const Action& action) const {
    return std::visit(
        [&](const auto& x) -> std::expected<void, std::string> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, SetSysctl>) return asStatus(sysctls.write(x.key, x.to));
            if constexpr (std::is_same_v<T, BringLinkUp>) return asStatus(netlink.setLinkUp(x.ifindex, x.up));
            if constexpr (std::is_same_v<T, AddAddress>) return asStatus(netlink.addAddress(x.ifindex, x.vip));
            if constexpr (std::is_same_v<T, DeleteAddress>) return asStatus(netlink.deleteAddress(x.ifindex, x.vip));
            if constexpr (std::is_same_v<T, AddRoute>) return asStatus(netlink.addHostRoute(x.ifindex, x.vip));
            if constexpr (std::is_same_v<T, DeleteRoute>) return asStatus(netlink.deleteHostRoute(x.ifindex, x.vip));
        },
        action);
}

std::expected<void, std::string> Executor::apply(const Plan& plan, Owned& owned) const {
    if (plan.actions.empty()) {
        if (plan.ownedAfter != owned) {
            if (auto s = stateFile.save(plan.ownedAfter); !s) return s;
            owned = plan.ownedAfter;
        }
        return {};
    }
    const Owned before = owned;
    const Owned during = unite(before, plan.ownedAfter);
    if (auto s = stateFile.save(during); !s) return std::unexpected("not changing anything: " + s.error());

    std::vector<const Action*> done;
    for (const auto& action : plan.actions) {
        if (auto r = run(action); !r) {
            std::string error = describe(action) + " failed: " + r.error();
            if (log) log(error + "; rolling back");
            // Undo in reverse; whatever cannot be undone stays owned so stop can retry.
            Owned left = before;
            for (auto it = done.rbegin(); it != done.rend(); ++it) {
                const Action undo = inverse(**it);
                if (auto u = run(undo); u) {
                    if (log) log("rolled back: " + pastTense(undo));
                } else {
                    if (log) log("rollback failed: " + describe(undo) + ": " + u.error());
                    left = unite(left, during);
                }
            }
            if (auto s = stateFile.save(left); !s && log) log("cannot write the state file: " + s.error());
            owned = left;
            return std::unexpected(error);
        }
        if (log) log(pastTense(action));
        done.push_back(&action);
    }
    if (auto s = stateFile.save(plan.ownedAfter); !s) {
        owned = during;  // the file still says `during`: a superset, safe for stop
        return std::unexpected("applied, but " + s.error());
    }
    owned = plan.ownedAfter;
    return {};
}

}  // namespace agent
