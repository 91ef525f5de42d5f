#pragma once
// What is expected and what the kernel has, per VIP and per setting, with a verdict.
// `status` prints it; the daemon publishes it as its readiness snapshot.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/plan.h"
#include "agent/state_model.h"

namespace agent {

struct VipReport {
    netcfg::IpAddress vip;
    bool bound = false;         // VIP/32 (/128) on lo
    bool addressOwned = false;  // added by the agent
    bool routeWanted = true;
    bool routePresent = false;  // a host route via lo in table main
    bool routeOwned = false;
    std::vector<std::string> problems;
    bool ok() const { return problems.empty(); }
};

struct SysctlReport {
    sysctl::ConfKey key;
    int expected = 0;
    std::optional<int> kernel;     // nullopt: could not be read
    std::optional<int> effective;  // max(all, iface); nullopt for "all" and "default"
    std::optional<int> original;   // what the agent found before changing it
    std::string error;
    bool ok = false;
};

struct ReadinessReport {
    std::vector<VipReport> vips;
    std::vector<SysctlReport> sysctls;
    bool loUp = false;
    std::vector<std::string> problems;   // every unmet condition, one line each
    std::vector<std::string> unmanaged;  // addresses on lo the agent does not manage
    bool unknown = false;                // something could not be read (permission)

    bool inPlace() const { return problems.empty() && !unknown; }
};

ReadinessReport buildReport(const Desired& desired, const Observed& observed, const Owned& owned);

std::string renderText(const ReadinessReport& r, bool listUnmanaged);
nlohmann::json toJson(const ReadinessReport& r);

}  // namespace agent
