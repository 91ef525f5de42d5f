#include "agent/daemon/daemon_state.h"

#include <algorithm>

namespace agent {

const char* name(Phase p) {
    switch (p) {
        case Phase::Starting: return "starting";
        case Phase::Running: return "running";
        case Phase::Draining: return "draining";
        case Phase::Exiting: return "exiting";
        case Phase::HandingOver: return "handing over";
    }
    return "";
}

double drainPollSeconds(double lastCountSeconds) {
    constexpr double kFastest = 0.2, kSlowest = 2.0, kShareOfACore = 0.02;
    return std::clamp(lastCountSeconds / kShareOfACore, kFastest, kSlowest);
}

api::Lifecycle lifecycleOf(Phase p) {
    switch (p) {
        case Phase::Starting: return api::Lifecycle::Starting;
        case Phase::Running: return api::Lifecycle::Running;
        case Phase::Draining:
        case Phase::Exiting: return api::Lifecycle::Stopping;
        case Phase::HandingOver: return api::Lifecycle::HandingOver;
    }
    return api::Lifecycle::Running;
}

}  // namespace agent
