#pragma once
// Readiness, its one owner: which reasons keep a VIP, or the whole server, out of
// rotation, read from the typed fields of a snapshot. /ready, /ready/<vip>, agent-check,
// metrics, the control socket's `readiness`, systemd's STATUS= and the log's transitions
// all ask here; nothing else words a reason or decides ready.
//
// A VIP is ready when it has no finding of its own, nothing every VIP needs is wrong (the
// ARP settings, lo, start-up, the whole server's drain), it is not drained on its own and
// its services are up. The server is ready when every VIP is, a VIP drained on its own
// not counting, unless every VIP is.
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "api/snapshot.h"

namespace api {

// "service http 198.51.100.188:80/health is down: connection refused"
std::string serviceDown(const ServiceReadiness& s);

enum class Scope {
    Own,  // what the VIP has beyond what holds every VIP back (the log's per-VIP lines)
    All,  // everything: what /ready/<vip> answers
};

// Calls f(reason) for each reason in order: the VIP's findings, its own drain, (All) what
// holds every VIP back, its services that are down. f returns false to stop; so does this.
template <class F>
bool forEachReason(const Snapshot& s, const VipReadiness& v, Scope scope, F&& f) {
    for (const auto& x : v.findings)
        if (!f(x.message)) return false;
    // The whole server's drain says so among the common reasons.
    if (!s.draining && s.vipDrained(v.vip) && !f(std::string("draining"))) return false;
    if (scope == Scope::All)
        for (const auto& c : s.common)
            if (!f(c)) return false;
    for (const auto& sv : s.services)
        if (!sv.up && sv.vip == v.vip && !f(serviceDown(sv))) return false;
    return true;
}

std::vector<std::string> vipReasons(const Snapshot& s, const VipReadiness& v, Scope scope = Scope::All);
bool vipReady(const Snapshot& s, const VipReadiness& v);

// At most this many VIPs are named in the aggregate reasons; the rest are counted.
inline constexpr std::size_t kListedVips = 20;

// The whole server's reasons: the findings of the first kListedVips VIPs of notReady
// (positions in s.vips of the VIPs with findings of their own), a count of the others,
// what holds every VIP back, "every VIP is drained", the services that are down. Empty:
// ready.
std::vector<std::string> serverReasons(const Snapshot& s, const std::set<std::size_t>& notReady);

// "ready: 2 VIP(s) in place" / "not ready: ..." for systemd's STATUS=.
std::string statusLine(const Snapshot& s);

}  // namespace api
