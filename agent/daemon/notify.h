#pragma once
// systemd's notify protocol (Type=notify): READY=1, STATUS=, RELOADING=1, STOPPING=1,
// EXTEND_TIMEOUT_USEC= and WATCHDOG=1 when WATCHDOG_USEC is set. Outside systemd (no NOTIFY_SOCKET) every
// call does nothing.
#include <chrono>
#include <optional>
#include <string>

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

private:
    std::optional<std::chrono::microseconds> watchdogUsec_;
    std::chrono::steady_clock::time_point lastWatchdog_{};
    std::string lastStatus_;
};

}  // namespace agent
