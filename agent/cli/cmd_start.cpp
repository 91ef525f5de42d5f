#include <chrono>
#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/cli/daemon_client.h"
#include "agent/config/config.h"
#include "agent/base/log.h"
#include "agent/reconcile/session.h"

namespace agent {

std::optional<Config> loadOrReport(const Options& o, bool changes) {
    try {
        return loadConfig(o.config, o.vips, o.configDir, !o.offline);
    } catch (const ConfigError& e) {
        for (const auto& p : e.problems()) logError(p);
        logError(changes ? "configuration rejected; nothing was changed" : "configuration rejected");
        return std::nullopt;
    }
}

namespace {

// `start --vip` adds to what the agent owns; `start -c FILE` makes the file the truth.
bool additive(const Options& o) { return !o.config && !o.vips.empty(); }

// The VIPs the agent owns that `desired` no longer has: what a declarative start removes.
std::vector<std::string> dropped(const Desired& desired, const Owned& owned) {
    std::vector<std::string> out;
    for (const auto& vip : ownedVips(owned))
        if (!desired.wanted.contains(vip)) out.push_back(vip.str());
    return out;
}

}  // namespace

int runStart(const Options& o) {
    auto cfg = loadOrReport(o, true);
    if (!cfg) return kUsage;
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError(session.error());
        return kFailed;
    }
    if (o.dryRun) {
        auto owned = session->stateFile().load();
        if (!owned) {
            logError(owned.error());
            return kFailed;
        }
        const Desired desired = additive(o) ? addedTo(desiredFrom(*cfg), *owned) : desiredFrom(*cfg);
        auto p = session->dryRun(desired);
        if (!p) {
            logError(p.error());
            return kFailed;
        }
        printPlan(*p);
        if (const auto gone = dropped(desired, *owned); !gone.empty())
            std::printf("would remove %zu VIP(s) that %s no longer names: %s\n", gone.size(), cfg->source.c_str(),
                        summarise(gone, gone.size()).c_str());
        return p->hasConflicts() ? kUsage : kOk;
    }
    if (auto why = refusalWhileDaemonRuns(o.stateDir, "start")) {
        logError(*why);
        return kFailed;
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
    const Desired desired = additive(o) ? addedTo(desiredFrom(*cfg), locked->owned) : desiredFrom(*cfg);
    const auto gone = dropped(desired, locked->owned);
    auto reconciler = session->reconciler(std::move(locked->owned), desired);
    const auto result = reconciler.converge(logInfo, Reconciler::Verify::Dump);
    if (!result.ok()) return reportFailure(result);
    clearDaemonMarker(o.stateDir);  // a dead daemon's state is start's now
    std::fflush(stderr);  // the change lines first, then the summary
    const std::size_t n = desired.vips.size();
    std::printf("%zu VIP%s in place%s\n", n, n == 1 ? "" : "s",
                result.changes == 0 ? ", nothing changed" : (", " + std::to_string(result.changes) + " change" + (result.changes == 1 ? "" : "s")).c_str());
    if (!gone.empty())
        std::printf("removed %zu VIP(s) that %s no longer names: %s\n", gone.size(), cfg->source.c_str(),
                    summarise(gone, gone.size()).c_str());
    return kOk;
}

}  // namespace agent
