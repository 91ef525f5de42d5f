#pragma once
// `lvs-rs-agent run`: apply, then keep everything in place. One event loop (epoll over
// the change source, a timerfd, a signalfd and an eventfd) feeds the Reconciler: changes
// update its mirror and mark the items they touched, the timer re-reads the sysctls and
// starts the periodic full resync, and each pass repairs only the dirty items. The HTTP
// API, the agent-check responder, the control socket and the service checks run on
// threads of their own and only read the snapshot the loop publishes (or post a request
// to it). The Daemon is handed its Netlink and its change source, so unit tests run it on
// FakeNetlink and FakeEvents (tests/support).
//
// Its parts, one file each: the loop and its passes (daemon.cpp), the API's listeners and
// systemd's descriptor store (daemon_servers.cpp), reload (daemon_reload.cpp), the drains
// and the connections they follow (daemon_drain.cpp), the phases from SIGTERM to exit or
// hand-over (daemon_exit.cpp), the tunnel program's descriptors and counters
// (daemon_tunnel.cpp).
#include <atomic>
#include <chrono>
#include <expected>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/daemon/daemon_state.h"
#include "agent/daemon/handover.h"
#include "agent/daemon/notify.h"
#include "agent/daemon/service_check.h"
#include "agent/daemon/snapshot_board.h"
#include "agent/daemon/transitions.h"
#include "agent/reconcile/lock.h"
#include "agent/reconcile/reconciler.h"
#include "agent/reconcile/session.h"
#include "api/agent_check.h"
#include "api/control_socket.h"
#include "api/http_api.h"
#include "api/snapshot.h"
#include "netcfg/events.h"

namespace agent {

struct DaemonOptions {
    std::string stateDir;
    std::optional<std::string> configPath;  // nullopt: --vip only, nothing to reload
    std::vector<std::string> cliVips;
    std::optional<std::string> configDir;
};

class Daemon final : public api::DrainControl {
public:
    enum class Exit { Ok, Failed, Refused };  // the command line maps these to exit codes

    Daemon(DaemonOptions options, Config config, Session session, std::unique_ptr<netcfg::EventSource> events);
    ~Daemon() override;

    // start(), then the loop until the phase is Exiting or HandingOver, then finish().
    Exit run();
    // The first pass, like `start` (a conflict refuses to run), and the servers.
    Exit start();
    // One turn of the loop: waits at most maxWaitMs (less when something is due).
    void step(int maxWaitMs);
    bool stopping() const { return state_.phase == Phase::Exiting || state_.phase == Phase::HandingOver; }
    // Undoes everything (unless keep_on_exit or a hand-over) and stops the servers.
    Exit finish();

    void requestDrain(bool drain) override;  // any thread
    void requestVipDrain(const std::vector<std::string>& vips, bool drain) override;  // any thread
    void logRequest(const std::string& line) override;  // any thread
    std::uint64_t requestReload() override;  // any thread
    void wantConnectionCounts() override;    // any thread
    std::expected<api::ConnectionListing, std::string> listConnections(const std::optional<std::string>& vip,
                                                                       std::size_t limit) override;  // any thread
    // SIGHUP, or requested: `ticket` is the one its outcome answers (published with it,
    // and only with it: nothing published half-way through carries it).
    void reload(std::uint64_t ticket);
    // SIGTERM, SIGINT: a stop (Draining, then Exiting) or, when systemd restarts the unit,
    // a hand-over to the next process (HandingOver; agent/daemon/exit_decision.h).
    void beginExit();
    bool handingOver() const { return state_.phase == Phase::HandingOver; }

    const Reconciler& reconciler() const { return *reconciler_; }
    const DaemonState& state() const { return state_; }
    std::shared_ptr<const api::Snapshot> snapshot() const { return store_.get(); }

private:
    using Clock = std::chrono::steady_clock;
    // --- the loop (daemon.cpp) ---
    std::expected<void, std::string> setUp();
    void onTick();
    void onSignal();
    void onWake();
    void onChanges();
    void resync();
    // One repair pass over the dirty items. A reload's own changes are applied as such:
    // not drift, not counted as repairs, never a reason for the flap damper to back off.
    void pass(bool fromReload = false);
    void publish();
    // The VIPs to announce, from the snapshot just published (api/readiness decides):
    // ready, not drained, not opted out, and the agent not stopping.
    void followReadiness(const api::Snapshot& s);
    void wake();
    void armTimer(int intervalMs);  // the tick: every check_interval_ms
    // NAT: follows the directors of the desired state and looks at each; true when what
    // the snapshot shows of them changed.
    bool watchDirectors();
    // --- the drains (daemon_drain.cpp) ---
    // How a drain starting now is set up (its deadline, when it may end).
    api::Drain startDrain(double nowUnix) const;
    // The configuration in force with the VIPs a reload removed that are still draining.
    Config served() const;
    bool countsWanted(Clock::time_point now) const;
    bool drainsNeedCounts() const;
    // Counts the connections when a drain or a reader needs them, advances every drain,
    // retires the removed VIPs whose drain ended, ends a stop's drain; schedules the next look.
    void exitIfDrained();
    void progressDrains();
    // After a reload from `before` to `next`: the VIPs it removed drain first (retiring).
    void retireRemoved(const Config& before, const Config& next);
    void retire(const std::vector<std::string>& vips);

