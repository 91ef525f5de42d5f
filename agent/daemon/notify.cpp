#include "agent/daemon/notify.h"

#include "agent/base/unique_fd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace agent {
namespace {

// sd_notify(3)'s documented datagram protocol: one datagram of NEWLINE-separated
// assignments to the AF_UNIX socket named in $NOTIFY_SOCKET ('@' for the abstract
// namespace). Written here instead of linking libsystemd, which brings in half a dozen
// compression and crypto libraries that a daemon this small would carry in its memory.
void sd_notify(int, const char* state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return;
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';
    const UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return;
    ::sendto(fd.get(), state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
             static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
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

}  // namespace agent
