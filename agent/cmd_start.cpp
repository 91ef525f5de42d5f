#include <chrono>
#include <cstdio>

#include "agent/commands.h"
#include "agent/config.h"
#include "agent/lock.h"
#include "agent/log.h"
#include "agent/session.h"

namespace agent {

std::optional<Config> loadOrReport(const Options& o) {
    try {
        return loadConfig(o.config, o.vips);
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
        return p->conflicts.empty() ? kOk : kUsage;
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
    Owned& owned = locked->owned;
    const auto result = session->converge(desired, owned, logInfo);
    if (!result.ok()) return result.logFailure();
    std::fflush(stderr);  // the change lines first, then the summary
    const std::size_t n = desired.vips.size();
    std::printf("%zu VIP%s in place%s\n", n, n == 1 ? "" : "s",
                result.changes == 0 ? ", nothing changed" : (", " + std::to_string(result.changes) + " change" + (result.changes == 1 ? "" : "s")).c_str());
    return kOk;
}

}  // namespace agent
