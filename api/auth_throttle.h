#pragma once
// Failed POST /drain and /undrain attempts, per client address: after kMaxFailures in a
// window a client is refused (429, without comparing its token) until the window ends,
// and what is logged about it is rate-limited, so neither guessing nor the log can be
// flooded. Thread-safe; the table is bounded.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace api {

class AuthThrottle {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr int kMaxFailures = 5;
    static constexpr std::chrono::seconds kWindow{60};
    static constexpr std::size_t kMaxClients = 4096;

    // Seconds until the client may try again, or nothing when it may now.
    std::optional<int> refusedFor(const std::string& client, Clock::time_point now);
    // Records a failed attempt; returns the line to log, or "" when rate-limited.
    std::string failed(const std::string& client, const std::string& why, Clock::time_point now);
    std::uint64_t failures() const { return total_.load(); }

private:
    struct Entry {
        int failures = 0;
        Clock::time_point windowStart{};
    };
    Entry& entryFor(const std::string& client, Clock::time_point now);
    bool mayLog(Clock::time_point now);

    std::mutex mu_;
    std::unordered_map<std::string, Entry> clients_;
    Entry others_;  // every client beyond kMaxClients shares one entry
    double logTokens_ = 5;  // a burst of 5 lines, then one a second
    Clock::time_point logRefill_{};
    int suppressed_ = 0;
    std::atomic<std::uint64_t> total_{0};
};

}  // namespace api
