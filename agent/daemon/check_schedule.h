#pragma once
// When each service check probes, as a plain state machine on a clock it is given (the
// checker's thread drives it with the real one, the tests with their own): every check
// on its own schedule, a probe in flight never holding back another check, never two
// probes of one check at once, a probe past its deadline given up (its verdict: down)
// while its worker winds it down.
//
// The slots: each check has a phase within its interval (from a hash of its name), so a
// thousand checks of one interval spread over it instead of probing all at once. A new
// check is probed at once; then at its slots (the second probe at least half an interval
// after the first), every interval.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agent {

class CheckSchedule {
public:
    using Clock = std::chrono::steady_clock;
    using Time = Clock::time_point;
    using Ms = std::chrono::milliseconds;

    explicit CheckSchedule(Time epoch) : epoch_(epoch) {}

    // A check; probed at `now` when soon, else at its first slot after now.
    std::size_t add(const std::string& name, Ms interval, Ms timeout, Time now, bool soon);

    struct Start {
        std::size_t index;
        std::uint64_t run;  // this probe, for finish()
        Time deadline;
        // How long after it could start it starts: after its slot, or, when its own
        // previous probe ran past that slot, after that probe ended. This is the checker's
        // delay (other checks, the pool); a check busy with itself is not late.
        Clock::duration late;
    };
    // The probes due at now, each marked in flight.
    std::vector<Start> startDue(Time now);
    // The probes in flight past their deadline: given up (down), still winding down.
    std::vector<std::size_t> expire(Time now);
    // A probe ended at now: true when its result counts (it was not given up).
    bool finish(std::size_t index, std::uint64_t run, Time now);
    // When something is next due: a slot or a deadline (nullopt: nothing scheduled).
    std::optional<Time> nextWake() const;
    // Whether a probe of the check is in flight or winding down.
    bool busy(std::size_t index) const { return entries_.at(index).state != State::Idle; }
    std::size_t size() const { return entries_.size(); }

private:
    enum class State { Idle, Running, GivenUp };
    struct Entry {
        Ms interval, timeout, phase;
        Time due, started, deadline;
        Time freed;  // when its last probe ended
        State state = State::Idle;
        std::uint64_t run = 0;
    };
    // The first slot of e at or after t.
    Time slotFrom(const Entry& e, Time t) const;

    Time epoch_;
    std::vector<Entry> entries_;
};

}  // namespace agent
