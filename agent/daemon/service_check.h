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
    // wasUp: the checks (by name) that were up in the process this one took over from.
    ServiceChecker(std::vector<ServiceCheck> checks, std::function<void()> onChange, const std::map<std::string, bool>& wasUp = {});
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
