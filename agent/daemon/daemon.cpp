#include "agent/daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstring>

#include "agent/base/log.h"
#include "agent/config/config_reload.h"
#include "agent/daemon/exit_decision.h"
#include "agent/daemon/systemd_job.h"
#include "api/socket_util.h"
#include "agent/reconcile/report.h"
#include "api/readiness.h"
#include "agent/version.h"

namespace agent {
namespace {

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

// A burst of notifications or changes larger than this is followed by malloc_trim, so
// RSS stays what the agent keeps rather than its peak.
constexpr std::size_t kTrimAfter = 1024;

// At most this many change lines per pass; beyond, one summary line by kind.
constexpr std::size_t kChangeLines = 5;

std::string summaryOf(const std::vector<Action>& actions) {
    std::map<std::string, std::size_t> byKind;
    std::vector<std::string> names;
    for (const auto& a : actions) {
        ++byKind[kindOf(a)];
        if (names.size() < 3) names.push_back(settingOf(a));
    }
    std::string kinds;
    for (const auto& [k, n] : byKind) kinds += (kinds.empty() ? "" : ", ") + thousands(n) + " " + k + (n == 1 ? "" : "s");
    return thousands(actions.size()) + " changes (" + kinds + "): " + summarise(names, actions.size());
}

}  // namespace

Daemon::Daemon(DaemonOptions options, Config config, Session session, std::unique_ptr<netcfg::EventSource> events)
    : options_(std::move(options)), cfg_(std::move(config)), session_(std::move(session)), events_(std::move(events)) {
    state_.startedAtUnix = nowUnix();
    state_.lastReloadSuccessUnix = state_.startedAtUnix;
    state_.drained = DrainSet(cfg_);
}

Daemon::~Daemon() {
    http_.reset();
    agentCheck_.reset();
    control_.reset();
    checker_.reset();
}

void Daemon::wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

namespace {
constexpr std::chrono::seconds kExtendEvery{5};
}  // namespace

std::uint64_t Daemon::requestReload() {
    const std::uint64_t ticket = ++reloadRequested_;
    wake();
    return ticket;
}

void Daemon::requestDrain(bool drain) {
    pendingDrain_.store(drain ? 1 : 0);
    wake();
}

void Daemon::requestVipDrain(const std::vector<std::string>& vips, bool drain) {
    {
        std::lock_guard lock(pendingVipsMu_);
        for (const auto& v : vips) pendingVips_.emplace_back(v, drain);
    }
    wake();
}

bool Daemon::setUp() {
    if (auto d = ensureStateDir(options_.stateDir); !d) {
        logError(d.error());
        return false;
    }
    auto locked = session_.lockAndLoad(std::chrono::seconds(5));
    if (!locked) {
        logError(locked.error());
        return false;
    }
    lock_.emplace(std::move(locked->lock));
    if (auto m = writeDaemonMarker(options_.stateDir); !m) logWarning(m.error() + "; `status` cannot tell a crashed daemon, ignoring");
    if (!locked->owned.empty()) logInfo("adopting the state of an earlier run from " + session_.stateFile().path().string());
    reconciler_.emplace(session_.reconciler(std::move(locked->owned), desiredFrom(cfg_)));
    reconciler_->setLog([](const std::string& l) { logError(l); });

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
    // This thread's mask, inherited by the threads started after it (the servers); a
    // process-wide sigprocmask is unspecified once threads exist (the unit tests have some).
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signals_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!signals_ || !timer_ || !wake_ || !epoll_) {
        logError(std::string("setting up the event loop: ") + std::strerror(errno));
        return false;
    }
    armTimer(timer_.get(), cfg_.checkIntervalMs);
    events_->watch(reconciler_->desired().tables());
    for (int fd : {events_->fd(), timer_.get(), signals_.get(), wake_.get()}) {
        epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    }
    return true;
}

