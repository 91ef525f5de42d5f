#include "agent/daemon/service_check.h"

#include <algorithm>

namespace agent {
namespace {

using Clock = std::chrono::steady_clock;
// A probe keeps its own deadline (and says what it was waiting for); the checker gives it
// up only this much later, when it has not (a busy machine is not a hung probe).
constexpr auto kGrace = std::chrono::milliseconds(200);
// At most 128 probes at once: a burst (the start probes every check) waits for a free
// thread rather than growing past what the unit's TasksMax allows; 128 checks hanging
// until their timeouts at once are needed to delay another.
constexpr std::size_t kMinWorkers = 2, kMaxWorkers = 128;

}  // namespace

ServiceChecker::ServiceChecker(std::vector<ServiceCheck> checks, std::function<void()> onChange,
                               const std::map<std::string, ServiceStatus>& previous)
    : schedule_(Clock::now()), onChange_(std::move(onChange)) {
    std::vector<bool> probeAtOnce;
    for (auto& c : checks) {
        ServiceStatus s;
        const auto it = previous.find(c.name());
        if (it != previous.end()) s = it->second;  // its state, counters and all
        s.check = std::move(c);
        if (s.up) s.successes = std::max(s.successes, s.check.rise);  // up: as many successes as it takes
        probeAtOnce.push_back(it == previous.end() || !s.checked);
        probers_.push_back(makeProber(s.check));
        cancels_.push_back(nullptr);
        statuses_.push_back(std::move(s));
    }
    if (statuses_.empty()) return;
    // Scheduled from now, once the probers are made (a TLS context takes a while): the
    // time that took is not counted as the first probes' lateness.
    const auto now = Clock::now();
    for (std::size_t i = 0; i < statuses_.size(); ++i) {
        const auto& c = statuses_[i].check;
        schedule_.add(c.name(), std::chrono::milliseconds(c.intervalMs), std::chrono::milliseconds(c.timeoutMs) + kGrace, now, probeAtOnce[i]);
    }
    pool_ = std::make_unique<WorkerPool>(kMinWorkers, std::clamp(statuses_.size(), kMinWorkers, kMaxWorkers));
    thread_ = std::thread([this] { loop(); });
}

ServiceChecker::~ServiceChecker() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        for (auto& c : cancels_)
            if (c) c->cancel();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    pool_.reset();  // waits for the probes under way, all told to end
}

std::vector<ServiceStatus> ServiceChecker::statuses() const {
    std::lock_guard lock(mu_);
    return statuses_;
}

api::ProbeDelays ServiceChecker::delays() const {
    std::lock_guard lock(mu_);
    return delays_;
}

bool ServiceChecker::record(std::size_t i, const ProbeOutcome& o, double seconds) {
    auto& s = statuses_[i];
    const bool wasUp = s.up, wasChecked = s.checked;
    ++s.checks;
    s.checked = true;
    s.lastProbeSeconds = seconds;
    if (o.up) {
        ++s.probesUp;
        s.lastError.clear();
        s.failures = 0;
        if (++s.successes >= s.check.rise) s.up = true;
    } else {
        ++(o.timedOut ? s.probesTimedOut : s.probesDown);
        s.lastError = o.reason;
        s.successes = 0;
        if (++s.failures >= s.check.fall) s.up = false;
    }
    ++results_;
    return s.up != wasUp || !wasChecked;
}

void ServiceChecker::probed(std::size_t i, std::uint64_t run, const ProbeOutcome& o, double seconds) {
    bool moved = false;
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        if (schedule_.finish(i, run, Clock::now())) moved = record(i, o, seconds);
    }
    cv_.notify_one();  // its next probe may be due already
    if (moved && onChange_) onChange_();
}

void ServiceChecker::loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const auto now = Clock::now();
        bool moved = false;
        for (const std::size_t i : schedule_.expire(now)) {
            cancels_[i]->cancel();
            const int ms = statuses_[i].check.timeoutMs;
            moved = record(i, {.up = false, .reason = "no result within " + std::to_string(ms) + " ms", .timedOut = true}, ms / 1000.0) || moved;
        }
        for (const auto& start : schedule_.startDue(now)) {
            delays_.add(std::chrono::duration<double>(start.late).count());
            auto cancel = std::make_shared<ProbeCancel>();
            cancels_[start.index] = cancel;
            Prober* prober = probers_[start.index].get();
            const auto deadline = start.deadline - kGrace;
            pool_->run([this, start, cancel, prober, deadline] {
                const auto t0 = Clock::now();
                const ProbeOutcome o = prober->probe(deadline, *cancel);
                probed(start.index, start.run, o, std::chrono::duration<double>(Clock::now() - t0).count());
            });
        }
        if (moved && onChange_) {
            lock.unlock();
            onChange_();
            lock.lock();
            continue;
        }
        if (const auto next = schedule_.nextWake())
            cv_.wait_until(lock, *next);
        else
            cv_.wait(lock);
    }
}

}  // namespace agent
