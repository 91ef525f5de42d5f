#include "agent/daemon/notify.h"

#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

namespace agent {

SystemdNotifier::SystemdNotifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    underSystemd_ = socket && *socket;
    // WATCHDOG_USEC applies to this process only if WATCHDOG_PID is unset or names it.
    const char* usec = std::getenv("WATCHDOG_USEC");
    const char* pid = std::getenv("WATCHDOG_PID");
    if (usec && (!pid || std::atol(pid) == static_cast<long>(::getpid()))) {
        const long long v = std::atoll(usec);
        if (v > 0) watchdogUsec_ = std::chrono::microseconds(v);
    }
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

void SystemdNotifier::extendTimeout(std::chrono::microseconds more) {
    sd_notify(0, ("EXTEND_TIMEOUT_USEC=" + std::to_string(more.count())).c_str());
}

void SystemdNotifier::watchdog(std::chrono::steady_clock::time_point now) {
    if (!watchdogUsec_ || now - lastWatchdog_ < *watchdogUsec_ / 2) return;
    lastWatchdog_ = now;
    sd_notify(0, "WATCHDOG=1");
}

std::optional<std::chrono::milliseconds> SystemdNotifier::watchdogPeriod() const {
    if (!watchdogUsec_) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(*watchdogUsec_ / 2);
}

bool SystemdNotifier::storeFd(const std::string& name, int fd) {
    if (!underSystemd_ || fd < 0) return false;
    return sd_pid_notify_with_fds(0, 0, ("FDSTORE=1\nFDNAME=" + name).c_str(), &fd, 1) > 0;
}

void SystemdNotifier::removeStoredFd(const std::string& name) {
    if (underSystemd_) sd_notify(0, ("FDSTOREREMOVE=1\nFDNAME=" + name).c_str());
}

std::multimap<std::string, UniqueFd> takeInheritedFds() {
    std::multimap<std::string, UniqueFd> out;
    char** names = nullptr;
    const int n = sd_listen_fds_with_names(1, &names);
    for (int i = 0; i < n; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        out.emplace(names && names[i] ? names[i] : "unknown", UniqueFd(fd));
    }
    if (names) {
        for (int i = 0; i < n; ++i) std::free(names[i]);
        std::free(names);
    }
    return out;
}

}  // namespace agent