namespace {

// The descriptor systemd kept under name when it is what host:port asks for; one that is
// not (api.listen changed across the restart) is closed and dropped from the store.
UniqueFd inheritedListener(std::multimap<std::string, UniqueFd>& fds, const std::string& name, const std::string& host, int port,
                           SystemdNotifier& notifier) {
    UniqueFd out;
    for (auto [b, e] = fds.equal_range(name); b != e; ++b)
        if (!out && api::listensOn(b->second.get(), host, port)) out = std::move(b->second);
    const bool stale = fds.count(name) > 0 && !out;
    fds.erase(name);
    if (stale) {
        notifier.removeStoredFd(name);
        logInfo("the " + name + " socket kept across the restart listens elsewhere than " + host + ":" + std::to_string(port) + "; binding anew");
    }
    return out;
}

}  // namespace

// The HTTP API and the agent-check responder of `api`, on sockets systemd kept when they
// match (a restart), else bound anew and put in the store. Nothing is swapped in on failure.
std::expected<Daemon::ApiServers, std::string> Daemon::bindApi(const ApiSettings& api) {
    ApiServers out;
    if (!api.enabled) return out;
    out.http = std::make_unique<api::HttpApi>(store_, *this,
                                              api::HttpApiOptions{.host = api.host,
                                                                  .port = api.port,
                                                                  .token = api.token,
                                                                  .healthyWithinMs = std::max(5000, 3 * cfg_.checkIntervalMs),
                                                                  .limits = {},
                                                                  .warn = [](const std::string& line) { logWarning(line); }});
    UniqueFd kept = inheritedListener(inherited_, "http", api.host, api.port, notifier_);
    const bool adopted = static_cast<bool>(kept);
    auto port = out.http->start(std::move(kept));
    if (!port) return std::unexpected("api.listen: " + port.error());
    out.lines.push_back("HTTP API listening on " + api.host + ":" + std::to_string(*port) + (adopted ? " (the socket kept across the restart)" : ""));
    out.httpFresh = !adopted;
    if (api.agentCheckPort > 0) {
        out.agentCheck = std::make_unique<api::AgentCheckResponder>(store_, std::chrono::milliseconds(api.agentCheckWaitMs));
        UniqueFd keptCheck = inheritedListener(inherited_, "agent-check", api.host, api.agentCheckPort, notifier_);
        const bool adoptedCheck = static_cast<bool>(keptCheck);
        auto ac = out.agentCheck->start(api.host, api.agentCheckPort, std::move(keptCheck));
        if (!ac) return std::unexpected("api.agent_check_port: " + ac.error());
        out.lines.push_back("HAProxy agent-check responder on " + api.host + ":" + std::to_string(*ac) +
                            (adoptedCheck ? " (the socket kept across the restart)" : ""));
        out.agentCheckFresh = !adoptedCheck;
    }
    return out;
}

// The servers in force become `next`'s; the store holds exactly their sockets.
void Daemon::swapApi(ApiServers next) {
    if (http_ && (!next.http || next.httpFresh)) notifier_.removeStoredFd("http");
    if (agentCheck_ && (!next.agentCheck || next.agentCheckFresh)) notifier_.removeStoredFd("agent-check");
    http_ = std::move(next.http);
    agentCheck_ = std::move(next.agentCheck);
    if (http_ && next.httpFresh) notifier_.storeFd("http", http_->listenFd());
    if (agentCheck_ && next.agentCheckFresh) notifier_.storeFd("agent-check", agentCheck_->listenFd());
    for (const auto& l : next.lines) logInfo(l);
}

bool Daemon::startServers() {
    store_.beat();
    publish();
    auto servers = bindApi(cfg_.api);
    if (!servers) {
        logError(servers.error());
        return false;
    }
    swapApi(std::move(*servers));
    // What the store holds that this configuration does not use (the API turned off, the
    // agent-check port removed) goes.
    for (const auto& [name, fd] : inherited_) notifier_.removeStoredFd(name);
    inherited_.clear();
    control_ = std::make_unique<api::ControlServer>(*this, store_);
    if (auto c = control_->start(std::filesystem::path(options_.stateDir) / "control.sock"); !c) {
        logError(c.error());
        return false;
    }
    checker_ = std::make_unique<ServiceChecker>(cfg_.services, [this] { wake(); }, servicesWereUp_);
    servicesWereUp_.clear();
    return true;
}

