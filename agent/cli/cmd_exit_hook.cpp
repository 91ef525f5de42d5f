// `lvs-rs-agent exit-hook`: the unit's ExecStop=+ (root), run by systemd before it sends
// SIGTERM, for a stop and a restart alike. It tells the daemon which one this is through
// the hand-over marker (agent/daemon/exit_decision.h): the daemon runs as a dynamic user,
// which dbus-daemon does not let ask systemd itself (systemd#22737).
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "agent/base/text_file.h"
#include "agent/cli/commands.h"
#include "agent/daemon/exit_decision.h"
#include "agent/daemon/handover.h"
#include "agent/daemon/systemd_job.h"

namespace agent {

int runExitHook(const Options& o) {
    const auto marker = (std::filesystem::path(o.stateDir) / kRestartMarker).string();
    const auto job = pendingJobType(std::chrono::seconds(2));
    if (!job) {
        std::printf("exit-hook: cannot tell a restart from a stop (%s): no marker, the daemon decides on its own\n", job.error().c_str());
        return 0;
    }
    if (isRestartJob(*job)) {
        if (auto w = writeAtomically(marker, "job " + *job + "\n", 0600); !w) {
            std::printf("exit-hook: job %s, but the marker cannot be written (%s): the daemon will stop instead\n", job->c_str(), w.error().c_str());
            return 0;
        }
        std::printf("exit-hook: job %s: marked %s, the daemon hands over\n", job->c_str(), marker.c_str());
        return 0;
    }
    // A stop, or anything else: no marker may turn it into a hand-over.
    ::unlink(marker.c_str());
    std::printf("exit-hook: job %s: the daemon stops (drains, then undoes)\n", job->empty() ? "none" : job->c_str());
    return 0;
}

}  // namespace agent
