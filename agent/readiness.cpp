#include "agent/readiness.h"

#include <algorithm>

namespace agent {

api::Snapshot buildSnapshot(const Config& cfg, const ReadinessReport& report, const std::vector<ServiceStatus>& services,
                            const DaemonState& state, const std::string& version) {
    using nlohmann::json;
    api::Snapshot s;
    s.version = version;
    s.converged = state.converged;
    s.draining = state.draining;
    s.fighting = state.fighting;
    s.repairs = state.repairs;
    s.driftEvents = state.driftEvents;
    s.lastReconcileSeconds = state.lastReconcileSeconds;
    s.reconcileSecondsSum = state.reconcileSecondsSum;
    s.reconcileCount = state.reconcileCount;
    s.startedAtUnix = state.startedAtUnix;
    s.agentCheckWeight = cfg.api.agentCheckWeight;

    // Conditions shared by every VIP: lo, the ARP settings, conflicts, draining, start-up.
    std::vector<std::string> common;
    std::vector<std::string> vipProblems;
    for (const auto& v : report.vips) vipProblems.insert(vipProblems.end(), v.problems.begin(), v.problems.end());
    for (const auto& p : report.problems)
        if (std::find(vipProblems.begin(), vipProblems.end(), p) == vipProblems.end()) common.push_back(p);
    if (report.unknown) common.push_back("the kernel state could not be read");
    if (!state.converged) common.push_back("starting: the first reconcile has not completed");
    common.insert(common.end(), state.conflicts.begin(), state.conflicts.end());
    if (!state.error.empty()) common.push_back(state.error);
    if (state.draining) common.push_back(state.exiting ? "draining before exit" : "draining");

    for (const auto& sv : services) {
        api::ServiceReadiness r{.name = sv.check.name(),
                                .vip = sv.check.vip.str(),
                                .port = sv.check.port,
                                .type = sv.check.type == ServiceCheck::Type::Http ? "http" : "tcp",
                                .up = sv.up,
                                .lastError = sv.lastError};
        s.services.push_back(r);
    }
    auto serviceReasons = [&](const std::string& vip) {
        std::vector<std::string> out;
        for (const auto& sv : s.services)
            if (!sv.up && (vip.empty() || sv.vip == vip))
                out.push_back("service " + sv.name + " is down" + (sv.lastError.empty() ? "" : ": " + sv.lastError));
        return out;
    };

    for (const auto& v : report.vips) {
        api::VipReadiness r{.vip = v.vip.str(), .ready = false, .bound = v.bound, .reasons = v.problems};
        r.reasons.insert(r.reasons.end(), common.begin(), common.end());
        const auto down = serviceReasons(r.vip);
        r.reasons.insert(r.reasons.end(), down.begin(), down.end());
        r.ready = r.reasons.empty();
        s.vips.push_back(std::move(r));
    }
    s.reasons = vipProblems;
    s.reasons.insert(s.reasons.end(), common.begin(), common.end());
    const auto down = serviceReasons("");
    s.reasons.insert(s.reasons.end(), down.begin(), down.end());
    s.ready = s.reasons.empty();

    json services_ = json::array();
    for (const auto& sv : services)
        services_.push_back({{"name", sv.check.name()},
                             {"up", sv.up},
                             {"consecutive_successes", sv.successes},
                             {"consecutive_failures", sv.failures},
                             {"checks", sv.checks},
                             {"last_error", sv.lastError},
                             {"rise", sv.check.rise},
                             {"fall", sv.check.fall},
                             {"interval_ms", sv.check.intervalMs}});
    json drift = json::array();
    for (const auto& d : state.recentDrift) drift.push_back({{"at", d.atUnix}, {"what", d.what}});
    json vips = json::array();
    for (const auto& v : cfg.vips) vips.push_back(v.str());
    s.status = json{
        {"version", version},
        {"ready", s.ready},
        {"reasons", s.reasons},
        {"draining", s.draining},
        {"config",
         {{"source", cfg.source},
          {"vips", vips},
          {"arp", {{"ignore", cfg.arp.ignore}, {"announce", cfg.arp.announce}, {"interfaces", cfg.arp.interfaces}}},
          {"host_routes", cfg.hostRoutes},
          {"check_interval_ms", cfg.checkIntervalMs},
          {"drain_seconds", cfg.drainSeconds},
          {"keep_on_exit", cfg.keepOnExit}}},
        {"state", toJson(report)},
        {"services", services_},
        {"repairs", state.repairs},
        {"drift_events_total", state.driftEvents},
        {"recent_drift", drift},
        {"fighting", {{"active", state.fighting}, {"with", state.fightingWith}, {"backoff_ms", state.backoffMs}}},
        {"last_reconcile_seconds", state.lastReconcileSeconds},
    };
    return s;
}

std::string statusLine(const api::Snapshot& s) {
    if (s.ready) return "ready: " + std::to_string(s.vips.size()) + " VIP(s) in place";
    if (s.reasons.empty()) return "not ready";
    return "not ready: " + s.reasons.front() + (s.reasons.size() > 1 ? " (+" + std::to_string(s.reasons.size() - 1) + " more)" : "");
}

}  // namespace agent