void Daemon::adopt(const Handover& h) {
    state_.draining = h.draining;
    std::vector<std::pair<std::string, bool>> drains;
    for (const auto& v : h.drainedVips) drains.emplace_back(v, true);
    state_.drained.apply(drains, reconciler_->desired().wanted);
    servicesWereUp_ = h.servicesUp;
    std::size_t up = 0;
    for (const auto& [name, u] : h.servicesUp) up += u ? 1 : 0;
    logInfo("taking over from the previous process: " + std::to_string(up) + " service check(s) up" +
            (h.draining ? ", the whole server drained" : "") +
            (state_.drained.empty() ? "" : ", " + std::to_string(state_.drained.size()) + " VIP(s) drained"));
}

Daemon::Exit Daemon::start() {
    if (!setUp()) return Exit::Failed;
    inherited_ = takeInheritedFds();
    // The tunnel program kept across the restart, as one bundle of its descriptors.
    if (const auto kept = inherited_.find(kTunnelBundle); kept != inherited_.end()) {
        auto fds = unbundleFds(kept->second.get());
        inherited_.erase(kept);
        notifier_.removeStoredFd(kTunnelBundle);  // read once: a new bundle is stored after the first pass
        if (!fds) logWarning(fds.error() + "; the tunnel program is loaded anew");
        if (auto* tunnel = reconciler_->tunnel(); tunnel && fds) {
            const std::uint32_t offered = tunnel->offer(std::move(*fds));
            if (offered != 0) logInfo("the tunnel program kept across the restart (id " + std::to_string(offered) + ") is offered for taking up");
        }
    }
    // A restart marker found now was meant for a restart that has happened (or never came):
    // it must not turn a later stop into a hand-over.
    (void)takeRestartMarker(options_.stateDir, nowUnix());
    std::string warning;
    if (auto h = takeHandover(options_.stateDir, nowUnix(), warning)) adopt(*h);
    if (!warning.empty()) logWarning(warning);
    // After a restart under systemd the API's sockets were kept open: the directors' polls
    // wait in their backlog and are answered once the first pass has confirmed the state,
    // never with "starting". Otherwise the servers answer "starting" meanwhile.
    const bool restarted = inherited_.contains("http") || inherited_.contains("agent-check");
    // The board is empty until the first pass.
    board_.rebuild(Config{}, *reconciler_);
    if (!restarted && !startServers()) return Exit::Failed;
    // The first pass is the same as `start`: a conflict refuses to run at all. Its result
    // is verified by the kernel's acks; the notifications it causes confirm it again.
    const auto first = reconciler_->converge([](const std::string& l) { logInfo(l); }, Reconciler::Verify::Acks);
    ++state_.fullDumps;
    if (first.outcome == Reconciler::PassResult::Outcome::Refused) {
        for (const auto& c : first.conflicts) logError(describe(c));
        logError("refused; nothing was changed");
        return Exit::Refused;
    }
    if (!first.ok()) {
        logError(first.error);
        return Exit::Failed;
    }
    state_.converged = true;
    board_.rebuild(cfg_, *reconciler_);
    if (restarted && !startServers()) return Exit::Failed;
    publish();
    // The first pass's dump and plan are gone: give their pages back to the system, so
    // RSS is what the agent keeps (at 10,000 VIPs a third of the peak).
    malloc_trim(0);
    notifier_.ready(api::statusLine(*store_.get()));
    logInfo("running: " + std::to_string(cfg_.vips.size()) + " VIP(s) in place; watching for drift");
    if (const auto& d = *state_.drained.shared(); !d.empty())
        logInfo("drained by the configuration (\"drained\": true): " + summarise(std::vector<std::string>(d.begin(), d.end()), d.size()));
    return Exit::Ok;
}

Daemon::Exit Daemon::run() {
    if (const Exit e = start(); e != Exit::Ok) return e;
    while (!stop_) step(60000);
    return finish();
}

