#pragma once
// The service checks, with keepalived / HAProxy style rise and fall counts, off the
// reconcile loop's thread: one scheduling thread (CheckSchedule: every check on its own
// slots) hands each due probe to a worker pool that grows when none is idle, so a probe
// that hangs until its timeout never holds back another check's. A probe past its
// deadline is given up (down) at once and its worker told to end it.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/check_schedule.h"
#include "agent/daemon/probe.h"
#include "agent/daemon/worker_pool.h"
#include "api/snapshot.h"

namespace agent {

struct ServiceStatus {
    ServiceCheck check;
    bool checked = false;  // a probe has completed: until then "not checked yet"
    bool up = false;       // starts down: `rise` successes are needed first
    int successes = 0;     // consecutive
    int failures = 0;      // consecutive
    std::string lastError;
    long long checks = 0;
    std::uint64_t probesUp = 0, probesDown = 0, probesTimedOut = 0;
    double lastProbeSeconds = 0;
};

class ServiceChecker {
public:
    // onChange is called (from a checker thread) when a check's readiness moved: it went
    // up or down, or was checked for the first time. Counters and the last error move with
    // every probe: results() tells when there is something new to show.
    // previous: the states to carry on, by the check's identity (ServiceCheck::name()): a
    // check whose other settings changed keeps its state and counters and probes at its
    // next slot; a new one is not checked yet, and probed at once.
    ServiceChecker(std::vector<ServiceCheck> checks, std::function<void()> onChange,
                   const std::map<std::string, ServiceStatus>& previous = {});
    ~ServiceChecker();
    ServiceChecker(const ServiceChecker&) = delete;
    ServiceChecker& operator=(const ServiceChecker&) = delete;

    std::vector<ServiceStatus> statuses() const;
    std::uint64_t results() const { return results_.load(); }
    api::ProbeDelays delays() const;
    std::size_t workers() const { return pool_ ? pool_->threads() : 0; }

private:
    void loop();
    void probed(std::size_t index, std::uint64_t run, const ProbeOutcome& o, double seconds);
    // With mu_ held: counts a result; true when the check's readiness moved.
    bool record(std::size_t index, const ProbeOutcome& o, double seconds);

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::vector<ServiceStatus> statuses_;
    std::vector<std::unique_ptr<Prober>> probers_;
    std::vector<std::shared_ptr<ProbeCancel>> cancels_;  // each check's probe in flight
    CheckSchedule schedule_;
    api::ProbeDelays delays_;
    std::atomic<std::uint64_t> results_{0};
    std::function<void()> onChange_;
    std::unique_ptr<WorkerPool> pool_;  // its jobs use the members above: ended first
    std::thread thread_;
};

}  // namespace agent
