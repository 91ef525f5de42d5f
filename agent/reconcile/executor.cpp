#include "agent/reconcile/executor.h"

#include <algorithm>
#include <cerrno>

namespace agent {
namespace {

ActionError fromNet(const netcfg::NetError& e) { return ActionError{.err = e.err, .message = e.message}; }

}  // namespace

ActionResult Executor::run(const Action& action) const {
    if (const auto* op = std::get_if<netcfg::NetOp>(&action)) {
        auto results = netlink.apply({*op});
        if (results.empty()) return std::unexpected(ActionError{.err = 0, .message = "not attempted"});
        if (!results[0]) return std::unexpected(fromNet(results[0].error()));
        return *results[0];
    }
    if (const auto* t = std::get_if<TunnelOp>(&action)) {
        if (!tunnel) return std::unexpected(ActionError{.err = 0, .message = "this agent was built without tunnel decapsulation"});
        const netcfg::NetResult r = [&] {
            switch (t->kind) {
                case TunnelOp::Kind::Sync: return tunnel->sync(t->maps);
                case TunnelOp::Kind::Clsact: return tunnel->createClsact(t->ifindex);
                case TunnelOp::Kind::Attach: return tunnel->attach(t->ifindex);
                case TunnelOp::Kind::Detach: return tunnel->detach(t->ifindex, t->removeClsact);
            }
            return netcfg::NetResult(netcfg::Effect::AlreadyDone);
        }();
        if (!r) return std::unexpected(fromNet(r.error()));
        return *r;
    }
    if (const auto* m = std::get_if<MarksOp>(&action)) {
        if (!marks) return std::unexpected(ActionError{.err = 0, .message = "nftables is not open"});
        const auto r = m->kind == MarksOp::Kind::Apply   ? marks->apply(m->spec)
                       : m->kind == MarksOp::Kind::Peers ? marks->updatePeers(m->remove, m->add)
                                                         : marks->remove();
        if (!r) return std::unexpected(ActionError{.err = 0, .message = r.error()});
        return netcfg::Effect::Changed;
    }
    const auto& set = std::get<SetSysctl>(action);
    if (auto w = sysctls.write(set.key, set.to); !w)
        return std::unexpected(ActionError{.err = w.error().err, .message = w.error().message});
    return netcfg::Effect::Changed;
}

std::vector<ActionResult> Executor::runAll(const std::vector<Action>& actions, bool stopAtFailure) const {
    std::vector<ActionResult> results;
    results.reserve(actions.size());
    auto failed = [&] { return stopAtFailure && !results.empty() && !results.back(); };
    for (std::size_t i = 0; i < actions.size() && !failed();) {
        if (!std::holds_alternative<netcfg::NetOp>(actions[i])) {
            results.push_back(run(actions[i]));
            ++i;
            continue;
        }
        // A run of consecutive netlink actions goes to the kernel as one batch; the
        // kernel implementation stops after the batch holding a failure, so the rest
        // is sent again from there when every action must be tried.
        std::vector<netcfg::NetOp> ops;
        std::size_t end = i;
        for (; end < actions.size() && std::holds_alternative<netcfg::NetOp>(actions[end]); ++end)
            ops.push_back(std::get<netcfg::NetOp>(actions[end]));
        std::size_t from = 0;
        while (from < ops.size()) {
            const std::vector<netcfg::NetOp> rest(ops.begin() + static_cast<std::ptrdiff_t>(from), ops.end());
            auto r = netlink.apply(rest);
            if (r.empty()) {  // nothing attempted: report the first as failed and go on
                results.push_back(std::unexpected(ActionError{.err = 0, .message = "not attempted"}));
                ++from;
            }
            for (auto& x : r) results.push_back(x ? ActionResult(*x) : std::unexpected(fromNet(x.error())));
            from += r.size();
            if (failed()) break;
        }
        i = end;
    }
    return results;
}

std::expected<void, std::string> Executor::transact(const Plan& plan, Owned& owned) const {
    const Owned before = owned;
    if (plan.actions.empty()) {
        Owned after = owned;
        if (applyForget(after, plan.forget)) {
            if (auto s = stateFile.save(after); !s) return s;
            owned = after;
        }
        return {};
    }
    const Owned during = mayOwnAfter(before, plan.actions);
    if (auto s = stateFile.save(during); !s) return std::unexpected("not changing anything: " + s.error());

    const std::vector<ActionResult> results = runAll(plan.actions, true);
    std::optional<std::string> failure;
    for (std::size_t k = 0; k < results.size(); ++k) {
        if (results[k]) {
            if (log && *results[k] == netcfg::Effect::Changed) log(pastTense(plan.actions[k]));
        } else if (!failure) {
            const int err = results[k].error().err;
            failure = describe(plan.actions[k]) + " failed: " + results[k].error().message +
                      (err == EPERM || err == EACCES ? " (changing addresses, routes and ARP settings needs root, or CAP_NET_ADMIN)" : "");
        }
    }
    if (!failure && results.size() < plan.actions.size()) failure = describe(plan.actions[results.size()]) + " was not attempted";
    if (failure) {
        // The failure itself is the caller's error line; here only what is undone.
        const bool anyChanged = std::any_of(results.begin(), results.end(), [](const ActionResult& r) { return r && *r == netcfg::Effect::Changed; });
        if (log && anyChanged) log("rolling back what this run changed");
        // Undo in reverse what this run changed (never what was already there);
        // whatever cannot be undone stays owned so stop can retry.
        Owned left = before;
        for (std::size_t k = results.size(); k-- > 0;) {
            if (!results[k] || *results[k] != netcfg::Effect::Changed) continue;
            const Action undo = inverse(plan.actions[k]);
            if (auto u = run(undo); u) {
                if (log) log("rolled back: " + pastTense(undo));
            } else {
                if (log) log("rollback failed: " + describe(undo) + ": " + u.error().message);
                record(left, plan.actions[k], netcfg::Effect::Changed);
            }
        }
        if (auto s = stateFile.save(left); !s && log) log("cannot write the state file: " + s.error());
        owned = left;
        return std::unexpected(*failure);
    }
    Owned after = before;
    for (std::size_t k = 0; k < results.size(); ++k) record(after, plan.actions[k], *results[k]);
    applyForget(after, plan.forget);
    if (auto s = stateFile.save(after); !s) {
        owned = during;  // the file still says `during`: a superset, safe for stop
        return std::unexpected("applied, but " + s.error());
    }
    owned = after;
    return {};
}

std::vector<ActionResult> Executor::applyEach(const std::vector<Action>& actions, Owned& owned) const {
    std::vector<ActionResult> results;
    // Ownership first: what the adds may create must be on disk before the kernel has
    // it. A repair of what the agent already owns needs no write (the common case).
    std::vector<bool> needsRecord(actions.size(), false);
    bool anyRecord = false;
    Owned during = owned;
    for (std::size_t k = 0; k < actions.size(); ++k) {
        needsRecord[k] = record(during, actions[k], netcfg::Effect::Changed, Records::ClaimsOnly);
        anyRecord = anyRecord || needsRecord[k];
    }
    std::optional<std::string> cannotSave;
    if (anyRecord)
        if (auto s = stateFile.save(during); !s) cannotSave = s.error();
    if (cannotSave) {
        // Only what needs no new record may go ahead.
        std::vector<Action> safe;
        std::vector<std::size_t> index;
        for (std::size_t k = 0; k < actions.size(); ++k)
            if (!needsRecord[k]) {
                safe.push_back(actions[k]);
                index.push_back(k);
            }
        const std::vector<ActionResult> some = runAll(safe, false);
        results.assign(actions.size(),
                       std::unexpected(ActionError{.err = 0, .message = "cannot record it in the state file first: " + *cannotSave}));
        for (std::size_t j = 0; j < some.size(); ++j) results[index[j]] = some[j];
    } else {
        results = runAll(actions, false);
    }
    bool changed = false;
    for (std::size_t k = 0; k < results.size(); ++k)
        if (results[k]) changed |= record(owned, actions[k], *results[k]);
    if (changed || anyRecord) {
        if (auto s = stateFile.save(owned); !s && log)
            log("cannot write the state file: " + s.error() + "; it still lists what the agent may own, safe for stop");
    }
    return results;
}

}  // namespace agent