void Daemon::step(int maxWaitMs) {
    const auto now = Clock::now();
    int timeoutMs = maxWaitMs;
    auto until = [&](Clock::time_point t) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
        timeoutMs = std::min(timeoutMs, static_cast<int>(std::clamp<long long>(ms, 0, 60000)));
    };
    if (auto next = reconciler_->nextRepairAt()) until(*next);
    if (resyncPending_ || reconciler_->resyncDue()) until(resyncRetryAt_);
    if (state_.exiting) {
        until(drainDeadline_);
        until(extendedAt_ + kExtendEvery);
    }
    if (auto wd = notifier_.watchdogPeriod()) until(now + *wd);

    epoll_event evs[8];
    const int n = ::epoll_wait(epoll_.get(), evs, 8, timeoutMs);
    for (int i = 0; i < n; ++i) {
        const int fd = evs[i].data.fd;
        if (fd == events_->fd())
            onChanges();
        else if (fd == timer_.get())
            onTick();
        else if (fd == signals_.get())
            onSignal();
        else if (fd == wake_.get())
            onWake();
    }
    store_.beat();
    const auto t = Clock::now();
    if ((resyncPending_ || reconciler_->resyncDue()) && t >= resyncRetryAt_) resync();
    if (auto next = reconciler_->nextRepairAt(); next && t >= *next) pass();
    if (state_.exiting && t >= drainDeadline_) stop_ = true;
    if (state_.exiting && t - extendedAt_ >= kExtendEvery) extendStopTimeout(t);
    notifier_.watchdog(t);
}

void Daemon::onChanges() {
    const auto d = events_->drain();
    state_.changesSeen += d.changes.size();
    state_.changesIgnored += d.ignored;
    if (d.overrun) {
        ++state_.overruns;
        logWarning("rtnetlink notifications were lost (ENOBUFS); full resync");
        resyncPending_ = true;
    }
    reconciler_->onChanges(d.changes);
    // A qdisc or tc filter changed somewhere: the tunnel's hooks are asked for now, so a
    // removed filter is put back at once instead of at the next tick.
    if (d.tc > 0) {
        state_.changesSeen += d.tc;
        reconciler_->checkTunnel();
    }
    if (d.changes.size() + d.ignored > kTrimAfter) malloc_trim(0);  // a burst's buffers are gone
}

void Daemon::resync() {
    const auto t0 = Clock::now();
    resyncPending_ = false;
    ++state_.fullDumps;
    if (auto r = reconciler_->resync(); !r) {
        state_.error = r.error();
        logError(state_.error + "; retrying in 1 s");
        resyncPending_ = true;
        resyncRetryAt_ = t0 + std::chrono::seconds(1);
        publish();
        return;
    }
    const bool hadError = !state_.error.empty();
    state_.error.clear();
    state_.lastFullDumpSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    malloc_trim(0);  // the dump is gone; keep RSS flat across resyncs
    state_.unmanaged = unmanagedOnLo(reconciler_->desired(), reconciler_->observed().kernel);
    if (hadError) publish();
}

namespace {

// The tunnel's part of a snapshot: its hooks as last seen, its counters read now.
void fillTunnel(api::TunnelState& out, const Config& cfg, const Reconciler& r) {
    if (!cfg.tunnel.enabled()) return;
    out.enabled = true;
    const auto& seen = r.observed().tunnel;
    if (seen.maps) out.mss = seen.maps->settings.mss;
    for (const auto& name : cfg.tunnel.interfaces) {
        const auto h = seen.hooks.find(name);
        out.interfaces.push_back({.name = name, .attached = h != seen.hooks.end() && h->second.attached()});
    }
    auto* driver = r.tunnel();
    if (!driver || !driver->prepared()) return;
    const auto stats = driver->stats();
    for (const auto& [vip, c] : stats.vips)
        out.vips.push_back({.vip = vip.str(), .ipipPackets = c.ipipPackets, .ipipBytes = c.ipipBytes,
                            .guePackets = c.guePackets, .gueBytes = c.gueBytes, .mssClamped = c.mssClamped});
    for (int i = 0; i < netcfg::kTunnelDropReasons; ++i)
        out.drops.emplace_back(netcfg::name(static_cast<netcfg::TunnelDrop>(i)), stats.drops[static_cast<std::size_t>(i)]);
}

// What moves when tunnel traffic comes (one read, however many VIPs): a reason to publish.
std::uint64_t tunnelActivity(const Config& cfg, const Reconciler& r) {
    const auto* driver = r.tunnel();
    return cfg.tunnel.enabled() && driver && driver->prepared() ? driver->activity() : 0;
}

}  // namespace

