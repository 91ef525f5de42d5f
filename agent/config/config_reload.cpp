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

bool sameListeners(const ApiSettings& a, const ApiSettings& b) {
    return a.enabled == b.enabled && a.host == b.host && a.port == b.port && a.agentCheckPort == b.agentCheckPort &&
           a.agentCheckWaitMs == b.agentCheckWaitMs;
}

void keepListeners(ApiSettings& to, const ApiSettings& from) {
    to.enabled = from.enabled;
    to.host = from.host;
    to.port = from.port;
    to.agentCheckPort = from.agentCheckPort;
    to.agentCheckWaitMs = from.agentCheckWaitMs;
}

ReloadPlan planReload(const Config& running, Config next) {
    ReloadPlan p;
    // The listening sockets: bound anew by the daemon.
    p.apiChanged = !sameListeners(running.api, next.api);
    p.tableChanged = running.announce.table != next.announce.table || running.hasRanges() != next.hasRanges();
    p.servicesChanged = !sameServices(next.services, running.services);
    p.intervalChanged = next.checkIntervalMs != running.checkIntervalMs;
    p.applied = std::move(next);
    return p;
}

}  // namespace agent
