#pragma once
// The snapshot the API serves, kept per VIP: a repair of one VIP replaces that VIP's
// entry, not the other thousands. The board fills the snapshot's typed fields from the
// reconciler and the daemon's state, then asks api/readiness for the server's readiness:
// it decides nothing itself.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/daemon_state.h"
#include "agent/daemon/service_check.h"
#include "agent/reconcile/director_watch.h"
#include "agent/reconcile/reconciler.h"
#include "api/snapshot.h"

namespace agent {

class ReadinessBoard {
public:
    // Every VIP of the configuration, from the reconciler (start, reload, full looks).
    void rebuild(const Config& cfg, const Reconciler& r);
    // Only these VIPs (the items a pass touched).
    void update(const std::set<netcfg::IpAddress>& vips, const Reconciler& r);

    // The positions whose entries changed since the last call; nullopt: every one (a
    // rebuild). For the log's readiness transitions.
    std::optional<std::set<std::size_t>> takeTouched();

    std::shared_ptr<api::Snapshot> snapshot(const Config& cfg, const Reconciler& r, const std::vector<ServiceStatus>& services,
                                            const DaemonState& state, const std::string& version,
                                            const std::vector<DirectorStatus>& directors = {}) const;

private:
    api::VipEntry entry(const netcfg::IpAddress& vip, const Reconciler& r) const;
    void note(std::size_t pos, const api::VipEntry& e);  // keeps notReady_ current
    api::VipTable entries_;
    std::shared_ptr<const api::Snapshot::VipIndex> index_;
    std::shared_ptr<const std::vector<api::Snapshot::RangeSpan>> ranges_;
    std::vector<std::pair<netcfg::IpAddress, std::size_t>> position_;  // sorted
    std::set<std::size_t> notReady_;  // entries with findings of their own
    std::shared_ptr<const std::vector<std::size_t>> notReadyShared_;  // the same, as published (made when it changes)
    std::set<std::size_t> touched_;
    bool touchedAll_ = true;
    std::shared_ptr<const api::ConfigSummary> config_;  // /status "config", made once per configuration
};

}  // namespace agent
