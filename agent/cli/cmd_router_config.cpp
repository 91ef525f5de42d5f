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
    std::fputs(renderRouterConfig(*cfg, o.format == "bird" ? RouterFormat::Bird : RouterFormat::Frr, *target).c_str(), stdout);
    return kOk;
}

}  // namespace agent
