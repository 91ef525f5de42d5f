#pragma once
// The snapshot the API serves, kept per VIP: a repair of one VIP replaces that VIP's
// entry, not the other thousands. The board fills the snapshot's typed fields from the
// reconciler and the daemon's state; what they mean for readiness is api/readiness.h's.
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/drain_set.h"
#include "agent/daemon/service_check.h"
#include "agent/reconcile/reconciler.h"
#include "api/snapshot.h"

namespace agent {

struct DriftEvent {
    double atUnix = 0;
    std::string what;  // "added 198.51.100.188/32 to lo"
};

struct DaemonState {
    bool converged = false;
    bool draining = false;
    bool exiting = false;
    DrainSet drained;  // VIPs drained on their own
    std::string error;  // the last full look's failure, if any
    std::map<std::string, std::uint64_t> repairs;
    std::uint64_t driftEvents = 0;
    std::deque<DriftEvent> recentDrift;  // newest last, at most kRecentDrift
    double lastReconcileSeconds = 0;
    double reconcileSecondsSum = 0;
    std::uint64_t reconcileCount = 0;  // repair passes
    std::uint64_t fullDumps = 0;       // full looks at the kernel (start, overrun, resync, lo)
    double lastFullDumpSeconds = 0;    // the last resync's time
    std::uint64_t changesSeen = 0;     // parsed notifications
    std::uint64_t changesIgnored = 0;  // dropped unparsed (other tables, prefixes)
    std::uint64_t overruns = 0;
    std::vector<std::string> unmanaged;  // addresses on lo not managed, at the last full look
    double startedAtUnix = 0;
    std::uint64_t reloads = 0;        // reloads attempted (SIGHUP, `lvs-rs-agent reload`)
    std::uint64_t reloadServed = 0;   // the last requested reload answered (its ticket)
    bool lastReloadOk = true;
    std::string lastReload;           // what the last one did, or why it was rejected
    double lastReloadSuccessUnix = 0; // the configuration's last successful load (start or reload)
    static constexpr std::size_t kRecentDrift = 20;
};

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
                                            const DaemonState& state, const std::string& version) const;

private:
    api::VipEntry entry(const netcfg::IpAddress& vip, const Reconciler& r) const;
    void note(std::size_t pos, const api::VipEntry& e);  // keeps notReady_ current
    api::VipTable entries_;
    std::shared_ptr<const api::Snapshot::VipIndex> index_;
    std::shared_ptr<const std::vector<api::Snapshot::RangeSpan>> ranges_;
    std::vector<std::pair<netcfg::IpAddress, std::size_t>> position_;  // sorted
    std::set<std::size_t> notReady_;  // entries with reasons of their own
    std::set<std::size_t> touched_;
    bool touchedAll_ = true;
    std::shared_ptr<const api::ConfigSummary> config_;  // /status "config", made once per configuration
};

}  // namespace agent
