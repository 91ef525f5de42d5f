#include <chrono>
#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/base/log.h"
#include "agent/reconcile/session.h"

namespace agent {

std::optional<Config> loadOrReport(const Options& o) {
    try {
        return loadConfig(o.config, o.vips, o.configDir);
    } catch (const ConfigError& e) {
        for (const auto& p : e.problems()) logError(p);
        logError("configuration rejected; nothing was changed");
        return std::nullopt;
    }
}

int runStart(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    const Desired desired = desiredFrom(*cfg);
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError(session.error());
        return kFailed;
    }
    if (o.dryRun) {
        auto p = session->dryRun(desired);
        if (!p) {
            logError(p.error());
            return kFailed;
        }
        printPlan(*p);
        return p->hasConflicts() ? kUsage : kOk;
    }
    if (auto d = ensureStateDir(o.stateDir); !d) {
        logError(d.error());
        return kFailed;
    }
    auto locked = session->lockAndLoad(std::chrono::seconds(30));
    if (!locked) {
        logError(locked.error());
        return kFailed;
    }
    auto reconciler = session->reconciler(std::move(locked->owned), desired);
    const auto result = reconciler.converge(logInfo, Reconciler::Verify::Dump);
    if (!result.ok()) return reportFailure(result);
    std::fflush(stderr);  // the change lines first, then the summary
    const std::size_t n = desired.vips.size();
    std::printf("%zu VIP%s in place%s\n", n, n == 1 ? "" : "s",
                result.changes == 0 ? ", nothing changed" : (", " + std::to_string(result.changes) + " change" + (result.changes == 1 ? "" : "s")).c_str());
    return kOk;
}

}  // namespace agent
