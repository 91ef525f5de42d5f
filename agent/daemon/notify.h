#pragma once
// systemd's notify protocol (Type=notify), through libsystemd's sd-daemon: READY=1,
// STATUS=, RELOADING=1, STOPPING=1, EXTEND_TIMEOUT_USEC=, WATCHDOG=1 when WATCHDOG_USEC is
// set, and the file descriptor store (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1): the API's
// listening sockets are kept there, so they outlive a restart and are passed back to the
// next process (LISTEN_FDS, LISTEN_FDNAMES). Outside systemd (no NOTIFY_SOCKET) every call
// does nothing and nothing is inherited.
#include <chrono>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/unique_fd.h"

namespace agent {

class SystemdNotifier {
public:
    SystemdNotifier();
    void ready(const std::string& status);
    void status(const std::string& status);
    void reloading();
    void stopping(const std::string& status);
    // EXTEND_TIMEOUT_USEC: the current state (here: stopping) needs this much longer from
    // now; systemd then does not kill at TimeoutStopSec while the messages keep coming.
    void extendTimeout(std::chrono::microseconds more);
    // Sends WATCHDOG=1 when half the watchdog interval has passed since the last one.
    void watchdog(std::chrono::steady_clock::time_point now);
    // How often the loop must wake up for the watchdog, if enabled.
    std::optional<std::chrono::milliseconds> watchdogPeriod() const;

    // Keeps a duplicate of fd in systemd's store under name (FileDescriptorStoreMax= must
    // allow it); false when not under systemd or refused.
    bool storeFd(const std::string& name, int fd);
    // Drops the store's descriptors of that name.
    void removeStoredFd(const std::string& name);

    bool underSystemd() const { return underSystemd_; }

private:
    bool underSystemd_ = false;
    std::optional<std::chrono::microseconds> watchdogUsec_;
    std::chrono::steady_clock::time_point lastWatchdog_{};
    std::string lastStatus_;
};

// The descriptors systemd passed to this process (its store, or socket activation), by
// name; taken once (the environment variables are cleared), each marked close-on-exec.
std::multimap<std::string, UniqueFd> takeInheritedFds();

// Several named descriptors as one, for the store: the receiving end of a socketpair with
// one datagram queued that carries them (SCM_RIGHTS) and their names. The store tells its
// descriptors apart by inode where the kernel has no kcmp(), and every BPF program (every
// map) shares one anonymous inode: eight of them would be kept as two. A bundle is a
// socket of its own. At most 64 descriptors; names without a newline.
std::expected<UniqueFd, std::string> bundleFds(const std::vector<std::pair<std::string, int>>& fds);
// Takes a bundle apart (its datagram is read: once); the descriptors close-on-exec.
std::expected<std::multimap<std::string, UniqueFd>, std::string> unbundleFds(int bundle);

}  // namespace agent
