#include "agent/daemon/exit_decision.h"

#include <array>
#include <cmath>

namespace agent {

bool isRestartJob(const std::string& jobType) {
    static constexpr std::array<const char*, 4> kRestarts{"restart", "try-restart", "reload-or-restart", "reload-or-try-restart"};
    for (const char* r : kRestarts)
        if (jobType == r) return true;
    return false;
}

ExitDecision decideExit(const ExitEvidence& e) {
    if (e.jobType) {
        if (isRestartJob(*e.jobType)) return {.handOver = true, .why = "systemd is restarting the unit (job " + *e.jobType + ")"};
        if (*e.jobType == "stop") return {.handOver = false, .why = "systemd is stopping the unit (job stop)"};
    }
    const std::string job = e.jobType ? (e.jobType->empty() ? "no job pending for the unit" : "job " + *e.jobType)
                                      : "systemd's job unknown: " + (e.jobError.empty() ? std::string("not asked") : e.jobError);
    if (e.markerAgeSeconds) {
        const double age = *e.markerAgeSeconds;
        const std::string ago = std::to_string(static_cast<long long>(std::llround(age))) + " s ago";
        if (age >= -5 && age <= kMarkerFreshSeconds)  // a clock step of a few seconds is no reason to stop
            return {.handOver = true, .why = job + "; a hand-over marker written " + ago};
        return {.handOver = false, .why = job + "; the hand-over marker is stale (written " + ago + "), so this is a stop"};
    }
    return {.handOver = false, .why = job + "; no hand-over marker, so this is a stop"};
}

}  // namespace agent
