#include "agent/daemon/check_schedule.h"

#include <algorithm>

namespace agent {
namespace {

// FNV-1a: a phase that stays the same for a check across restarts and reloads.
std::uint64_t hashOf(const std::string& s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

}  // namespace

CheckSchedule::Time CheckSchedule::slotFrom(const Entry& e, Time t) const {
    const auto since = std::chrono::duration_cast<Ms>(t - epoch_);
    const auto base = since - since % e.interval;  // the interval's start at or before t
    Time slot = epoch_ + base + e.phase;
    if (slot < t) slot += e.interval;
    return slot;
}

std::size_t CheckSchedule::add(const std::string& name, Ms interval, Ms timeout, Time now, bool soon) {
    Entry e{.interval = std::max(interval, Ms(1)), .timeout = timeout, .phase = Ms(0), .due = now, .started = now, .deadline = now, .freed = now};
    e.phase = Ms(static_cast<long long>(hashOf(name) % static_cast<std::uint64_t>(e.interval.count())));
    e.due = soon ? now : slotFrom(e, now);
    entries_.push_back(e);
    return entries_.size() - 1;
}

std::vector<CheckSchedule::Start> CheckSchedule::startDue(Time now) {
    std::vector<Start> out;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        Entry& e = entries_[i];
        if (e.state != State::Idle || e.due > now) continue;
        e.state = State::Running;
        e.started = now;
        e.deadline = now + e.timeout;
        ++e.run;
        out.push_back({.index = i, .run = e.run, .deadline = e.deadline, .late = now - std::max(e.due, e.freed)});
        // The next slot: at least half an interval on (a new check's first probe came early).
        e.due = slotFrom(e, e.due + e.interval / 2 + Ms(1));
        if (e.due <= now) e.due = slotFrom(e, now + Ms(1));
    }
    return out;
}

std::vector<std::size_t> CheckSchedule::expire(Time now) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].state == State::Running && entries_[i].deadline <= now) {
            entries_[i].state = State::GivenUp;
            out.push_back(i);
        }
    return out;
}

bool CheckSchedule::finish(std::size_t index, std::uint64_t run, Time now) {
    Entry& e = entries_.at(index);
    if (run != e.run || e.state == State::Idle) return false;
    const bool counts = e.state == State::Running;
    e.state = State::Idle;
    e.freed = now;
    return counts;
}

std::optional<CheckSchedule::Time> CheckSchedule::nextWake() const {
    std::optional<Time> next;
    auto consider = [&](Time t) {
        if (!next || t < *next) next = t;
    };
    for (const auto& e : entries_) {
        if (e.state == State::Running) consider(e.deadline);
        // A check still in flight probes again once it is done (finish wakes the loop).
        if (e.state == State::Idle) consider(e.due);
    }
    return next;
}

}  // namespace agent