void Daemon::onTick() {
    std::uint64_t expirations;  // one read takes them all
    (void)!::read(timer_.get(), &expirations, sizeof expirations);
    ++ticks_;
    const long long resyncEvery = std::max<long long>(1, cfg_.resyncSeconds * 1000LL / cfg_.checkIntervalMs);
    if (ticks_ % resyncEvery == 0) resyncPending_ = true;
    reconciler_->checkSysctls();
    reconciler_->checkTunnel();
    bool changed = false;
    if (auto line = reconciler_->damper().settle(Clock::now())) {
        logInfo(*line);
        changed = true;
    }
    // Counters that moved without a pass (notifications read, ignored) show within a tick.
    const auto seen = state_.changesSeen + state_.changesIgnored + state_.fullDumps + state_.overruns;
    // So do the tunnel's counters: read in full only when their activity count moved.
    if (changed || seen != publishedCounters_ || tunnelActivity(cfg_, *reconciler_) != publishedActivity_) publish();
}

void Daemon::onSignal() {
    signalfd_siginfo si;
    while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload(state_.reloadServed);
        } else if (state_.exiting) {
            logInfo("second stop signal: skipping the rest of the drain");
            drainDeadline_ = Clock::now();
        } else {
            beginExit();
        }
    }
}

void Daemon::onWake() {
    drainFd(wake_.get());
    // Every request made before this point is answered by this one reload: it reads the
    // files after they were asked for.
    if (const std::uint64_t wanted = reloadRequested_.load(); wanted > state_.reloadServed) reload(wanted);
    const int drain = pendingDrain_.exchange(-1);
    if (drain >= 0) {
        if (state_.exiting && drain == 0) {
            logInfo("undrain ignored: the agent is exiting");
        } else if (state_.draining != (drain == 1)) {
            state_.draining = drain == 1;
            logInfo(state_.draining ? "draining: reporting not ready, VIPs stay bound" : "undrained: readiness follows the checks again");
        }
    }
    std::vector<std::pair<std::string, bool>> vips;
    {
        std::lock_guard lock(pendingVipsMu_);
        vips.swap(pendingVips_);
    }
    // Whether each is a VIP is the configuration's to say (the one in force now).
    for (const auto& l : state_.drained.apply(vips, reconciler_->desired().wanted)) logLine(l.priority, l.text);
    publish();
}

