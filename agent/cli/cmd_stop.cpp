#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/cli/daemon_client.h"
#include "agent/base/log.h"
#include "agent/base/text_file.h"
#include "agent/config/config.h"
#include "agent/reconcile/director_watch.h"
#include "agent/reconcile/session.h"

namespace agent {

namespace {

// --vip: the VIPs to undo, each checked (exit 2 names a malformed one).
std::optional<std::set<netcfg::IpAddress>> vipsToUndo(const Options& o) {
    std::set<netcfg::IpAddress> out;
    for (const auto& v : o.vips) {
        const auto ip = parseVip(v);
        if (!ip) {
            logError("--vip " + quoteInput(v, false) + ": " + ip.error() + "; nothing changed");
            return std::nullopt;
        }
        out.insert(*ip);
    }
    return out;
}

// What stop plans: everything (no --vip), or only those VIPs while the agent owns others.
Desired stopTarget(const Owned& owned, const std::set<netcfg::IpAddress>& only) {
    return only.empty() ? nothingDesired() : ownedWithout(owned, only);
}

// The named VIPs the agent owns nothing of: left alone, and said so.
void noteNotOwned(const Owned& owned, const std::set<netcfg::IpAddress>& only) {
    const auto mine = ownedVips(owned);
    for (const auto& vip : only)
        if (!mine.contains(vip))
            std::printf("nothing to undo for %s: the agent did not add it (it stays as it is)\n", vip.str().c_str());
}

}  // namespace

int runStop(const Options& o) {
    const auto only = vipsToUndo(o);
    if (!only) return kUsage;
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
    if (o.dryRun) {
        auto owned = session->stateFile().load();
        if (!owned) {
            logError(owned.error());
            return kFailed;
        }
        noteNotOwned(*owned, *only);
        auto p = session->dryRun(stopTarget(*owned, *only));
        if (!p) {
            logError(p.error());
            return kFailed;
        }
        if (p->actions.empty()) std::printf("nothing to undo\n");
        for (const auto& a : p->actions) std::printf("would %s\n", describe(a).c_str());
        return kOk;
    }
    if (auto why = refusalWhileDaemonRuns(o.stateDir, "stop")) {
        logError(*why);
        return kFailed;
    }
    auto locked = session->lockAndLoad(std::chrono::seconds(30));
    if (!locked) {
        logError(locked.error());
        return kFailed;
    }
    if (locked->owned.empty()) {
        clearDaemonMarker(o.stateDir);
        noteNotOwned(locked->owned, *only);
        std::printf("nothing to undo: the agent owns nothing here\n");
        return kOk;
    }
    noteNotOwned(locked->owned, *only);
    const Desired target = stopTarget(locked->owned, *only);
    const std::size_t kept = target.vips.size();
    // The NAT directors' neighbour entries the agent kept managed (the gateways of its NAT
    // routes) become plain dynamic ones again, as the daemon leaves them at its exit.
    if (only->empty())
        for (const auto& g : locked->owned.natRoutes) releaseManagedNeighbour(session->netlink(), g.ifindex, g.gateway);
    auto reconciler = session->reconciler(std::move(locked->owned), target);
    const auto result = reconciler.converge(logInfo, Reconciler::Verify::Dump);
    if (!result.ok()) return reportFailure(result);
    if (reconciler.owned().empty()) clearDaemonMarker(o.stateDir);
    std::fflush(stderr);  // the change lines first, then the summary
    std::printf(result.changes == 0 ? "nothing left to undo" : "undone: %d change%s", result.changes, result.changes == 1 ? "" : "s");
    if (kept > 0) std::printf("; %zu other VIP(s) and the ARP settings stay in place", kept);
    std::printf("\n");
    return kOk;
}

}  // namespace agent
