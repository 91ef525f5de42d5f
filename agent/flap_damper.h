#pragma once
// Flap damping: when something keeps undoing a setting (a fight with NetworkManager or a
// script), repairs back off exponentially instead of spinning. A setting repaired
// kThreshold times within kWindow is "being fought over"; each further repair doubles
// the wait before the next one, from kFirstBackoff up to kMaxBackoff. One log line per
// backoff step.
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agent {

class FlapDamper {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kWindow = std::chrono::seconds(10);
    static constexpr int kThreshold = 3;
    static constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
    static constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

    // Records repairs made at `now` (one entry per setting, e.g. "address 198.51.100.1/32").
    // Returns a log line when this starts a new backoff step.
    std::optional<std::string> recordRepairs(const std::vector<std::string>& items, Clock::time_point now);
    // A pass found nothing to repair; once the window holds no fight, damping ends.
    std::optional<std::string> recordQuiet(Clock::time_point now);

    // The earliest time the next repair may run.
    Clock::time_point nextAllowed() const { return nextAllowed_; }
    bool fighting() const { return step_ > 0; }
    std::vector<std::string> fightingWith() const { return fightingWith_; }
    std::chrono::milliseconds backoff() const { return backoff_; }

private:
    void prune(Clock::time_point now);
    std::map<std::string, std::deque<Clock::time_point>> history_;
    int step_ = 0;
    std::chrono::milliseconds backoff_{0};
    Clock::time_point nextAllowed_{};
    std::vector<std::string> fightingWith_;
};

}  // namespace agent