void Daemon::pass(bool fromReload) {
    const auto t0 = Clock::now();
    const bool repair = state_.converged && !fromReload;
    const auto r = reconciler_->repair(t0, repair);
    const std::string prefix = repair ? "drift repaired: " : fromReload ? "reload: " : "";
    if (r.changed.size() <= kChangeLines)
        for (const auto& a : r.changed) logInfo(prefix + pastTense(a));
    else
        logInfo(prefix + summaryOf(r.changed));

    // Findings that appeared: conflicts and failures, one line per item up to a few.
    std::vector<std::string> newProblems;
    std::size_t problemCount = 0;
    std::set<netcfg::IpAddress> touched;
    for (const auto& s : r.findingsChanged) {
        if (s.kind == Subject::Kind::Vip) touched.insert(s.vip);
        const auto f = reconciler_->findings().find(s);
        if (f == reconciler_->findings().end()) continue;
        for (const auto& x : f->second)
            if (isConflict(x.kind) || x.kind == FindingKind::CannotApply) {
                ++problemCount;
                if (newProblems.size() < kChangeLines) newProblems.push_back(describe(x));
            }
    }
    for (const auto& a : r.followed) logInfo("announce: " + pastTense(a));
    for (const auto& p : newProblems) logError(p + "; not ready until it is resolved");
    if (problemCount > newProblems.size())
        logError("and " + thousands(problemCount - newProblems.size()) + " more problem(s); see /status");
    if (r.fightLine) logWarning(*r.fightLine);

    if (repair && !r.changed.empty()) {
        ++state_.driftEvents;
        for (const auto& a : r.changed) ++state_.repairs[kindOf(a)];
        const std::size_t from = r.changed.size() > DaemonState::kRecentDrift ? r.changed.size() - DaemonState::kRecentDrift : 0;
        for (std::size_t i = from; i < r.changed.size(); ++i) {
            state_.recentDrift.push_back({.atUnix = nowUnix(), .what = pastTense(r.changed[i])});
            if (state_.recentDrift.size() > DaemonState::kRecentDrift) state_.recentDrift.pop_front();
        }
    }
    auto touches = [&](const Action& a) {
        if (const auto s = subjectOf(a); s.kind == Subject::Kind::Vip || (s.kind == Subject::Kind::Announce && s.vip.family != 0))
            touched.insert(s.vip);
    };
    for (const auto& a : r.changed) touches(a);
    for (const auto& a : r.followed) touches(a);
    for (const auto& [a, e] : r.failed) touches(a);
    board_.update(touched, *reconciler_);

    if (r.changed.size() + r.failed.size() > kTrimAfter) malloc_trim(0);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    state_.lastReconcileSeconds = seconds;
    state_.reconcileSecondsSum += seconds;
    ++state_.reconcileCount;
    if (!r.changed.empty() || !r.followed.empty() || !r.failed.empty() || !r.findingsChanged.empty() || fromReload) publish();
}

void Daemon::publish() {
    publishedCounters_ = state_.changesSeen + state_.changesIgnored + state_.fullDumps + state_.overruns;
    const auto services = checker_ ? checker_->statuses() : std::vector<ServiceStatus>{};
    auto snap = board_.snapshot(cfg_, *reconciler_, services, state_, kVersion);
    publishedActivity_ = tunnelActivity(cfg_, *reconciler_);  // before the counters: a packet between is seen next tick
    fillTunnel(snap->tunnel, cfg_, *reconciler_);
    const auto touched = board_.takeTouched();
    transitions_.observe(*snap, services, touched ? &*touched : nullptr);
    notifier_.status(api::statusLine(*snap));
    const api::Snapshot& published = *snap;
    store_.publish(std::move(snap));
    followReadiness(published);
    keepTunnelStored();
}

void Daemon::keepTunnelStored() {
    if (!state_.converged || !notifier_.underSystemd()) return;  // the program is decided by the first pass
    auto* tunnel = reconciler_->tunnel();
    const auto d = tunnel ? tunnel->descriptors() : netcfg::TunnelDriver::Descriptors{};
    if (d.programId == storedTunnel_) return;
    if (storedTunnel_ != 0) notifier_.removeStoredFd(kTunnelBundle);
    storedTunnel_ = d.programId;
    if (d.fds.empty()) return;
    auto bundle = bundleFds(d.fds);
    if (!bundle || !notifier_.storeFd(kTunnelBundle, bundle->get()))
        logWarning("the tunnel program's descriptors are not kept in systemd's store (" + (bundle ? std::string("refused") : bundle.error()) +
                   "): a restart loads it anew");
}

void Daemon::followReadiness(const api::Snapshot& s) {
    // Until the first pass has confirmed the state, what an earlier process announced is
    // held as it is (a restart leaves the routers' paths alone).
    if (!state_.converged) return;
    std::set<netcfg::IpAddress> announce;
    const auto& d = reconciler_->desired();
    if (d.announceTable != 0 && !state_.exiting)
        s.vips.forEach([&](const api::VipReadiness& v) {
            if (!v.announceable || !api::vipReady(s, v)) return;
            // a range's entry is named "198.18.0.0/24": the VIP is its network address
            if (auto ip = netcfg::IpAddress::parse(v.vip.substr(0, v.vip.find('/')))) announce.insert(*ip);
        });
    if (!d.holdAnnounced && announce == d.announced) return;
    reconciler_->setAnnounced(std::move(announce));
}

