#pragma once
// The values readiness is made of (api/readiness.h computes them, and words the reasons):
// a state with typed reasons, the drains it follows, and the agent's lifecycle phase as
// readiness sees it. Plain values, carried by the snapshot.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace api {

// Where the agent is in its life, as readiness sees it.
enum class Lifecycle {
    Starting,     // the first reconcile has not completed: not ready
    Running,
    Stopping,     // SIGTERM: draining before it undoes everything and exits
    HandingOver,  // a restart: the next process takes over, readiness is not withdrawn
};

// A drain of one VIP or of the whole server (drain, drain --vip, "drained": true, the
// stop's): reported not ready so the director sends nothing new, while what is
// established goes on. It ends (drained) when no connection is left once the director
// has had time to see it (earliestUnix), or at its deadline.
struct Drain {
    enum class End { None, Idle, Deadline };
    double sinceUnix = 0;
    double earliestUnix = 0;  // not drained before: the director must have seen the 503 (min_seconds)
    double deadlineUnix = 0;  // drained then, connections or not (max_seconds); 0: no deadline
    std::optional<std::uint64_t> connections{};  // established connections left at the last count
    End end = End::None;
    double endedUnix = 0;

    bool ended() const { return end != End::None; }
    bool operator==(const Drain&) const = default;
};
const char* name(Drain::End e);  // "", "idle", "deadline"

// Why a VIP or the server is not ready, as a value.
struct Reason {
    enum class Kind {
        Finding,           // a finding of the VIP's own or one every VIP needs (detail: its sentence)
        Starting,          // the first reconcile has not completed
        LookFailed,        // the last full look at the kernel failed (detail: why)
        ServerDraining,    // the whole server is drained (drain, POST /drain)
        Stopping,          // the agent drains before it exits (SIGTERM)
        VipDraining,       // the VIP is drained on its own
        EveryVipDrained,   // the server: every VIP is drained on its own
        ServiceDown,       // a service check is down (subject: its name, detail: its last error)
        ServiceNotChecked, // a service check has not completed a probe yet (subject: its name)
        MoreNotInPlace,    // the server: `count` more VIPs with findings than are listed
        DirectorUnreachable,  // NAT: the director does not answer (subject: its address, detail: why)
    };
    Kind kind = Kind::Finding;
    std::string subject{};
    std::string detail{};
    std::size_t count = 0;

    bool operator==(const Reason&) const = default;
};

struct Readiness {
    enum class State { Ready, NotReady, Draining, Drained };
    State state = State::NotReady;
    std::vector<Reason> reasons;  // why not (empty when Ready)
    Drain drain{};                // Draining, Drained: the drain that decides it

    bool ready() const { return state == State::Ready; }
    // Draining or Drained: the director keeps what is established, sends nothing new.
    bool drained() const { return state == State::Draining || state == State::Drained; }
    static Readiness readyNow() { return {.state = State::Ready, .reasons = {}, .drain = {}}; }
};

}  // namespace api
