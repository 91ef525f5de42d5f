#pragma once
// What the one-shot commands ask of a running daemon (`lvs-rs-agent run`) before they
// act: whether one owns the state dir, and its readiness (status).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace agent {

struct DaemonProbe {
    enum class State {
        None,     // no daemon owns this state dir
        Running,  // its control socket answered
        Dead,     // `run` owned it (STATE_DIR/daemon.pid) but nothing answers: killed or crashed
        NoPermission,  // the state dir is not this user's to look into: cannot tell
    };
    State state = State::None;
    std::optional<nlohmann::json> readiness;  // Running: the "readiness" reply (nullopt from an older daemon)
    std::string error;                        // Dead: why the socket did not answer
    long pid = 0;                             // from the reply, or the marker
};

DaemonProbe probeDaemon(const std::string& stateDir, int timeoutSeconds);

// start, stop and a second run: when a daemon answers on the state dir's control socket
// (within 1 s), why `command` is refused and what to do instead; nullopt otherwise.
std::optional<std::string> refusalWhileDaemonRuns(const std::string& stateDir, const std::string& command);

}  // namespace agent
