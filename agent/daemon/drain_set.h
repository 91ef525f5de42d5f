#pragma once
// The VIPs drained on their own (`drain --vip`, POST /drain/<vip>, "drained": true in the
// configuration), by canonical text, each with its drain (api::Drain: since when, how it
// ends). The map is shared with the published snapshots, so it is replaced, never changed
// in place. Whether an address is a VIP is the configuration's to say, never a published
// snapshot's.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/log.h"
#include "agent/config/config.h"
#include "api/snapshot.h"

namespace agent {

class DrainSet {
public:
    using Shared = std::shared_ptr<const api::Snapshot::Drains>;
    struct Line {
        Priority priority;
        std::string text;
    };
    // How a new drain is set up (when it may end, its deadline) from when it starts.
    using Starter = std::function<api::Drain(double nowUnix)>;

    DrainSet() = default;
    // What the configuration drains ("drained": true), from nowUnix.
    DrainSet(const Config& cfg, double nowUnix, const Starter& start);

    const Shared& shared() const { return vips_; }
    bool empty() const { return vips_->empty(); }
    std::size_t size() const { return vips_->size(); }
    std::set<std::string> names() const;

    // Requests (VIP, drain), in the order asked, for the VIPs of `vips` (the configuration
    // in force); one it no longer has is ignored. Returns what to log.
    std::vector<Line> apply(const std::vector<std::pair<std::string, bool>>& requests, const std::set<netcfg::IpAddress>& vips,
                            double nowUnix, const Starter& start);

    // After a reload from `before` to `next`: what the file changed, the rest as it was
    // (drain --vip survives a reload), none the file no longer has but those of `alsoKeep`
    // (VIPs still draining before they go). Returns what to log.
    std::vector<Line> carryOver(const Config& before, const Config& next, double nowUnix, const Starter& start,
                                const std::set<std::string>& alsoKeep = {});

    // Replaces the drains (their progress: connections counted, ended); the same VIPs.
    void update(Shared next) { vips_ = std::move(next); }

private:
    Shared vips_ = std::make_shared<const api::Snapshot::Drains>();
};

}  // namespace agent
