#include "agent/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstring>

#include "agent/commands.h"
#include "agent/log.h"
#include "agent/version.h"

namespace agent {
namespace {

constexpr int kResyncSeconds = 30;  // a full dump even without events: covers lost ones

double nowUnix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void armTimer(int fd, int intervalMs) {
    itimerspec spec{};
    spec.it_interval.tv_sec = intervalMs / 1000;
    spec.it_interval.tv_nsec = static_cast<long>(intervalMs % 1000) * 1000000;
    spec.it_value = spec.it_interval;
    ::timerfd_settime(fd, 0, &spec, nullptr);
}

void drainFd(int fd) {
    std::uint64_t v;
    while (::read(fd, &v, sizeof v) > 0) {
    }
}

// The setting an action repairs, for flap damping and counters.
std::pair<std::string, std::string> settingOf(const Action& a) {
    return std::visit(
        [](const auto& x) -> std::pair<std::string, std::string> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, SetSysctl>) return {"sysctl", sysctl::dotted(x.key)};
            if constexpr (std::is_same_v<T, BringLinkUp>) return {"link", "link " + x.name};
            if constexpr (std::is_same_v<T, AddAddress> || std::is_same_v<T, DeleteAddress>)
                return {"address", "address " + x.vip.hostCidr()};
            if constexpr (std::is_same_v<T, AddRoute> || std::is_same_v<T, DeleteRoute>)
                return {"route", "route " + x.vip.hostCidr()};
        },
        a);
}

bool sameApi(const ApiSettings& a, const ApiSettings& b) {
    return a.enabled == b.enabled && a.host == b.host && a.port == b.port && a.agentCheckPort == b.agentCheckPort;
}

bool sameServices(const std::vector<ServiceCheck>& a, const std::vector<ServiceCheck>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].name() != b[i].name() || a[i].intervalMs != b[i].intervalMs || a[i].timeoutMs != b[i].timeoutMs ||
            a[i].rise != b[i].rise || a[i].fall != b[i].fall || a[i].expectStatus != b[i].expectStatus)
            return false;
    return true;
}

}  // namespace

Daemon::Daemon(Options options, Config config)
    : options_(std::move(options)), cfg_(std::move(config)), desired_(desiredFrom(cfg_)) {
    state_.startedAtUnix = nowUnix();
}

Daemon::~Daemon() {
    http_.reset();
    agentCheck_.reset();
    control_.reset();
    checker_.reset();
    for (int fd : {epoll_, timer_, signals_, wake_})
        if (fd >= 0) ::close(fd);
}

void Daemon::wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
}

void Daemon::requestDrain(bool drain) {
    pendingDrain_.store(drain ? 1 : 0);
    wake();
}

