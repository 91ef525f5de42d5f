#include "api/readiness.h"

#include "agent/base/text.h"

namespace api {

using agent::thousands;
std::string serviceDown(const ServiceReadiness& s) {
    return "service " + s.name + " is down" + (s.lastError.empty() ? "" : ": " + s.lastError);
}

std::vector<std::string> vipReasons(const Snapshot& s, const VipReadiness& v, Scope scope) {
    std::vector<std::string> out;
    forEachReason(s, v, scope, [&](std::string r) {
        out.push_back(std::move(r));
        return true;
    });
    return out;
}

bool vipReady(const Snapshot& s, const VipReadiness& v) {
    return forEachReason(s, v, Scope::All, [](const std::string&) { return false; });
}

std::vector<std::string> serverReasons(const Snapshot& s, const std::set<std::size_t>& notReady) {
    std::vector<std::string> out;
    std::size_t listed = 0;
    for (const auto pos : notReady) {
        if (listed++ == kListedVips) break;
        if (pos < s.vips.size())
            for (const auto& f : s.vips[pos]->findings) out.push_back(f.message);
    }
    if (notReady.size() > kListedVips) out.push_back("and " + thousands(notReady.size() - kListedVips) + " more VIP(s) not in place");
    out.insert(out.end(), s.common.begin(), s.common.end());
    if (s.everyVipDrained()) out.emplace_back("every VIP is drained");
    for (const auto& sv : s.services)
        if (!sv.up) out.push_back(serviceDown(sv));
    return out;
}

std::string statusLine(const Snapshot& s) {
    std::string line;
    if (s.ready)
        line = "ready: " + std::to_string(s.vips.size()) + " VIP(s) in place";
    else if (s.reasons.empty())
        line = "not ready";
    else
        line = "not ready: " + s.reasons.front() + (s.reasons.size() > 1 ? " (+" + std::to_string(s.reasons.size() - 1) + " more)" : "");
    // VIPs drained on their own do not hold the server back, but they are news.
    if (s.drainedVips && !s.drainedVips->empty() && !s.draining)
        line += "; " + std::to_string(s.drainedVips->size()) + " VIP(s) drained";
    // A rejected reload stays visible (systemctl status) until a reload succeeds.
    if (!s.lastReloadOk) line += "; " + s.lastReload;
    return line;
}

}  // namespace api