    // --- the API's listeners and systemd's store (daemon_servers.cpp) ---
    struct ApiServers {
        std::unique_ptr<api::HttpApi> http;
        std::unique_ptr<api::AgentCheckResponder> agentCheck;
        bool httpFresh = false, agentCheckFresh = false;  // bound now, not kept by systemd
        std::vector<std::string> lines;  // what to log once they are in force
    };
    std::expected<void, std::string> startServers();
    std::expected<ApiServers, std::string> bindApi(const ApiSettings& api);
    void swapApi(ApiServers next);
    // Binds api's servers for a reload (new sockets before the old close); the error
    // says what was kept.
    std::expected<void, std::string> rebindApi(const ApiSettings& next);

    // --- stop, restart, exit (daemon_exit.cpp) ---
    // The whole server's drain, the VIP drains and the services' states of the process
    // this one took over from.
    void adopt(const Handover& h);
    void handOver(const std::string& why);
    void extendStopTimeout(Clock::time_point now);

    // --- the tunnel (daemon_tunnel.cpp) ---
    // Offers the tunnel program a previous process kept in systemd's store to the driver.
    void takeStoredTunnel();
    // Keeps the tunnel program's descriptors in systemd's store, so a restart takes the
    // program up with its counters (the unit's user cannot open it by id).
    void keepTunnelStored();
    // What moves when tunnel traffic comes (one read, however many VIPs).
    std::uint64_t tunnelActivity() const;
    // The tunnel's part of a snapshot: its hooks as last seen, its counters read now.
    void fillTunnel(api::TunnelState& out) const;

    DaemonOptions options_;
    Config cfg_;
    Session session_;
    std::unique_ptr<netcfg::EventSource> events_;
    std::optional<DirLock> lock_;
    bool markerBefore_ = false;  // a daemon.pid was there before this run wrote its own (a crashed run's)
    // A start that changed nothing: the marker goes (unless a crashed run's was there), so
    // status does not call this run dead.
    void forgetStart();
    std::optional<Reconciler> reconciler_;
    DirectorWatch directors_;  // NAT: whether each director answers (agent/reconcile/director_watch.h)
    UniqueFd epoll_, timer_, signals_, wake_;
    std::atomic<int> pendingDrain_{-1};
    std::mutex pendingVipsMu_;
    std::vector<std::pair<std::string, bool>> pendingVips_;  // (VIP, drain), in the order asked
    std::atomic<std::uint64_t> reloadRequested_{0};  // tickets handed out by requestReload()

    api::SnapshotStore store_;
    ReadinessBoard board_;
    std::unique_ptr<api::HttpApi> http_;
    std::unique_ptr<api::AgentCheckResponder> agentCheck_;
    std::unique_ptr<api::ControlServer> control_;
    std::unique_ptr<ServiceChecker> checker_;
    std::uint64_t publishedResults_ = 0;  // checker_->results() at the last publish
    SystemdNotifier notifier_;
    TransitionLog transitions_{[](Priority p, const std::string& line) { logLine(p, line); }};

    DaemonState state_;
    // The listening sockets systemd kept across a restart (its descriptor store), by name.
    std::multimap<std::string, UniqueFd> inherited_;
    // The service checks' states the previous process handed over (by identity).
    std::map<std::string, ServiceStatus> servicesHandedOver_;
    bool resyncPending_ = false;
    long long ticks_ = 0;
    std::uint64_t publishedCounters_ = 0;
    std::uint64_t publishedActivity_ = 0;  // the tunnel program's activity count at the last publish
    std::uint32_t storedTunnel_ = 0;     // the id of the tunnel program in systemd's store (0: none)
    static constexpr const char* kTunnelBundle = "tunnel";  // its descriptors' bundle there
    Clock::time_point resyncRetryAt_{};
    // The drains' next look (nullopt: none needs one before the next tick).
    std::optional<Clock::time_point> nextDrainCheck_;
    std::atomic<std::int64_t> countsWantedMs_{std::numeric_limits<std::int32_t>::min()};  // steady ms of the last reader
    bool countFailed_ = false;       // the last count failed (said once)
    double lastCountSeconds_ = 0;  // how long the last count took (spaces a drain's counts)
    std::mutex counterMu_;      // the counter serves the loop and the control socket's thread
    std::vector<Vip> retiring_;  // removed by a reload, draining before they go
    std::set<std::string> retirementDrains_;  // their drains (by VIP), as opposed to an operator's
    Clock::time_point extendedAt_{};  // the last EXTEND_TIMEOUT_USEC while stopping
    static constexpr std::chrono::seconds kExtendEvery{5};
};

}  // namespace agent
