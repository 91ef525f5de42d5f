#include "agent/daemon/daemon_state.h"

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
