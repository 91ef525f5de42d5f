#pragma once
// Readiness, its one owner: a pure function of the snapshot's typed inputs (each VIP's
// findings, what every VIP needs, the service checks, the drains, the lifecycle) whose
// result is a state per VIP and for the server:
//
//   Ready                 nothing holds it back
//   NotReady{reasons}     its findings, what every VIP needs, start-up, its services
//   Draining{drain}       a drain (the VIP's own, the server's, the stop's) in progress
//   Drained{drain}        that drain ended: no connection left (idle), or its deadline
//
// A drain outranks the other reasons (which are still listed): the director is to keep
// the established connections and send no new ones (agent-check "drain", weight 0),
// whatever else is wrong. The server is ready when every VIP is, a VIP drained on its own
// not counting unless every VIP is. /ready, /ready/<vip>, agent-check, the metrics,
// /status, `status`, the control socket, systemd's STATUS=, the announce set and the
// log's transitions all switch on this result; the reasons are worded here (describe),
// and nowhere else.
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "api/snapshot.h"

namespace api {

// The types (Reason, Readiness, Drain, Lifecycle) are in api/readiness_state.h, which
// the snapshot carries.
std::string describe(const Reason& r);
std::vector<std::string> describe(const std::vector<Reason>& reasons);
const char* name(Readiness::State s);  // "ready", "not_ready", "draining", "drained"

enum class Scope {
    Own,  // what the VIP has beyond what holds every VIP back (the log's per-VIP lines)
    All,  // everything: what /ready/<vip> answers
};

// One VIP's readiness. Its reasons in order: its findings, its own drain, (All) what
// holds every VIP back, its services that are down or not checked yet.
Readiness vipReadiness(const Snapshot& s, const VipReadiness& v, Scope scope = Scope::All);
// A NAT VIP's readiness (/ready/<nat vip>): its family's reply path and director, the
// agent's lifecycle and the whole server's drain, its services. ARP settings and lo do not
// concern it (a NAT VIP is never bound here).
Readiness natVipReadiness(const Snapshot& s, const NatState::Vip& v);
// The same, asking only whether it is ready (no reason is built).
bool vipReady(const Snapshot& s, const VipReadiness& v);

// At most this many VIPs are named in the aggregate reasons; the rest are counted.
inline constexpr std::size_t kListedVips = 20;

// The whole server's readiness, from the snapshot's inputs: the findings of the first
// kListedVips VIPs not in place (s.notInPlace), a count of the others, what holds every
// VIP back, "every VIP is drained", the services that are down. The board stores it in
// s.server when it builds a snapshot.
Readiness serverReadiness(const Snapshot& s);

// One step of a drain, after its connections were counted (nullopt: the count failed) at
// nowUnix: drained (End::Idle) when none is left and the directors have had their time
// (earliestUnix); drained (End::Deadline) at the deadline, whatever is left. An ended
// drain stays ended; its count goes on following (drain --wait waits for it).
Drain advance(Drain d, double nowUnix, std::optional<std::uint64_t> connections);

// "ready: 2 VIP(s) in place" / "not ready: ..." for systemd's STATUS=.
std::string statusLine(const Snapshot& s);

// --- kept for the callers that want text (each a view of the functions above) ---
std::vector<std::string> vipReasons(const Snapshot& s, const VipReadiness& v, Scope scope = Scope::All);
// "service http 198.51.100.188:80/health is down: connection refused"
std::string serviceDown(const ServiceReadiness& s);

}  // namespace api
