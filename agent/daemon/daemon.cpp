// The daemon's loop: one epoll over the change source, the timer, the signals and the
// wake-ups; each turn dispatches what is ready, then runs what is due (a resync, a
// repair pass, the end of a stop's drain).
#include "agent/daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstring>

#include "agent/base/clock.h"
#include "agent/base/log.h"
#include "agent/reconcile/report.h"
#include "agent/version.h"
#include "api/readiness.h"

namespace agent {
namespace {

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
    state_.drained = DrainSet(cfg_, state_.startedAtUnix, [this](double now) { return startDrain(now); });
}

Daemon::~Daemon() {
    http_.reset();
    agentCheck_.reset();
    control_.reset();
    checker_.reset();
}

void Daemon::armTimer(int intervalMs) {
    itimerspec spec{};
    spec.it_interval.tv_sec = intervalMs / 1000;
    spec.it_interval.tv_nsec = static_cast<long>(intervalMs % 1000) * 1000000;
    spec.it_value = spec.it_interval;
    ::timerfd_settime(timer_.get(), 0, &spec, nullptr);
}

void Daemon::wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

std::uint64_t Daemon::requestReload() {
    const std::uint64_t ticket = ++reloadRequested_;
    wake();
    return ticket;
}

void Daemon::logRequest(const std::string& line) { logInfo(line); }

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

std::expected<void, std::string> Daemon::setUp() {
    if (auto d = ensureStateDir(options_.stateDir); !d) return d;
    auto locked = session_.lockAndLoad(std::chrono::seconds(5));
    if (!locked) return std::unexpected(locked.error());
    lock_.emplace(std::move(locked->lock));
    markerBefore_ = daemonMarker(options_.stateDir).has_value();
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
    if (!signals_ || !timer_ || !wake_ || !epoll_) return std::unexpected(std::string("setting up the event loop: ") + std::strerror(errno));
    armTimer(cfg_.checkIntervalMs);
    events_->watch(reconciler_->desired().tables());
    for (int fd : {events_->fd(), timer_.get(), signals_.get(), wake_.get()}) {
        epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    }
    return {};
}

Daemon::Exit Daemon::start() {
    if (auto s = setUp(); !s) {
        logError(s.error());
        return Exit::Failed;
    }
    inherited_ = takeInheritedFds();
    takeStoredTunnel();
    // A restart marker found now was meant for a restart that has happened (or never came):
    // it must not turn a later stop into a hand-over.
    (void)takeRestartMarker(options_.stateDir, nowUnix());
    auto handover = takeHandover(options_.stateDir, nowUnix());
    if (handover.warning) logWarning(*handover.warning);
    if (handover.value) adopt(*handover.value);
    // After a restart under systemd the API's sockets were kept open: the directors' polls
    // wait in their backlog and are answered once the first pass has confirmed the state,
    // never with "starting". Otherwise the servers answer "starting" meanwhile.
    const bool restarted = inherited_.contains("http") || inherited_.contains("agent-check");
    board_.rebuild(Config{}, *reconciler_);  // empty until the first pass
    auto serve = [&] {
        auto s = startServers();
        if (!s) logError(s.error());
        return s.has_value();
    };
    if (!restarted && !serve()) {  // an address not of this host, a port in use: the configuration's
        forgetStart();
        logError("nothing was changed");
        return Exit::Refused;
    }
    // The first pass is the same as `start`: a conflict refuses to run at all. Its result
    // is verified by the kernel's acks; the notifications it causes confirm it again.
    const auto first = reconciler_->converge([](const std::string& l) { logInfo(l); }, Reconciler::Verify::Acks);
    ++state_.fullDumps;
    if (first.outcome == Reconciler::PassResult::Outcome::Refused) {
        for (const auto& c : first.conflicts) logError(describe(c));
        logError("refused; nothing was changed");
        forgetStart();
        return Exit::Refused;
    }
    if (!first.ok()) {
        logError(first.error);
        return Exit::Failed;
    }
    state_.phase = Phase::Running;
    board_.rebuild(cfg_, *reconciler_);
    if (restarted && !serve()) return Exit::Failed;
    watchDirectors();
    publish();
    // The first pass's dump and plan are gone: give their pages back to the system, so
    // RSS is what the agent keeps (at 10,000 VIPs a third of the peak).
    malloc_trim(0);
    notifier_.ready(api::statusLine(*store_.get()));
    logInfo("running: " + std::to_string(cfg_.vips.size()) + " VIP(s) in place; watching for drift");
    if (const auto d = state_.drained.names(); !d.empty())
        logInfo("drained by the configuration (\"drained\": true): " + summarise(std::vector<std::string>(d.begin(), d.end()), d.size()));
    return Exit::Ok;
}

void Daemon::forgetStart() {
    if (!markerBefore_) clearDaemonMarker(options_.stateDir);
}

Daemon::Exit Daemon::run() {
    if (const Exit e = start(); e != Exit::Ok) return e;
    while (!stopping()) step(60000);
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
    if (nextDrainCheck_) until(*nextDrainCheck_);
    if (state_.phase == Phase::Draining) until(extendedAt_ + kExtendEvery);
    if (auto wd = notifier_.watchdogPeriod()) until(now + *wd);

    epoll_event evs[8];
    const int n = ::epoll_wait(epoll_.get(), evs, 8, timeoutMs);
    for (int i = 0; i < n; ++i) {
        const int fd = evs[i].data.fd;
        if (fd == events_->fd()) onChanges();
        else if (fd == timer_.get()) onTick();
        else if (fd == signals_.get()) onSignal();
        else if (fd == wake_.get()) onWake();
    }
    store_.beat();
    const auto t = Clock::now();
    if ((resyncPending_ || reconciler_->resyncDue()) && t >= resyncRetryAt_) resync();
    if (auto next = reconciler_->nextRepairAt(); next && t >= *next) pass();
    if (nextDrainCheck_ && t >= *nextDrainCheck_) progressDrains();
    if (state_.phase == Phase::Draining && t - extendedAt_ >= kExtendEvery) extendStopTimeout(t);
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

void Daemon::onTick() {
    std::uint64_t expirations;  // one read takes them all
    (void)!::read(timer_.get(), &expirations, sizeof expirations);
    ++ticks_;
    const long long resyncEvery = std::max<long long>(1, cfg_.resyncSeconds * 1000LL / cfg_.checkIntervalMs);
    if (ticks_ % resyncEvery == 0) resyncPending_ = true;
    reconciler_->checkSysctls();
    reconciler_->checkNatPaths();
    reconciler_->checkTunnel();
    reconciler_->checkMarks();
    if (drainsNeedCounts() || countsWanted(Clock::now())) progressDrains();
    bool changed = watchDirectors();
    if (auto line = reconciler_->damper().settle(Clock::now())) {
        logInfo(*line);
        changed = true;
    }
    // Counters that moved without a pass (notifications read, ignored) show within a tick.
    const auto seen = state_.changesSeen + state_.changesIgnored + state_.fullDumps + state_.overruns;
    // So do the tunnel's counters: read in full only when their activity count moved; and
    // the service checks' counters and last errors (their ups and downs wake the loop).
    const bool probed = checker_ && checker_->results() != publishedResults_;
    if (changed || probed || seen != publishedCounters_ || tunnelActivity() != publishedActivity_) publish();
}

void Daemon::onSignal() {
    signalfd_siginfo si;
    while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload(state_.reloadServed);
        } else if (state_.phase == Phase::Draining) {
            logInfo("second stop signal: skipping the rest of the drain");
            state_.serverDrain->deadlineUnix = state_.serverDrain->earliestUnix = nowUnix();
            progressDrains();
        } else if (!stopping()) {
            beginExit();
        }
    }
}

