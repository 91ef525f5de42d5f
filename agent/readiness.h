#pragma once
// Turns the report of a reconcile pass, the service checks and the daemon's own state
// into the snapshot the API serves. Pure: tested without a kernel.
#include <deque>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/report.h"
#include "agent/service_check.h"
#include "api/snapshot.h"

namespace agent {

struct DriftEvent {
    double atUnix = 0;
    std::string what;  // "added 198.51.100.188/32 to lo"
};

struct DaemonState {
    bool converged = false;
    bool draining = false;
    bool exiting = false;
    std::vector<std::string> conflicts;  // why the desired state cannot be reached
    std::string error;                    // the last pass's failure, if any
    bool fighting = false;
    std::vector<std::string> fightingWith;
    long long backoffMs = 0;
    std::map<std::string, std::uint64_t> repairs;
    std::uint64_t driftEvents = 0;
    std::deque<DriftEvent> recentDrift;  // newest last, at most kRecentDrift
    double lastReconcileSeconds = 0;
    double reconcileSecondsSum = 0;
    std::uint64_t reconcileCount = 0;
    double startedAtUnix = 0;
    static constexpr std::size_t kRecentDrift = 20;
};

api::Snapshot buildSnapshot(const Config& cfg, const ReadinessReport& report, const std::vector<ServiceStatus>& services,
                            const DaemonState& state, const std::string& version);

// "ready: 2 VIPs in place" / "not ready: ..." for systemd's STATUS=.
std::string statusLine(const api::Snapshot& s);

}  // namespace agent
