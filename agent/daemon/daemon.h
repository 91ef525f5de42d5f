#pragma once
// `lvs-rs-agent run`: apply, then keep everything in place. One event loop (epoll over
// the change source, a timerfd, a signalfd and an eventfd) feeds the Reconciler: changes
// update its mirror and mark the items they touched, the timer re-reads the sysctls and
// starts the periodic full resync, and each pass repairs only the dirty items. The HTTP
// API, the agent-check responder, the control socket and the service checks run on
// threads of their own and only read the snapshot the loop publishes (or post a drain
// request to it). The Daemon is handed its Netlink and its change source, so unit tests
// run it on FakeNetlink and FakeEvents.
#include <atomic>
#include <chrono>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/daemon/handover.h"
#include "agent/daemon/notify.h"
#include "agent/daemon/readiness.h"
#include "agent/daemon/service_check.h"
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

    // start(), then the loop until a stop signal and its drain, then finish().
    Exit run();
    // The first pass, like `start` (a conflict refuses to run), and the servers.
    Exit start();
    // One turn of the loop: waits at most maxWaitMs (less when something is due).
    void step(int maxWaitMs);
    bool stopping() const { return stop_; }
    // Undoes everything (unless keep_on_exit) and stops the servers.
    Exit finish();

    void requestDrain(bool drain) override;  // any thread
    void requestVipDrain(const std::vector<std::string>& vips, bool drain) override;  // any thread
    std::uint64_t requestReload() override;  // any thread
    // SIGHUP, or requested: served is the ticket its outcome answers (published with it,
    // and only with it: nothing published half-way through carries it).
    void reload(std::uint64_t served);
    // SIGTERM, SIGINT: a stop (drain, then undo) or, when systemd restarts the unit, a
    // hand-over to the next process (agent/daemon/exit_decision.h).
    void beginExit();
    bool handingOver() const { return handOver_; }

    const Reconciler& reconciler() const { return *reconciler_; }
    const DaemonState& state() const { return state_; }
    std::shared_ptr<const api::Snapshot> snapshot() const { return store_.get(); }

private:
    using Clock = std::chrono::steady_clock;
    bool setUp();
    bool startServers();
    struct ApiServers {
        std::unique_ptr<api::HttpApi> http;
        std::unique_ptr<api::AgentCheckResponder> agentCheck;
        bool httpFresh = false, agentCheckFresh = false;  // bound now, not kept by systemd
        std::vector<std::string> lines;  // what to log once they are in force
    };
    std::expected<ApiServers, std::string> bindApi(const ApiSettings& api);
    void swapApi(ApiServers next);
    void onTick();
    void onSignal();
    void onWake();
    void onChanges();
    void resync();
    // One repair pass over the dirty items. A reload's own changes are applied as such:
    // not drift, not counted as repairs, never a reason for the flap damper to back off.
    void pass(bool fromReload = false);
    // tunnel: the tunnel's part already read this tick (nullptr: read it now).
    void publish();
    // Keeps the tunnel program's descriptors in systemd's store, so a restart takes the
    // program up with its counters (the unit's user cannot open it by id).
    void keepTunnelStored();
    // The VIPs to announce, from the snapshot just published (api/readiness.h decides):
    // ready, not drained, not opted out, and the agent not stopping.
    void followReadiness(const api::Snapshot& s);
    void wake();
    // The whole server's drain, the VIP drains and the services' states of the process
    // this one took over from.
    void adopt(const Handover& h);
    void handOver(const std::string& why);
    // The VIPs drained on their own after a reload: what the file changed, the rest as
    // it was (drain --vip survives a reload), none the file no longer has.
    void carryDrainsOver(const Config& next);

    DaemonOptions options_;
    Config cfg_;
    Session session_;
    std::unique_ptr<netcfg::EventSource> events_;
    std::optional<DirLock> lock_;
    std::optional<Reconciler> reconciler_;
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
    SystemdNotifier notifier_;
    TransitionLog transitions_{[](Priority p, const std::string& line) { logLine(p, line); }};

    DaemonState state_;
    // The listening sockets systemd kept across a restart (its descriptor store), by name.
    std::multimap<std::string, UniqueFd> inherited_;
    std::map<std::string, bool> servicesWereUp_;
    bool handOver_ = false;
    bool stop_ = false;
    bool resyncPending_ = false;
    long long ticks_ = 0;
    std::uint64_t publishedCounters_ = 0;
    std::uint64_t publishedActivity_ = 0;  // the tunnel program's activity count at the last publish
    std::uint32_t storedTunnel_ = 0;     // the id of the tunnel program in systemd's store (0: none)
    static constexpr const char* kTunnelBundle = "tunnel";  // its descriptors' bundle there
    Clock::time_point resyncRetryAt_{};
    Clock::time_point drainDeadline_{};
    Clock::time_point extendedAt_{};  // the last EXTEND_TIMEOUT_USEC while stopping
    void extendStopTimeout(Clock::time_point now);
};

}  // namespace agent