void Daemon::onWake() {
    drainFd(wake_.get());
    // Every request made before this point is answered by this one reload: it reads the
    // files after they were asked for.
    if (const std::uint64_t wanted = reloadRequested_.load(); wanted > state_.reloadServed) reload(wanted);
    if (const int drain = pendingDrain_.exchange(-1); drain >= 0) {
        if (state_.stopping() && drain == 0) {
            logInfo("undrain ignored: the agent is exiting");
        } else if (!state_.stopping() && state_.serverDrain.has_value() != (drain == 1)) {
            if (drain == 1) state_.serverDrain = startDrain(nowUnix());
            else state_.serverDrain.reset();
            logInfo(drain == 1 ? "draining: reporting not ready, VIPs stay bound" : "undrained: readiness follows the checks again");
        }
    }
    std::vector<std::pair<std::string, bool>> vips;
    {
        std::lock_guard lock(pendingVipsMu_);
        vips.swap(pendingVips_);
    }
    // Whether each is a VIP is the configuration's to say (the one in force now).
    const auto lines = state_.drained.apply(vips, reconciler_->desired().wanted, nowUnix(), [this](double now) { return startDrain(now); });
    for (const auto& l : lines) logLine(l.priority, l.text);
    progressDrains();  // a new drain is counted at once (and one of min 0 on an idle server ends now)
    publish();
}