void Daemon::reload(std::uint64_t served) {
    notifier_.reloading();
    ++state_.reloads;
    // The outcome, published once at the end with the ticket it answers, then READY=1.
    auto done = [&](bool ok, std::string what) {
        state_.lastReloadOk = ok;
        state_.lastReload = std::move(what);
        state_.reloadServed = served;
        publish();
        notifier_.ready(api::statusLine(*store_.get()));
    };
    if (!options_.configPath) {
        logWarning("reload: started with --vip only, there is no configuration file to read again, ignoring");
        return done(true, "nothing to reload: started with --vip only");
    }
    Config next;
    try {
        next = loadConfig(options_.configPath, options_.cliVips, options_.configDir);
    } catch (const ConfigError& e) {
        const auto& problems = e.problems();
        for (const auto& p : problems) logError(p);
        logError("reload rejected; the running configuration stays in force");
        return done(false, "reload rejected, the previous configuration stays in force: " +
                               (problems.empty() ? std::string("invalid configuration") : problems.front()) +
                               (problems.size() > 1 ? " (+" + std::to_string(problems.size() - 1) + " more)" : ""));
    }
    // What a reload cannot change: said in the reply and the log, the rest applied.
    ReloadPlan plan = planReload(cfg_, std::move(next));
    const std::string& notApplied = plan.notApplied;
    // New listening sockets first; the old ones close only once the new ones listen. The
    // same port on an overlapping address cannot be bound twice: then the old go first,
    // and come back if the new cannot be bound.
    if (plan.apiChanged) {
        auto servers = bindApi(plan.applied.api);
        if (!servers && (plan.applied.api.port == cfg_.api.port || plan.applied.api.agentCheckPort == cfg_.api.agentCheckPort)) {
            swapApi({});
            servers = bindApi(plan.applied.api);
            if (!servers) {
                if (auto back = bindApi(cfg_.api)) swapApi(std::move(*back));
            }
        }
        if (servers) {
            swapApi(std::move(*servers));
        } else {
            plan.notApplied = servers.error() + "; the API stays on its previous address";
            logWarning("reload partly applied: " + plan.notApplied);
            keepListeners(plan.applied.api, cfg_.api);
        }
    }
    if (http_) http_->setToken(plan.applied.api.token);
    if (plan.servicesChanged) {
        checker_.reset();
        checker_ = std::make_unique<ServiceChecker>(plan.applied.services, [this] { wake(); });
    }
    if (plan.intervalChanged) armTimer(timer_.get(), plan.applied.checkIntervalMs);
    if (plan.tableChanged) {  // the new table is looked at whole; the old one's routes go by their records
        events_->watch(desiredFrom(plan.applied).tables());
        resyncPending_ = true;
    }
    for (const auto& l : state_.drained.carryOver(cfg_, plan.applied)) logLine(l.priority, l.text);
    cfg_ = std::move(plan.applied);
    reconciler_->setDesired(desiredFrom(cfg_));
    logInfo("configuration reloaded from " + cfg_.source + ": " + std::to_string(cfg_.vips.size()) + " VIP(s)" +
            (notApplied.empty() ? "" : " (partly: see above)"));
    pass(true);
    board_.rebuild(cfg_, *reconciler_);
    state_.lastReloadSuccessUnix = nowUnix();
    done(true, "reloaded " + cfg_.source + ": " + std::to_string(cfg_.vips.size()) + " VIP(s)" +
                   (notApplied.empty() ? "" : "; not applied: " + notApplied));
}

