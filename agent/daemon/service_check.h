#pragma once
// Checks of the local services on their VIPs (TCP connect, HTTP GET) with keepalived /
// HAProxy style rise and fall counts, run on a thread of their own so that a slow
// service never blocks the reconcile loop.
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/config/config.h"

namespace agent {

// One probe: nullopt on success, else why it failed.
std::optional<std::string> probeService(const ServiceCheck& check);

struct ServiceStatus {
    ServiceCheck check;
    bool checked = false;  // a probe has completed: until then "not checked yet"
    bool up = false;  // starts down: `rise` successes are needed first
    int successes = 0;  // consecutive
    int failures = 0;   // consecutive
    std::string lastError;
    long long checks = 0;
};

class ServiceChecker {
public:
    // onChange is called (from the checker thread) after every probe, so that what
    // /status shows (checks, last_error) is never older than one check interval.
    // previous: the states to carry on, by the check's identity (ServiceCheck::name(): type,
    // VIP, port, path): a check whose other settings changed keeps its state and counters;
    // a new one is not checked yet, and probed at once.
    ServiceChecker(std::vector<ServiceCheck> checks, std::function<void()> onChange,
                   const std::map<std::string, ServiceStatus>& previous = {});
    ~ServiceChecker();
    ServiceChecker(const ServiceChecker&) = delete;
    ServiceChecker& operator=(const ServiceChecker&) = delete;

    std::vector<ServiceStatus> statuses() const;

private:
    void loop();

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::vector<ServiceStatus> statuses_;
    std::function<void()> onChange_;
    std::thread thread_;
};

}  // namespace agent