void Daemon::pass(bool fromReload) {
    const auto t0 = Clock::now();
    const bool repair = state_.converged() && !fromReload;
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

bool Daemon::watchDirectors() {
    if (!reconciler_->desired().nat && !reconciler_->desired().colocated && directors_.status().empty()) return false;
    const auto before = directors_.status();
    directors_.follow(session_.netlink(), reconciler_->desired(), reconciler_->observed().kernel);
    for (const auto& line : directors_.step(session_.netlink(), Clock::now())) {
        if (line.find(" is unreachable") != std::string::npos || line.find("new MAC") != std::string::npos) logWarning(line);
        else logInfo(line);
    }
    // What the snapshot shows (the probes counted too): not the entry's state and age, which
    // move with every probe.
    auto shown = [](const std::vector<DirectorStatus>& list) {
        std::vector<std::tuple<std::string, int, std::string, std::string, bool, std::uint64_t, std::uint64_t>> out;
        for (const auto& d : list)
            out.emplace_back(d.director.str(), static_cast<int>(d.reach), d.why, d.mac, d.managed, d.macChanges, d.probes);
        return out;
    };
    return shown(before) != shown(directors_.status());
}

void Daemon::publish() {
    publishedCounters_ = state_.changesSeen + state_.changesIgnored + state_.fullDumps + state_.overruns;
    publishedResults_ = checker_ ? checker_->results() : 0;  // before the statuses: a result between shows next tick
    const auto services = checker_ ? checker_->statuses() : std::vector<ServiceStatus>{};
    auto snap = board_.snapshot(cfg_, *reconciler_, services, state_, kVersion, directors_.status());
    if (checker_) {
        snap->probeDelays = checker_->delays();
        snap->checkWorkers = checker_->workers();
    }
    publishedActivity_ = tunnelActivity();  // before the counters: a packet between is seen next tick
    fillTunnel(snap->tunnel);
    const auto touched = board_.takeTouched();
    transitions_.observe(*snap, services, touched ? &*touched : nullptr);
    notifier_.status(api::statusLine(*snap));
    const api::Snapshot& published = *snap;
    store_.publish(std::move(snap));
    followReadiness(published);
    keepTunnelStored();
}

void Daemon::followReadiness(const api::Snapshot& s) {
    // Until the first pass has confirmed the state, what an earlier process announced is
    // held as it is (a restart leaves the routers' paths alone).
    if (!state_.converged()) return;
    std::set<netcfg::IpAddress> announce;
    const auto& d = reconciler_->desired();
    if (d.announceTable != 0 && !state_.stopping())
        s.vips.forEach([&](const api::VipReadiness& v) {
            if (!v.announceable || !api::vipReady(s, v)) return;
            // a range's entry is named "198.18.0.0/24": the VIP is its network address
            if (auto ip = netcfg::IpAddress::parse(v.vip.substr(0, v.vip.find('/')))) announce.insert(*ip);
        });
    if (!d.holdAnnounced && announce == d.announced) return;
    reconciler_->setAnnounced(std::move(announce));
}

}  // namespace agent