void Daemon::beginExit() {
    if (!cfg_.keepOnExit) {
        ExitEvidence evidence;
        if (auto job = pendingJobType(std::chrono::seconds(1)))
            evidence.jobType = *job;
        else
            evidence.jobError = job.error();
        evidence.markerAgeSeconds = takeRestartMarker(options_.stateDir, nowUnix());
        ExitDecision d = decideExit(evidence);
        // A next process that will refuse its configuration would leave the VIPs with
        // nobody to watch them or report readiness: then this is a stop after all.
        if (d.handOver && options_.configPath) try {
                (void)loadConfig(options_.configPath, options_.cliVips, options_.configDir);
            } catch (const ConfigError& e) {
                d = {.handOver = false,
                     .why = d.why + "; but the configuration does not load (" + (e.problems().empty() ? std::string("invalid") : e.problems().front()) +
                            "), so the next process would not start: stopping instead"};
            }
        if (d.handOver) return handOver(d.why);
        logInfo("stop: " + d.why);
    }
    state_.exiting = true;
    state_.draining = true;
    drainDeadline_ = Clock::now() + std::chrono::seconds(cfg_.drainSeconds);
    logInfo("stopping: reporting not ready for " + std::to_string(cfg_.drainSeconds) + " s (drain_seconds), then " +
            (cfg_.keepOnExit ? "leaving everything in place (keep_on_exit)" : "undoing everything"));
    notifier_.stopping("draining before exit");
    extendStopTimeout(Clock::now());
    publish();
}

// A restart: nothing drained, nothing undone; what the next process needs beyond the
// kernel and the state file goes to handover.json. The API's listening sockets stay open
// in systemd's store, so polls arriving meanwhile wait for the next process.
void Daemon::handOver(const std::string& why) {
    handOver_ = true;
    stop_ = true;
    Handover h{.writtenAtUnix = nowUnix(), .servicesUp = {}, .draining = state_.draining && !state_.exiting, .drainedVips = *state_.drained.shared()};
    if (checker_)
        for (const auto& sv : checker_->statuses()) h.servicesUp[sv.check.name()] = sv.up;
    if (auto w = writeHandover(options_.stateDir, h); !w)
        logWarning("writing the hand-over: " + w.error() + "; the next process starts its checks afresh");
    logInfo("restart: " + why + ": handing over to the next process; the VIPs, routes and ARP settings stay in place and readiness is not withdrawn");
    notifier_.stopping("handing over to the next process (restart)");
}

// However long drain_seconds is, systemd must not kill the agent at TimeoutStopSec in the
// middle of it (the VIPs and ARP settings would stay behind): while stopping, it is told
// every few seconds how long the rest of the drain and the undo still take.
void Daemon::extendStopTimeout(Clock::time_point now) {
    extendedAt_ = now;
    const auto drainLeft = std::max(Clock::duration::zero(), drainDeadline_ - now);
    // undoing: a few seconds at 10,000 VIPs (bench/apply); generous, as the kernel may be busy
    const auto undo = std::chrono::seconds(30) + std::chrono::milliseconds(cfg_.vips.size());
    notifier_.extendTimeout(std::chrono::duration_cast<std::chrono::microseconds>(drainLeft + undo + kExtendEvery));
}

Daemon::Exit Daemon::finish() {
    Exit rc = Exit::Ok;
    if (handOver_) {
        if (http_) http_->quiesce(std::chrono::milliseconds(500));
        logInfo("handed over: everything stays in place for the next process");
    } else if (cfg_.keepOnExit) {
        logInfo("keep_on_exit: VIPs and ARP settings stay in place");
    } else {
        reconciler_->setDesired(nothingDesired());
        const auto r = reconciler_->converge([](const std::string& l) { logInfo(l); }, Reconciler::Verify::Acks);
        if (!r.ok()) {
            logError("undoing at exit failed");
            for (const auto& c : r.conflicts) logError(describe(c));
            if (!r.error.empty()) logError(r.error);
            rc = r.outcome == Reconciler::PassResult::Outcome::Refused ? Exit::Refused : Exit::Failed;
        }
    }
    http_.reset();
    agentCheck_.reset();
    control_.reset();
    // Done as it should: no dead daemon's state for `status` to report.
    if (rc == Exit::Ok) clearDaemonMarker(options_.stateDir);
    logInfo("stopped");
    return rc;
}

}  // namespace agent
