// Reload (SIGHUP, `lvs-rs-agent reload`): the configuration read again and applied whole,
// or refused with the running one left in force. What a reload may change, and how, is
// agent/config/config_reload's to say (planReload).
#include "agent/base/clock.h"
#include "agent/base/log.h"
#include "agent/config/config_reload.h"
#include "agent/reconcile/report.h"
#include "agent/daemon/daemon.h"
#include "api/readiness.h"

namespace agent {

void Daemon::reload(std::uint64_t ticket) {
    notifier_.reloading();
    ++state_.reloads;
    // The outcome, published once at the end with the ticket it answers, then READY=1.
    auto done = [&](bool ok, std::string what) {
        state_.lastReloadOk = ok;
        state_.lastReload = std::move(what);
        state_.reloadServed = ticket;
        publish();
        notifier_.ready(api::statusLine(*store_.get()));
    };
    if (!options_.configPath) {
        logWarning("reload: started with --vip only, there is no configuration file to read again, ignoring");
        return done(true, "nothing to reload: started with --vip only");
    }
    Config next;
    try {
        next = loadConfig(options_.configPath, options_.cliVips, options_.configDir);
    } catch (const ConfigError& e) {
        const auto& problems = e.problems();
        for (const auto& p : problems) logError(p);
        logError("reload rejected; the running configuration stays in force");
        return done(false, "reload rejected, the previous configuration stays in force: " +
                               (problems.empty() ? std::string("invalid configuration") : problems.front()) +
                               (problems.size() > 1 ? " (+" + std::to_string(problems.size() - 1) + " more)" : ""));
    }
    // What start would refuse, a reload refuses too, with nothing changed (an interface in
    // arp.interfaces or tunnel.interfaces that does not exist, a VIP on a real interface).
    {
        Config wouldServe = next;
        for (const auto& v : retiring_)
            if (std::none_of(next.vips.begin(), next.vips.end(), [&](const Vip& n) { return n.address == v.address; }))
                wouldServe.vips.push_back(v);
        const auto conflicts = reconciler_->newConflicts(reconciler_->preview(desiredFrom(wouldServe)));
        if (!conflicts.empty()) {
            for (const auto& c : conflicts) logError(describe(c));
            logError("reload rejected: start would refuse this configuration; the running configuration stays in force");
            return done(false, "reload rejected, nothing changed: " + describe(conflicts.front()) +
                                   (conflicts.size() > 1 ? " (+" + std::to_string(conflicts.size() - 1) + " more)" : ""));
        }
    }
    const auto changes = describeChanges(cfg_, next);
    for (const auto& c : changes) logInfo("reload: " + c);
    // What a reload cannot change: said in the reply and the log, the rest applied.
    ReloadPlan plan = planReload(cfg_, std::move(next));
    std::string notApplied = plan.notApplied;
    if (plan.apiChanged) {
        if (auto r = rebindApi(plan.applied.api); !r) {
            notApplied = r.error();
            logWarning("reload partly applied: " + notApplied);
            keepListeners(plan.applied.api, cfg_.api);
        }
    }
    if (http_) http_->setToken(plan.applied.api.token);
    if (plan.servicesChanged) {
        // By identity (type, VIP, port, path): a check whose other settings changed keeps its
        // state (a healthy node stays in rotation); a new one is not checked yet.
        std::map<std::string, ServiceStatus> previous;
        if (checker_)
            for (auto& st : checker_->statuses()) previous.emplace(st.check.name(), std::move(st));
        checker_.reset();
        checker_ = std::make_unique<ServiceChecker>(plan.applied.services, [this] { wake(); }, previous);
    }
    if (plan.intervalChanged) armTimer(plan.applied.checkIntervalMs);
    if (plan.tableChanged) {  // the new table is looked at whole; the old one's routes go by their records
        events_->watch(desiredFrom(plan.applied).tables());
        resyncPending_ = true;
    }
    const auto lines = state_.drained.carryOver(cfg_, plan.applied, nowUnix(), [this](double now) { return startDrain(now); },
                                                retirementDrains_);
    for (const auto& l : lines) logLine(l.priority, l.text);
    const Config before = std::move(cfg_);
    cfg_ = std::move(plan.applied);
    retireRemoved(before, cfg_);
    const Config serving = served();
    reconciler_->setDesired(desiredFrom(serving));
    logInfo("configuration reloaded from " + cfg_.source + ": " + std::to_string(cfg_.vips.size()) + " VIP(s)" +
            (notApplied.empty() ? "" : " (partly: see above)"));
    pass(true);
    board_.rebuild(serving, *reconciler_);
    progressDrains();
    state_.lastReloadSuccessUnix = nowUnix();
    std::string what;
    for (const auto& c : changes) what += "; " + c;
    done(true, "reloaded " + cfg_.source + ": " + std::to_string(cfg_.vips.size()) + " VIP(s)" + (changes.empty() ? "; no changes" : what) +
                   (notApplied.empty() ? "" : "; not applied: " + notApplied));
}

}  // namespace agent
