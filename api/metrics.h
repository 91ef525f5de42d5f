#pragma once
// Prometheus text exposition format 0.0.4, names prefixed lvs_rs_agent_.
#include <cstdint>
#include <string>

#include "api/snapshot.h"

namespace api {

// What the HTTP engine did, for tests and /metrics.
struct HttpCounters {
    std::uint64_t accepted = 0;
    std::uint64_t refusedPerClient = 0;  // the client already had maxPerClient open
    std::uint64_t refusedFull = 0;       // maxConnections open and none idle
    std::uint64_t evicted = 0;           // idle ones closed to make room
    std::uint64_t headTimeouts = 0;      // head not in within headDeadline
    std::uint64_t exchangeTimeouts = 0;  // answer not taken within exchangeDeadline
    std::uint64_t authFailures = 0;      // POST /drain or /undrain with a missing or wrong token
    int open = 0;
};

std::string renderMetrics(const Snapshot& s, double nowUnix);
std::string renderApiMetrics(const HttpCounters& c);

// The standard process metrics of Prometheus' client libraries (process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds), read from /proc/self (or procDir) now.
std::string renderProcessMetrics(double startedAtUnix, const std::string& procDir = "/proc/self");

}  // namespace api
