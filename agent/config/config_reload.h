#pragma once
// What a reload may change: the one place that says which settings a newly read
// configuration changes in the running agent, and how (every setting applies on reload;
// the API's sockets are bound anew when api.listen or the agent-check settings change).
#include <string>
#include <vector>

#include "agent/config/config.h"

namespace agent {

struct ReloadPlan {
    Config applied;          // the new configuration, with what a reload cannot change kept as running
    std::string notApplied;  // empty: all of it applies; else what could not be applied
    bool apiChanged = false;  // api.listen, the agent-check port or wait: the API's sockets are bound anew
    bool servicesChanged = false;  // the service checks start afresh
    bool intervalChanged = false;  // check_interval_ms: the timer is re-armed
    bool tableChanged = false;     // announce.table or nat.table, or ranges or NAT come or go: the tables read change (a full look)
};

ReloadPlan planReload(const Config& running, Config next);

// The settings of the API's listening sockets (api.listen, the agent-check port and wait):
// the same in both, and copied from one to the other (a reload that cannot bind keeps them).
bool sameListeners(const ApiSettings& a, const ApiSettings& b);
void keepListeners(ApiSettings& to, const ApiSettings& from);

// The same checks, with the same settings.
bool sameServices(const std::vector<ServiceCheck>& a, const std::vector<ServiceCheck>& b);

// What a reload from `running` to `next` changes, one phrase each: VIPs added, removed
// and changed; service checks added, removed and changed (by identity: type, VIP, port,
// path); the settings changed, by key. Empty: no changes.
std::vector<std::string> describeChanges(const Config& running, const Config& next);

}  // namespace agent
