#pragma once
// Flap damping per item: when something keeps undoing one setting (a fight with
// NetworkManager or a script), that item's repairs back off exponentially instead of
// spinning, while every other item is still repaired at once. An item repaired
// kThreshold times within kWindow is "being fought over"; each further repair doubles
// its wait, from kFirstBackoff up to kMaxBackoff. Log lines stay short whatever the
// number of items (a few names, then a count).
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/text.h"
#include "agent/reconcile/finding.h"

namespace agent {

class FlapDamper {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kWindow = std::chrono::seconds(10);
    static constexpr int kThreshold = 3;
    static constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
    static constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

    // One setting of an item: a VIP has its address and its route, each damped alone.
    struct Repair {
        Subject item;
        std::string aspect;  // "address", "route", "sysctl", "link"
        std::string label;   // "address 198.51.100.1/32", "net.ipv4.conf.all.arp_announce"
    };
    // Records repairs made at `now`. Returns a log line when items start a new backoff step.
    std::optional<std::string> recordRepairs(const std::vector<Repair>& repairs, Clock::time_point now);
    // Items whose window no longer holds a fight stop being damped; returns a log line then.
    std::optional<std::string> settle(Clock::time_point now);

    // When the item may be repaired next (now or earlier: at once): the latest of its
    // settings' backoffs.
    Clock::time_point nextAllowed(const Subject& item) const;
    bool fighting() const { return fightingCount_ > 0; }
    // A few of the items fought over (at most kListed), and how many there are.
    std::vector<std::string> fightingWith() const;
    std::size_t fightingCount() const { return fightingCount_; }
    std::chrono::milliseconds backoff() const;  // the longest current backoff
    static constexpr std::size_t kListed = 20;

private:
    struct Item {
        std::deque<Clock::time_point> times;
        int step = 0;
        std::chrono::milliseconds backoff{0};
        Clock::time_point nextAllowed{};
        std::string label;
    };
    std::map<std::pair<Subject, std::string>, Item> items_;
    std::size_t fightingCount_ = 0;
};

// The wait before try number `step` (1, 2, ...): first, doubling each time, at most cap.
// The flap damper's steps and a failed item's retries both back off this way.
inline std::chrono::milliseconds doublingBackoff(std::chrono::milliseconds first, int step, std::chrono::milliseconds cap) {
    const int doublings = step <= 1 ? 0 : step - 1 > 16 ? 16 : step - 1;
    const std::chrono::milliseconds wait = first * (1L << doublings);
    return wait < cap ? wait : cap;
}

}  // namespace agent
