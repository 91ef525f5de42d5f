#include "agent/reconcile/flap_damper.h"

#include <algorithm>

namespace agent {

std::optional<std::string> FlapDamper::recordRepairs(const std::vector<Repair>& repairs, Clock::time_point now) {
    std::vector<std::string> stepped;
    std::size_t steppedCount = 0;
    std::chrono::milliseconds longest{0};
    for (const auto& r : repairs) {
        Item& it = items_[{r.item, r.aspect}];
        it.label = r.label;
        while (!it.times.empty() && now - it.times.front() > kWindow) it.times.pop_front();
        it.times.push_back(now);
        if (static_cast<int>(it.times.size()) < kThreshold) continue;
        if (it.step == 0) ++fightingCount_;
        const auto previous = it.backoff;
        ++it.step;
        it.backoff = doublingBackoff(kFirstBackoff, it.step, kMaxBackoff);
        it.nextAllowed = now + it.backoff;
        if (it.backoff == previous) continue;  // at the cap: no new step to report
        ++steppedCount;
        if (stepped.size() < 3) stepped.push_back(it.label);
        longest = std::max(longest, it.backoff);
    }
    if (steppedCount == 0) return std::nullopt;
    return "fighting: something keeps undoing " + summarise(stepped, steppedCount) + "; next repair in " +
           std::to_string(longest.count()) + " ms";
}

std::optional<std::string> FlapDamper::settle(Clock::time_point now) {
    std::vector<std::string> calm;
    std::size_t calmCount = 0;
    for (auto i = items_.begin(); i != items_.end();) {
        Item& it = i->second;
        while (!it.times.empty() && now - it.times.front() > kWindow) it.times.pop_front();
        if (it.step > 0 && static_cast<int>(it.times.size()) < kThreshold && now >= it.nextAllowed) {
            it.step = 0;
            it.backoff = std::chrono::milliseconds(0);
            --fightingCount_;
            ++calmCount;
            if (calm.size() < 3) calm.push_back(it.label);
        }
        i = it.times.empty() && it.step == 0 ? items_.erase(i) : std::next(i);
    }
    if (calmCount == 0) return std::nullopt;
    return "no longer fighting over " + summarise(calm, calmCount) + ": " +
           (fightingCount_ == 0 ? "settings have stayed in place" : thousands(fightingCount_) + " item(s) still backed off");
}

FlapDamper::Clock::time_point FlapDamper::nextAllowed(const Subject& item) const {
    Clock::time_point at{};
    for (auto it = items_.lower_bound({item, std::string()}); it != items_.end() && it->first.first == item; ++it)
        if (it->second.step > 0) at = std::max(at, it->second.nextAllowed);
    return at;
}

std::vector<std::string> FlapDamper::fightingWith() const {
    std::vector<std::string> out;
    for (const auto& [s, it] : items_)
        if (it.step > 0 && out.size() < kListed) out.push_back(it.label);
    return out;
}

std::chrono::milliseconds FlapDamper::backoff() const {
    std::chrono::milliseconds longest{0};
    for (const auto& [s, it] : items_) longest = std::max(longest, it.backoff);
    return longest;
}

}  // namespace agent
