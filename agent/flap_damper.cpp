#include "agent/flap_damper.h"

#include <algorithm>

namespace agent {

void FlapDamper::prune(Clock::time_point now) {
    for (auto it = history_.begin(); it != history_.end();) {
        auto& times = it->second;
        while (!times.empty() && now - times.front() > kWindow) times.pop_front();
        it = times.empty() ? history_.erase(it) : std::next(it);
    }
}

std::optional<std::string> FlapDamper::recordRepairs(const std::vector<std::string>& items, Clock::time_point now) {
    prune(now);
    for (const auto& i : items) history_[i].push_back(now);
    fightingWith_.clear();
    for (const auto& [item, times] : history_)
        if (static_cast<int>(times.size()) >= kThreshold) fightingWith_.push_back(item);
    if (fightingWith_.empty()) {
        nextAllowed_ = now;
        return std::nullopt;
    }
    const auto previous = backoff_;
    ++step_;
    backoff_ = std::min<std::chrono::milliseconds>(kMaxBackoff, kFirstBackoff * (1 << std::min(step_ - 1, 16)));
    nextAllowed_ = now + backoff_;
    if (backoff_ == previous) return std::nullopt;  // at the cap: no new step to report
    std::string list;
    for (const auto& f : fightingWith_) list += (list.empty() ? "" : ", ") + f;
    return "fighting: something keeps undoing " + list + "; next repair in " + std::to_string(backoff_.count()) + " ms";
}

std::optional<std::string> FlapDamper::recordQuiet(Clock::time_point now) {
    prune(now);
    if (step_ == 0) return std::nullopt;
    const bool stillFighting = std::any_of(history_.begin(), history_.end(), [](const auto& h) {
        return static_cast<int>(h.second.size()) >= kThreshold;
    });
    if (stillFighting) return std::nullopt;
    step_ = 0;
    backoff_ = std::chrono::milliseconds(0);
    nextAllowed_ = now;
    fightingWith_.clear();
    return "no longer fighting: settings have stayed in place";
}

}  // namespace agent