int Daemon::setUp() {
    if (auto d = ensureStateDir(options_.stateDir); !d) {
        logError(d.error());
        return kFailed;
    }
    auto session = Session::open(options_.stateDir);
    if (!session) {
        logError(session.error());
        return kFailed;
    }
    session_.emplace(std::move(*session));
    auto locked = session_->lockAndLoad(std::chrono::seconds(5));
    if (!locked) {
        logError(locked.error());
        return kFailed;
    }
    lock_.emplace(std::move(locked->lock));
    owned_ = std::move(locked->owned);
    if (!owned_.empty()) logInfo("adopting the state of an earlier run from " + session_->stateFile().path().string());
    auto events = netcfg::ChangeEvents::open();
    if (!events) {
        logError(events.error().message);
        return kFailed;
    }
    events_.emplace(std::move(*events));

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signals_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (signals_ < 0 || timer_ < 0 || wake_ < 0 || epoll_ < 0) {
        logError(std::string("setting up the event loop: ") + std::strerror(errno));
        return kFailed;
    }
    armTimer(timer_, cfg_.checkIntervalMs);
    for (int fd : {events_->fd(), timer_, signals_, wake_}) {
        epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
    return kOk;
}

int Daemon::startServers() {
    store_.beat();
    publish();
    if (cfg_.api.enabled) {
        http_ = std::make_unique<api::HttpApi>(
            store_, *this,
            api::HttpApiOptions{.host = cfg_.api.host,
                                .port = cfg_.api.port,
                                .token = cfg_.api.token,
                                .healthyWithinMs = std::max(5000, 3 * cfg_.checkIntervalMs),
                                .workers = 8});
        auto port = http_->start();
        if (!port) {
            logError("api.listen: " + port.error());
            return kFailed;
        }
        logInfo("HTTP API listening on " + cfg_.api.host + ":" + std::to_string(*port));
        if (cfg_.api.agentCheckPort > 0) {
            agentCheck_ = std::make_unique<api::AgentCheckResponder>(store_);
            auto ac = agentCheck_->start(cfg_.api.host, cfg_.api.agentCheckPort);
            if (!ac) {
                logError("api.agent_check_port: " + ac.error());
                return kFailed;
            }
            logInfo("HAProxy agent-check responder on " + cfg_.api.host + ":" + std::to_string(*ac));
        }
    }
    control_ = std::make_unique<api::ControlServer>(*this);
    if (auto c = control_->start(std::filesystem::path(options_.stateDir) / "control.sock"); !c) {
        logError(c.error());
        return kFailed;
    }
    checker_ = std::make_unique<ServiceChecker>(cfg_.services, [this] { wake(); });
    return kOk;
}

int Daemon::run() {
    if (int rc = setUp(); rc != kOk) return rc;
    if (int rc = startServers(); rc != kOk) return rc;
    // The first pass is the same as `start`: a conflict refuses to run at all.
    const auto first = session_->converge(desired_, owned_, [](const std::string& l) { logInfo(l); });
    if (first.drifted)  // something undid a setting while it was being applied: the loop repairs it
        logWarning(first.error + "; repairing");
    else if (!first.ok())
        return first.logFailure();
    state_.converged = true;
    dirty_ = true;  // build the first report from a fresh look
    pass();
    notifier_.ready(statusLine(*store_.get()));
    logInfo("running: " + std::to_string(cfg_.vips.size()) + " VIP(s) in place; watching for drift");
    loop();
    return finish();
}

void Daemon::loop() {
    while (!stop_) {
        const auto now = Clock::now();
        int timeoutMs = -1;
        auto until = [&](Clock::time_point t) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
            const int clamped = static_cast<int>(std::clamp<long long>(ms, 0, 60000));
            timeoutMs = timeoutMs < 0 ? clamped : std::min(timeoutMs, clamped);
        };
        if (dirty_) until(std::max(damper_.nextAllowed(), retryAt_));
        if (state_.exiting) until(drainDeadline_);
        if (auto wd = notifier_.watchdogPeriod()) until(now + *wd);

        epoll_event evs[8];
        const int n = ::epoll_wait(epoll_, evs, 8, timeoutMs);
        for (int i = 0; i < n; ++i) {
            const int fd = evs[i].data.fd;
            if (fd == events_->fd()) {
                const auto d = events_->drain();
                if (d.overrun) logWarning("rtnetlink notifications were lost (ENOBUFS); full resync");
                if (d.changed) dirty_ = true;
            } else if (fd == timer_) {
                onTick();
            } else if (fd == signals_) {
                onSignal();
            } else if (fd == wake_) {
                onWake();
            }
        }
        store_.beat();
        const auto t = Clock::now();
        if (dirty_ && t >= damper_.nextAllowed() && t >= retryAt_) pass();
        if (state_.exiting && t >= drainDeadline_) stop_ = true;
        notifier_.watchdog(t);
    }
}

bool Daemon::sysctlsDrifted() const {
    for (const auto& [key, want] : desired_.sysctls) {
        auto v = session_->sysctls().read(key);
        if (!v || *v != want) return true;
    }
    return false;
}

void Daemon::onTick() {
    drainFd(timer_);
    ++ticks_;
    const long long resyncEvery = std::max<long long>(1, kResyncSeconds * 1000LL / cfg_.checkIntervalMs);
    if (ticks_ % resyncEvery == 0 || sysctlsDrifted()) dirty_ = true;
}

void Daemon::onSignal() {
    signalfd_siginfo si;
    while (::read(signals_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload();
        } else if (state_.exiting) {
            logInfo("second stop signal: skipping the rest of the drain");
            drainDeadline_ = Clock::now();
        } else {
            beginExit();
        }
    }
}

void Daemon::onWake() {
    drainFd(wake_);
    const int drain = pendingDrain_.exchange(-1);
    if (drain >= 0) {
        if (state_.exiting && drain == 0) {
            logInfo("undrain ignored: the agent is exiting");
        } else if (state_.draining != (drain == 1)) {
            state_.draining = drain == 1;
            logInfo(state_.draining ? "draining: reporting not ready, VIPs stay bound" : "undrained: readiness follows the checks again");
        }
    }
    publish();
}

