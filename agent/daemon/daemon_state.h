#pragma once
// What the daemon's loop knows beyond the reconciler: its phase, the drains, the work it
// has done. The board turns it into the snapshot's inputs; readiness is decided from
// those by api/readiness alone.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/daemon/drain_set.h"
#include "api/readiness_state.h"
#include "api/snapshot.h"

namespace agent {

// Where the daemon is in its life; one value instead of five booleans.
enum class Phase {
    Starting,     // the first pass has not completed (not ready; a conflict refuses to run)
    Running,      // watching and repairing
    Draining,     // SIGTERM, a stop: not ready, VIPs kept, until the drain ends
    Exiting,      // the drain has ended: the loop ends, then everything is undone
    HandingOver,  // SIGTERM, a restart: the next process takes over; nothing undone
};
const char* name(Phase p);
// What readiness makes of a phase.
api::Lifecycle lifecycleOf(Phase p);

// How long after a count a drain past its earliest end is counted again: 200 ms, so a
// stop ends soon after the last connection closes, unless one count took long (the
// kernel walks every socket of the host: about 0.2 µs each), then spaced so counting
// takes at most 2 % of a core, but never more than 2 s apart.
double drainPollSeconds(double lastCountSeconds);

struct DriftEvent {
    double atUnix = 0;
    std::string what;  // "added 198.51.100.188/32 to lo"
};

struct DaemonState {
    Phase phase = Phase::Starting;
    // The whole server's drain: `drain` (the operator's), or the stop's while Draining.
    std::optional<api::Drain> serverDrain;
    DrainSet drained;  // VIPs drained on their own
    // Connections per VIP at the last count (nullptr: none yet), and the drains that ended.
    std::shared_ptr<const api::Snapshot::Counts> connections;
    double connectionsCountedUnix = 0;
    std::uint64_t drainsIdle = 0, drainsDeadline = 0;
    double lastDrainSeconds = 0;
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

    bool converged() const { return phase != Phase::Starting; }
    bool stopping() const { return phase == Phase::Draining || phase == Phase::Exiting; }
    // The operator's drain of the whole server (not the stop's).
    bool serverDrained() const { return serverDrain.has_value() && !stopping(); }
};

}  // namespace agent
