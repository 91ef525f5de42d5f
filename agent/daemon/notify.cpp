#include "agent/daemon/notify.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <sstream>

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
    char** raw = nullptr;
    const int n = sd_listen_fds_with_names(1, &raw);
    // libsystemd's strv: each name and the array malloc'd, freed by strv_free's equivalent
    struct FreeNames {
        int count;
        void operator()(char** v) const noexcept {
            for (int i = 0; i < count; ++i) std::free(v[i]);
            std::free(v);
        }
    };
    const std::unique_ptr<char*, FreeNames> names(raw, FreeNames{std::max(n, 0)});
    for (int i = 0; i < n; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        out.emplace(names && names.get()[i] ? names.get()[i] : "unknown", UniqueFd(fd));
    }
    return out;
}

namespace {
constexpr std::size_t kBundleMax = 64;
std::string sysError(const std::string& doing) { return doing + ": " + std::strerror(errno); }
// A message of one buffer with room for `fds` descriptors.
msghdr message(iovec& iov, std::vector<char>& control, std::size_t fds) {
    control.assign(CMSG_SPACE(sizeof(int) * fds), 0);
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    return msg;
}
}  // namespace

std::expected<UniqueFd, std::string> bundleFds(const std::vector<std::pair<std::string, int>>& fds) {
    if (fds.empty() || fds.size() > kBundleMax) return std::unexpected("a bundle holds 1 to 64 descriptors");
    std::string names;
    std::vector<int> raw;
    for (const auto& [name, fd] : fds) {
        if (name.find('\n') != std::string::npos) return std::unexpected("a bundled descriptor's name has a newline");
        names += name + "\n";
        raw.push_back(fd);
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) return std::unexpected(sysError("socketpair"));
    UniqueFd in(pair[0]), out(pair[1]);
    std::vector<char> control;
    iovec iov{names.data(), names.size()};
    msghdr msg = message(iov, control, raw.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * raw.size());
    std::memcpy(CMSG_DATA(c), raw.data(), sizeof(int) * raw.size());
    if (::sendmsg(out.get(), &msg, MSG_NOSIGNAL) < 0) return std::unexpected(sysError("bundling descriptors"));
    return in;  // the datagram stays queued on it once `out` is closed
}

std::expected<std::multimap<std::string, UniqueFd>, std::string> unbundleFds(int bundle) {
    std::vector<char> names(kBundleMax * 256);
    std::vector<char> control;
    iovec iov{names.data(), names.size()};
    msghdr msg = message(iov, control, kBundleMax);
    const ssize_t n = ::recvmsg(bundle, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return std::unexpected(sysError("reading a descriptor bundle"));
    std::vector<UniqueFd> got;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                got.emplace_back(fd);
            }
        }
    if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) return std::unexpected("a descriptor bundle was cut short");
    std::multimap<std::string, UniqueFd> out;
    std::istringstream in(std::string(names.data(), static_cast<std::size_t>(n)));
    std::string name;
    for (auto& fd : got) {
        if (!std::getline(in, name)) return std::unexpected("a descriptor bundle has fewer names than descriptors");
        out.emplace(name, std::move(fd));
    }
    return out;
}

}  // namespace agent
