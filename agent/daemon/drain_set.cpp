#include "agent/daemon/drain_set.h"

namespace agent {

DrainSet::DrainSet(const Config& cfg, double nowUnix, const Starter& start) {
    api::Snapshot::Drains drained;
    for (const auto& v : cfg.vips)
        if (v.drained) drained.emplace(v.address.str(), start(nowUnix));
    vips_ = std::make_shared<const api::Snapshot::Drains>(std::move(drained));
}

std::set<std::string> DrainSet::names() const {
    std::set<std::string> out;
    for (const auto& [vip, d] : *vips_) out.insert(vip);
    return out;
}

std::vector<DrainSet::Line> DrainSet::apply(const std::vector<std::pair<std::string, bool>>& requests,
                                            const std::set<netcfg::IpAddress>& vips, double nowUnix, const Starter& start) {
    std::vector<Line> lines;
    if (requests.empty()) return lines;
    auto next = std::make_shared<api::Snapshot::Drains>(*vips_);
    for (const auto& [vip, drain] : requests) {
        const auto ip = netcfg::IpAddress::parse(vip);
        if (!ip || !vips.contains(*ip) || ip->str() != vip) {
            lines.push_back({Priority::Warning, (drain ? "drain of " : "undrain of ") + vip + " ignored: not a VIP of the configuration (any more)"});
        } else if (drain ? next->emplace(vip, start(nowUnix)).second : next->erase(vip) > 0) {
            lines.push_back({Priority::Info, drain ? "draining VIP " + vip + ": /ready/" + vip + " answers 503, the VIP stays bound"
                                                   : "undrained VIP " + vip + ": its readiness follows the checks again"});
        }
    }
    vips_ = std::move(next);
    return lines;
}

std::vector<DrainSet::Line> DrainSet::carryOver(const Config& before, const Config& next, double nowUnix, const Starter& start,
                                                const std::set<std::string>& alsoKeep) {
    std::vector<Line> lines;
    auto drained = std::make_shared<api::Snapshot::Drains>(*vips_);
    auto drainedBy = [](const Config& c) {
        std::set<netcfg::IpAddress> out;
        for (const auto& v : c.vips)
            if (v.drained) out.insert(v.address);
        return out;
    };
    const auto was = drainedBy(before), now = drainedBy(next);
    for (const auto& v : now)
        if (!was.contains(v) && drained->emplace(v.str(), start(nowUnix)).second)
            lines.push_back({Priority::Info, "reload: VIP " + v.str() + " drained by the configuration"});
    for (const auto& v : was)
        if (!now.contains(v) && drained->erase(v.str()) > 0)
            lines.push_back({Priority::Info, "reload: VIP " + v.str() + " no longer drained by the configuration"});
    if (!drained->empty()) {
        api::Snapshot::Drains kept;
        for (const auto& v : next.vips)
            if (auto it = drained->find(v.address.str()); it != drained->end()) kept.insert(*it);
        for (const auto& v : alsoKeep)
            if (auto it = drained->find(v); it != drained->end()) kept.insert(*it);
        *drained = std::move(kept);
    }
    vips_ = std::move(drained);
    return lines;
}

}  // namespace agent
