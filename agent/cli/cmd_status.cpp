#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/base/log.h"
#include "agent/reconcile/report.h"
#include "agent/reconcile/session.h"

namespace agent {

int runStatus(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    const Desired desired = desiredFrom(*cfg);
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError("cannot tell: " + session.error());
        return kUnknown;
    }
    auto owned = session->stateFile().load();
    if (!owned) {
        logError("cannot tell: " + owned.error());
        return kUnknown;
    }
    auto observed = session->observe(desired, *owned);
    if (!observed) {
        logError("cannot tell: " + observed.error());
        return kUnknown;
    }
    const ReadinessReport report = buildReport(desired, *observed, *owned, plan(desired, *observed, *owned).findings);
    if (o.json)
        std::printf("%s\n", toJson(report).dump(2).c_str());
    else
        std::fputs(renderText(report, o.all).c_str(), stdout);
    if (report.unknown) return kUnknown;
    return report.inPlace() ? kOk : kNotRunning;
}

int runCheck(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    std::printf("configuration %s is valid", cfg->source.c_str());
    if (!cfg->dropIns.empty()) std::printf(" (with %zu drop-in(s))", cfg->dropIns.size());
    std::printf("; start would:\n");
    for (std::size_t i = 0; i < cfg->vips.size(); ++i) {
        const auto& vip = cfg->vips[i];
        const bool elsewhere = i < cfg->vipSources.size() && cfg->vipSources[i] != cfg->source;
        std::printf("  bind %s on lo%s\n", vip.hostCidr().c_str(), elsewhere ? (" (from " + cfg->vipSources[i] + ")").c_str() : "");
        if (cfg->hostRoutes) std::printf("  add host route %s dev lo in table main\n", vip.hostCidr().c_str());
    }
    for (const auto& iface : cfg->arp.interfaces)
        std::printf("  set net.ipv4.conf.%s.arp_ignore = %d, arp_announce = %d\n", iface.c_str(), cfg->arp.ignore,
                    cfg->arp.announce);
    std::printf("  bring lo up if it is down\n");
    return kOk;
}

}  // namespace agent
