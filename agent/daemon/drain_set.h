#pragma once
// The VIPs drained on their own (`drain --vip`, POST /drain/<vip>, "drained": true in the
// configuration), by canonical text. The set is shared with the published snapshots, so
// it is replaced, never changed in place. Whether an address is a VIP is the
// configuration's to say, never a published snapshot's.
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/log.h"
#include "agent/config/config.h"

namespace agent {

class DrainSet {
public:
    using Shared = std::shared_ptr<const std::set<std::string>>;
    struct Line {
        Priority priority;
        std::string text;
    };

    DrainSet() = default;
    // What the configuration drains ("drained": true).
    explicit DrainSet(const Config& cfg);

    const Shared& shared() const { return vips_; }
    bool empty() const { return vips_->empty(); }
    std::size_t size() const { return vips_->size(); }

    // Requests (VIP, drain), in the order asked, for the VIPs of `vips` (the configuration
    // in force); one it no longer has is ignored. Returns what to log.
    std::vector<Line> apply(const std::vector<std::pair<std::string, bool>>& requests, const std::set<netcfg::IpAddress>& vips);

    // After a reload from `before` to `next`: what the file changed, the rest as it was
    // (drain --vip survives a reload), none the file no longer has. Returns what to log.
    std::vector<Line> carryOver(const Config& before, const Config& next);

private:
    Shared vips_ = std::make_shared<const std::set<std::string>>();
};

}  // namespace agent
