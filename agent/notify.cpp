#include "agent/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace agent {

SystemdNotifier::SystemdNotifier() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdogUsec_ = std::chrono::microseconds(usec);
}

void SystemdNotifier::ready(const std::string& status) {
    lastStatus_ = status;
    sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void SystemdNotifier::status(const std::string& status) {
    if (status == lastStatus_) return;
    lastStatus_ = status;
    sd_notify(0, ("STATUS=" + status).c_str());
}

void SystemdNotifier::reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const long long usec = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec)).c_str());
}

void SystemdNotifier::stopping(const std::string& status) { sd_notify(0, ("STOPPING=1\nSTATUS=" + status).c_str()); }

void SystemdNotifier::watchdog(std::chrono::steady_clock::time_point now) {
    if (!watchdogUsec_ || now - lastWatchdog_ < *watchdogUsec_ / 2) return;
    lastWatchdog_ = now;
    sd_notify(0, "WATCHDOG=1");
}

std::optional<std::chrono::milliseconds> SystemdNotifier::watchdogPeriod() const {
    if (!watchdogUsec_) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(*watchdogUsec_ / 2);
}

}  // namespace agent
