#include "agent/config/config_reload.h"

namespace agent {

bool sameServices(const std::vector<ServiceCheck>& a, const std::vector<ServiceCheck>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].name() != b[i].name() || a[i].intervalMs != b[i].intervalMs || a[i].timeoutMs != b[i].timeoutMs ||
            a[i].rise != b[i].rise || a[i].fall != b[i].fall || a[i].expectStatus != b[i].expectStatus)
            return false;
    return true;
}

ReloadPlan planReload(const Config& running, Config next) {
    ReloadPlan p;
    // The listening sockets: bound anew by the daemon.
    const ApiSettings& a = running.api;
    const ApiSettings& b = next.api;
    p.apiChanged = a.enabled != b.enabled || a.host != b.host || a.port != b.port || a.agentCheckPort != b.agentCheckPort ||
                   a.agentCheckWaitMs != b.agentCheckWaitMs;
    p.servicesChanged = !sameServices(next.services, running.services);
    p.intervalChanged = next.checkIntervalMs != running.checkIntervalMs;
    p.applied = std::move(next);
    return p;
}

}  // namespace agent
