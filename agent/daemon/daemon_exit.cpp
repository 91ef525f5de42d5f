// The daemon's end: SIGTERM is a stop (Draining: not ready, VIPs kept, until the drain
// ends; then Exiting: everything undone) or, when systemd restarts the unit, a hand-over
// (HandingOver: nothing drained or undone). A restarted process adopts what the previous
// one handed over.
#include "agent/base/clock.h"
#include "agent/base/log.h"
#include "agent/daemon/daemon.h"
#include "agent/daemon/exit_decision.h"
#include "agent/daemon/systemd_job.h"
#include "agent/reconcile/report.h"

namespace agent {
void Daemon::adopt(const Handover& h) {
    const double now = nowUnix();
    if (h.draining) state_.serverDrain = startDrain(now);
    std::vector<std::pair<std::string, bool>> drains;
    for (const auto& v : h.drainedVips) drains.emplace_back(v, true);
    state_.drained.apply(drains, reconciler_->desired().wanted, now, [this](double t) { return startDrain(t); });
    // Up before a restart: up now, until `fall` failures say otherwise; down: checked
    // down (not "not checked yet").
    for (const auto& [name, up] : h.servicesUp) {
        ServiceStatus st;
        st.checked = true;
        st.up = up;
        servicesHandedOver_[name] = st;
    }
    std::size_t up = 0;
    for (const auto& [name, u] : h.servicesUp) up += u ? 1 : 0;
    logInfo("taking over from the previous process: " + std::to_string(up) + " service check(s) up" +
            (h.draining ? ", the whole server drained" : "") +
            (state_.drained.empty() ? "" : ", " + std::to_string(state_.drained.size()) + " VIP(s) drained"));
}

void Daemon::beginExit() {
    if (!cfg_.keepOnExit) {
        ExitEvidence evidence;
        if (auto job = pendingJobType(std::chrono::seconds(1)))
            evidence.jobType = *job;
        else
            evidence.jobError = job.error();
        evidence.markerAgeSeconds = takeRestartMarker(options_.stateDir, nowUnix());
        ExitDecision d = decideExit(evidence);
        // A next process that will refuse its configuration would leave the VIPs with
        // nobody to watch them or report readiness: then this is a stop after all.
        if (d.handOver && options_.configPath) try {
                (void)loadConfig(options_.configPath, options_.cliVips, options_.configDir);
            } catch (const ConfigError& e) {
                d = {.handOver = false,
                     .why = d.why + "; but the configuration does not load (" + (e.problems().empty() ? std::string("invalid") : e.problems().front()) +
                            "), so the next process would not start: stopping instead"};
            }
        if (d.handOver) return handOver(d.why);
        logInfo("stop: " + d.why);
    }
    state_.phase = Phase::Draining;
    // A drain of the whole server already under way (drain, drain --wait) is the stop's.
    if (!state_.serverDrain) state_.serverDrain = startDrain(nowUnix());
    logInfo("stopping: draining until no connection is left on the VIPs (at least " + std::to_string(cfg_.drain.minSeconds) +
            " s, at most " + std::to_string(cfg_.drain.maxSeconds) + " s), then " +
            (cfg_.keepOnExit ? "leaving everything in place (keep_on_exit)" : "undoing everything"));
    notifier_.stopping("draining before exit");
    extendStopTimeout(Clock::now());
    publish();
    progressDrains();
}

// A restart: nothing drained, nothing undone; what the next process needs beyond the
// kernel and the state file goes to handover.json. The API's listening sockets stay open
// in systemd's store, so polls arriving meanwhile wait for the next process.
void Daemon::handOver(const std::string& why) {
    Handover h{.writtenAtUnix = nowUnix(), .servicesUp = {}, .draining = state_.serverDrained(), .drainedVips = state_.drained.names()};
    state_.phase = Phase::HandingOver;
    if (checker_)
        for (const auto& sv : checker_->statuses()) h.servicesUp[sv.check.name()] = sv.up;
    if (auto w = writeHandover(options_.stateDir, h); !w)
        logWarning("writing the hand-over: " + w.error() + "; the next process starts its checks afresh");
    logInfo("restart: " + why + ": handing over to the next process; the VIPs, routes and ARP settings stay in place and readiness is not withdrawn");
    notifier_.stopping("handing over to the next process (restart)");
}

// However long the drain is, systemd must not kill the agent at TimeoutStopSec in the
// middle of it (the VIPs and ARP settings would stay behind): while stopping, it is told
// every few seconds how long the rest of the drain and the undo still take.
void Daemon::extendStopTimeout(Clock::time_point now) {
    extendedAt_ = now;
    const double left = state_.serverDrain ? std::max(0.0, state_.serverDrain->deadlineUnix - nowUnix()) : 0.0;
    const auto drainLeft = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(left));
    // undoing: a few seconds at 10,000 VIPs (bench/apply); generous, as the kernel may be busy
    const auto undo = std::chrono::seconds(30) + std::chrono::milliseconds(cfg_.vips.size());
    notifier_.extendTimeout(std::chrono::duration_cast<std::chrono::microseconds>(drainLeft + undo + kExtendEvery));
}

Daemon::Exit Daemon::finish() {
    Exit rc = Exit::Ok;
    if (state_.phase == Phase::HandingOver) {
        if (http_) http_->quiesce(std::chrono::milliseconds(500));
        logInfo("handed over: everything stays in place for the next process");
    } else if (cfg_.keepOnExit) {
        logInfo("keep_on_exit: VIPs and ARP settings stay in place");
    } else {
        directors_.release(session_.netlink());  // the NAT directors' entries: plain dynamic ones again
        reconciler_->setDesired(nothingDesired());
        const auto r = reconciler_->converge([](const std::string& l) { logInfo(l); }, Reconciler::Verify::Acks);
        if (!r.ok()) {
            logError("undoing at exit failed");
            for (const auto& c : r.conflicts) logError(describe(c));
            if (!r.error.empty()) logError(r.error);
            rc = r.outcome == Reconciler::PassResult::Outcome::Refused ? Exit::Refused : Exit::Failed;
        }
    }
    http_.reset();
    agentCheck_.reset();
    control_.reset();
    // Done as it should: no dead daemon's state for `status` to report.
    if (rc == Exit::Ok) clearDaemonMarker(options_.stateDir);
    logInfo("stopped");
    return rc;
}

}  // namespace agent
