#pragma once
// `lvs-rs-agent run`: apply, then keep everything in place. One event loop (epoll over
// the rtnetlink notification socket, a timerfd, a signalfd and an eventfd) marks the
// state dirty and runs observe -> plan -> apply; the HTTP API, the agent-check responder,
// the control socket and the service checks run on threads of their own and only read
// the snapshot the loop publishes (or post a drain request to it).
#include <atomic>
#include <memory>
#include <optional>

#include "agent/cli.h"
#include "agent/config.h"
#include "agent/flap_damper.h"
#include "agent/lock.h"
#include "agent/notify.h"
#include "agent/readiness.h"
#include "agent/service_check.h"
#include "agent/session.h"
#include "api/agent_check.h"
#include "api/control_socket.h"
#include "api/http_api.h"
#include "api/snapshot.h"
#include "netcfg/events.h"

namespace agent {

class Daemon final : public api::DrainControl {
public:
    Daemon(Options options, Config config);
    ~Daemon() override;
    int run();
    void requestDrain(bool drain) override;  // any thread

private:
    using Clock = std::chrono::steady_clock;
    int setUp();
    int startServers();
    void loop();
    void onTick();
    void onSignal();
    void onWake();
    // One reconcile pass. A reload's own changes are applied as such: not drift, not
    // counted as repairs, never a reason for the flap damper to back off.
    void pass(bool fromReload = false);
    void publish();
    void reload();
    void beginExit();
    int finish();
    bool sysctlsDrifted() const;
    void wake();

    Options options_;
    Config cfg_;
    Desired desired_;
    std::optional<Session> session_;
    std::optional<DirLock> lock_;
    Owned owned_;
    std::optional<netcfg::ChangeEvents> events_;
    int epoll_ = -1, timer_ = -1, signals_ = -1, wake_ = -1;
    std::atomic<int> pendingDrain_{-1};

    api::SnapshotStore store_;
    std::unique_ptr<api::HttpApi> http_;
    std::unique_ptr<api::AgentCheckResponder> agentCheck_;
    std::unique_ptr<api::ControlServer> control_;
    std::unique_ptr<ServiceChecker> checker_;
    SystemdNotifier notifier_;
    FlapDamper damper_;

    DaemonState state_;
    ReadinessReport report_;
    bool dirty_ = true;
    bool stop_ = false;
    long long ticks_ = 0;
    Clock::time_point retryAt_{};
    Clock::time_point drainDeadline_{};
    std::string lastConflicts_;
};

int runDaemon(const Options& o);

}  // namespace agent
