#include "agent/base/log.h"

#include <sys/time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace agent {

namespace {
const bool kJournal = std::getenv("JOURNAL_STREAM") != nullptr;
std::atomic<bool> stamps{false};

// "2026-12-06T21:40:01.123+0000 "
std::string stamp() {
    timeval tv{};
    ::gettimeofday(&tv, nullptr);
    tm local{};
    ::localtime_r(&tv.tv_sec, &local);
    char date[40], zone[8];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
    std::strftime(zone, sizeof zone, "%z", &local);
    char out[64];
    std::snprintf(out, sizeof out, "%s.%03ld%s ", date, static_cast<long>(tv.tv_usec / 1000), zone);
    return out;
}
}  // namespace

void logTimestamps(bool on) { stamps = on && !kJournal; }

void logLine(Priority p, const std::string& line) {
    if (kJournal) {
        std::fprintf(stderr, "<%d>%s\n", static_cast<int>(p), line.c_str());
        return;
    }
    const std::string when = stamps ? stamp() : std::string();
    std::fprintf(stderr, "%s%s%s\n", when.c_str(), p <= Priority::Error ? "error: " : "", line.c_str());
}

}  // namespace agent
