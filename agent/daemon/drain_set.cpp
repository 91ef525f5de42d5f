#include "agent/daemon/drain_set.h"

namespace agent {

DrainSet::DrainSet(const Config& cfg) {
    std::set<std::string> drained;
    for (const auto& v : cfg.drained) drained.insert(v.str());
    vips_ = std::make_shared<const std::set<std::string>>(std::move(drained));
}

std::vector<DrainSet::Line> DrainSet::apply(const std::vector<std::pair<std::string, bool>>& requests,
                                            const std::set<netcfg::IpAddress>& vips) {
    std::vector<Line> lines;
    if (requests.empty()) return lines;
    auto next = std::make_shared<std::set<std::string>>(*vips_);
    for (const auto& [vip, drain] : requests) {
        const auto ip = netcfg::IpAddress::parse(vip);
        if (!ip || !vips.contains(*ip) || ip->str() != vip) {
            lines.push_back({Priority::Warning, (drain ? "drain of " : "undrain of ") + vip + " ignored: not a VIP of the configuration (any more)"});
        } else if (drain ? next->insert(vip).second : next->erase(vip) > 0) {
            lines.push_back({Priority::Info, drain ? "draining VIP " + vip + ": /ready/" + vip + " answers 503, the VIP stays bound"
                                                   : "undrained VIP " + vip + ": its readiness follows the checks again"});
        }
    }
    vips_ = std::move(next);
    return lines;
}

std::vector<DrainSet::Line> DrainSet::carryOver(const Config& before, const Config& next) {
    std::vector<Line> lines;
    auto drained = std::make_shared<std::set<std::string>>(*vips_);
    for (const auto& v : next.drained)
        if (!before.drained.contains(v) && drained->insert(v.str()).second)
            lines.push_back({Priority::Info, "reload: VIP " + v.str() + " drained by the configuration"});
    for (const auto& v : before.drained)
        if (!next.drained.contains(v) && drained->erase(v.str()) > 0)
            lines.push_back({Priority::Info, "reload: VIP " + v.str() + " no longer drained by the configuration"});
    if (!drained->empty()) {
        std::set<std::string> kept;
        for (const auto& v : next.vips)
            if (drained->contains(v.str())) kept.insert(v.str());
        *drained = std::move(kept);
    }
    vips_ = std::move(drained);
    return lines;
}

}  // namespace agent
