#include <cstdio>

#include "agent/base/log.h"
#include "agent/cli/commands.h"
#include "agent/tools/router_config.h"

namespace agent {

int runRouterConfig(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    auto target = routerTarget(*cfg, o.neighbors, o.localAs, o.peerAs, o.routerId);
    if (!target) {
        logError(target.error());
        return kUsage;
    }
    for (const auto& w : target->warnings) logWarning(w);
    std::fputs(renderRouterConfig(*cfg, o.format == "bird" ? RouterFormat::Bird : RouterFormat::Frr, *target).c_str(), stdout);
    if (o.format == "frr")
        if (const auto plain = connectedInFrr(*cfg); !plain.empty())
            logWarning("FRR 8 does not announce " + std::to_string(plain.size()) + " VIP(s) bound as an address on lo (" + plain.front() +
                       (plain.size() > 1 ? ", ..." : "") + "): write each as {\"prefix\": \"" + plain.front() +
                       "/32\"} in \"vips\", or use --format bird (the snippet says the same)");
    return kOk;
}

}  // namespace agent