void Daemon::pass(bool fromReload) {
    const auto t0 = Clock::now();
    dirty_ = false;
    auto observed = session_->observe(desired_, owned_);
    if (!observed) {
        state_.error = "reading the kernel state: " + observed.error();
        logError(state_.error);
        retryAt_ = t0 + std::chrono::seconds(1);
        dirty_ = true;
        publish();
        return;
    }
    state_.error.clear();
    const Plan p = plan(desired_, *observed, owned_);
    state_.conflicts = p.conflicts;
    std::string conflicts;
    for (const auto& c : p.conflicts) conflicts += c + "\n";
    if (conflicts != lastConflicts_) {
        for (const auto& c : p.conflicts) logError(c + "; not ready until it is resolved");
        lastConflicts_ = conflicts;
    }
    if (!p.actions.empty()) {  // conflicts block only what they concern
        const bool repair = state_.converged && !fromReload;
        auto applied = session_->executor([&](const std::string& l) {
                                    logInfo(repair ? "drift repaired: " + l : fromReload ? "reload: " + l : l);
                                })
                           .apply(p, owned_);
        if (!applied) {
            state_.error = applied.error() + "; what this pass changed was rolled back";
            logError(state_.error);
            retryAt_ = Clock::now() + std::chrono::seconds(1);
            dirty_ = true;
        } else if (repair) {
            std::vector<std::string> items;
            ++state_.driftEvents;
            for (const auto& a : p.actions) {
                const auto [kind, item] = settingOf(a);
                ++state_.repairs[kind];
                items.push_back(item);
                state_.recentDrift.push_back({.atUnix = nowUnix(), .what = pastTense(a)});
                if (state_.recentDrift.size() > DaemonState::kRecentDrift) state_.recentDrift.pop_front();
            }
            if (auto line = damper_.recordRepairs(items, Clock::now())) logWarning(*line);
        }
        if (auto again = session_->observe(desired_, owned_)) observed = std::move(again);
        dirty_ = dirty_ || !applied;
    } else if (p.actions.empty()) {
        if (auto line = damper_.recordQuiet(Clock::now())) logInfo(*line);
    }
    state_.fighting = damper_.fighting();
    state_.fightingWith = damper_.fightingWith();
    state_.backoffMs = damper_.backoff().count();
    report_ = buildReport(desired_, *observed, owned_);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    state_.lastReconcileSeconds = seconds;
    state_.reconcileSecondsSum += seconds;
    ++state_.reconcileCount;
    publish();
}

void Daemon::publish() {
    auto snap = buildSnapshot(cfg_, report_, checker_ ? checker_->statuses() : std::vector<ServiceStatus>{}, state_, kVersion);
    notifier_.status(statusLine(snap));
    store_.publish(std::move(snap));
}

void Daemon::reload() {
    notifier_.reloading();
    if (!options_.config) {
        logWarning("reload: started with --vip only, there is no configuration file to read again, ignoring");
        notifier_.ready(statusLine(*store_.get()));
        return;
    }
    try {
        Config next = loadConfig(options_.config, options_.vips);
        if (!sameApi(next.api, cfg_.api))
            logWarning("reload: api listen addresses changed; restart the agent to apply them, ignoring");
        next.api.enabled = cfg_.api.enabled;
        next.api.host = cfg_.api.host;
        next.api.port = cfg_.api.port;
        next.api.agentCheckPort = cfg_.api.agentCheckPort;
        if (http_) http_->setToken(next.api.token);
        if (!sameServices(next.services, cfg_.services)) {
            checker_.reset();
            checker_ = std::make_unique<ServiceChecker>(next.services, [this] { wake(); });
        }
        if (next.checkIntervalMs != cfg_.checkIntervalMs) armTimer(timer_, next.checkIntervalMs);
        cfg_ = std::move(next);
        desired_ = desiredFrom(cfg_);
        dirty_ = true;
        logInfo("configuration reloaded from " + cfg_.source + ": " + std::to_string(cfg_.vips.size()) + " VIP(s)");
        pass(true);
    } catch (const ConfigError& e) {
        for (const auto& p : e.problems()) logError(p);
        logError("reload rejected; the running configuration stays in force");
    }
    notifier_.ready(statusLine(*store_.get()));
}

void Daemon::beginExit() {
    state_.exiting = true;
    state_.draining = true;
    drainDeadline_ = Clock::now() + std::chrono::seconds(cfg_.drainSeconds);
    logInfo("stopping: reporting not ready for " + std::to_string(cfg_.drainSeconds) + " s (drain_seconds), then " +
            (cfg_.keepOnExit ? "leaving everything in place (keep_on_exit)" : "undoing everything"));
    notifier_.stopping("draining before exit");
    publish();
}

int Daemon::finish() {
    int rc = kOk;
    if (cfg_.keepOnExit) {
        logInfo("keep_on_exit: VIPs and ARP settings stay in place");
    } else {
        const Desired nothing{.vips = {}, .hostRoutes = false, .sysctls = {}};
        const auto r = session_->converge(nothing, owned_, [](const std::string& l) { logInfo(l); });
        if (!r.ok()) {
            logError("undoing at exit failed");
            rc = r.logFailure();
        }
    }
    http_.reset();
    agentCheck_.reset();
    control_.reset();
    logInfo("stopped");
    return rc;
}

int runDaemon(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) {
        // Under systemd this line is what `systemctl status` shows next to the failure.
        SystemdNotifier().status("configuration rejected, nothing changed: see `journalctl -u lvs-rs-agent`");
        return kUsage;
    }
    // A long-running process with a handful of mostly idle threads: one malloc arena per
    // thread would only hold on to memory.
    mallopt(M_ARENA_MAX, 2);
    Daemon d(o, std::move(*cfg));
    return d.run();
}

}  // namespace agent
