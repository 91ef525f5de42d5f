#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/base/log.h"
#include "agent/reconcile/session.h"

namespace agent {

int runStop(const Options& o) {
    struct stat st {};
    if (::stat(o.stateDir.c_str(), &st) != 0) {
        std::printf("nothing to undo: the agent has not changed anything (no %s)\n", o.stateDir.c_str());
        return kOk;
    }
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError(session.error());
        return kFailed;
    }
    const Desired nothing = nothingDesired();
    if (o.dryRun) {
        auto p = session->dryRun(nothing);
        if (!p) {
            logError(p.error());
            return kFailed;
        }
        if (p->actions.empty()) std::printf("nothing to undo\n");
        for (const auto& a : p->actions) std::printf("would %s\n", describe(a).c_str());
        return kOk;
    }
    auto locked = session->lockAndLoad(std::chrono::seconds(30));
    if (!locked) {
        logError(locked.error());
        return kFailed;
    }
    if (locked->owned.empty()) {
        std::printf("nothing to undo: the agent owns nothing here\n");
        return kOk;
    }
    auto reconciler = session->reconciler(std::move(locked->owned), nothing);
    const auto result = reconciler.converge(logInfo, Reconciler::Verify::Dump);
    if (!result.ok()) return reportFailure(result);
    std::fflush(stderr);  // the change lines first, then the summary
    std::printf(result.changes == 0 ? "nothing left to undo\n" : "undone: %d change%s\n", result.changes,
                result.changes == 1 ? "" : "s");
    return kOk;
}

}  // namespace agent
