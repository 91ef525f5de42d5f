#include "agent/executor.h"

#include <vector>

namespace agent {
namespace {

using Kind = netcfg::NetOp::Kind;

// The netlink operation of an action, or nullopt for a sysctl write.
std::optional<netcfg::NetOp> netOpOf(const Action& action) {
    return std::visit(
        [](const auto& x) -> std::optional<netcfg::NetOp> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, SetSysctl>) return std::nullopt;
            if constexpr (std::is_same_v<T, BringLinkUp>)
                return netcfg::NetOp{.kind = x.up ? Kind::LinkUp : Kind::LinkDown, .ifindex = x.ifindex, .address = {}};
            if constexpr (std::is_same_v<T, AddAddress>) return netcfg::NetOp{.kind = Kind::AddAddress, .ifindex = x.ifindex, .address = x.vip};
            if constexpr (std::is_same_v<T, DeleteAddress>) return netcfg::NetOp{.kind = Kind::DeleteAddress, .ifindex = x.ifindex, .address = x.vip};
            if constexpr (std::is_same_v<T, AddRoute>) return netcfg::NetOp{.kind = Kind::AddRoute, .ifindex = x.ifindex, .address = x.vip};
            if constexpr (std::is_same_v<T, DeleteRoute>) return netcfg::NetOp{.kind = Kind::DeleteRoute, .ifindex = x.ifindex, .address = x.vip};
        },
        action);
}

}  // namespace

std::expected<void, std::string> Executor::run(const Action& action) const {
    if (auto op = netOpOf(action)) {
        auto results = netlink.apply({*op});
        if (results.empty()) return std::unexpected("not attempted");
        if (!results[0]) return std::unexpected(results[0].error().message);
        return {};
    }
    const auto& set = std::get<SetSysctl>(action);
    if (auto w = sysctls.write(set.key, set.to); !w) return std::unexpected(w.error().message);
    return {};
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
    std::optional<std::string> failure;
    const auto& actions = plan.actions;
    for (std::size_t i = 0; i < actions.size() && !failure;) {
        // A run of consecutive netlink actions goes to the kernel as one batch.
        std::vector<netcfg::NetOp> ops;
        std::size_t end = i;
        for (; end < actions.size(); ++end) {
            auto op = netOpOf(actions[end]);
            if (!op) break;
            ops.push_back(*op);
        }
        if (ops.empty()) {
            if (auto r = run(actions[i]); !r)
                failure = describe(actions[i]) + " failed: " + r.error();
            else
                done.push_back(&actions[i]);
            if (!failure && log) log(pastTense(actions[i]));
            ++i;
            continue;
        }
        const auto results = netlink.apply(ops);
        for (std::size_t k = 0; k < results.size(); ++k) {
            const Action& a = actions[i + k];
            if (results[k]) {
                done.push_back(&a);
                if (log) log(pastTense(a));
            } else if (!failure) {
                failure = describe(a) + " failed: " + results[k].error().message;
            }
        }
        if (!failure && results.size() < ops.size()) failure = describe(actions[i + results.size()]) + " was not attempted";
        i = end;
    }
    if (failure) {
        if (log) log(*failure + "; rolling back");
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
        return std::unexpected(*failure);
    }
    if (auto s = stateFile.save(plan.ownedAfter); !s) {
        owned = during;  // the file still says `during`: a superset, safe for stop
        return std::unexpected("applied, but " + s.error());
    }
    owned = plan.ownedAfter;
    return {};
}

}  // namespace agent
