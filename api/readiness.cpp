#include "api/readiness.h"

#include "agent/base/text.h"

namespace api {

using agent::thousands;

std::string describe(const Reason& r) {
    switch (r.kind) {
        case Reason::Kind::Finding: return r.detail;
        case Reason::Kind::Starting: return "starting: the first reconcile has not completed";
        case Reason::Kind::LookFailed: return r.detail;
        case Reason::Kind::ServerDraining: return "draining";
        case Reason::Kind::Stopping: return "draining before exit";
        case Reason::Kind::VipDraining: return "draining";
        case Reason::Kind::EveryVipDrained: return "every VIP is drained";
        case Reason::Kind::ServiceDown: return "service " + r.subject + " is down" + (r.detail.empty() ? "" : ": " + r.detail);
        case Reason::Kind::ServiceNotChecked: return "service " + r.subject + " is not checked yet";
        case Reason::Kind::MoreNotInPlace: return "and " + thousands(r.count) + " more VIP(s) not in place";
        case Reason::Kind::DirectorUnreachable: return "NAT director " + r.subject + " is not reachable: " + r.detail;
    }
    return "";
}

std::vector<std::string> describe(const std::vector<Reason>& reasons) {
    std::vector<std::string> out;
    out.reserve(reasons.size());
    for (const auto& r : reasons) out.push_back(describe(r));
    return out;
}

const char* name(Readiness::State s) {
    switch (s) {
        case Readiness::State::Ready: return "ready";
        case Readiness::State::NotReady: return "not_ready";
        case Readiness::State::Draining: return "draining";
        case Readiness::State::Drained: return "drained";
    }
    return "";
}

const char* name(Drain::End e) {
    switch (e) {
        case Drain::End::None: return "";
        case Drain::End::Idle: return "idle";
        case Drain::End::Deadline: return "deadline";
    }
    return "";
}

Drain advance(Drain d, double nowUnix, std::optional<std::uint64_t> connections) {
    if (connections) d.connections = connections;
    if (d.ended()) return d;
    if (connections && *connections == 0 && nowUnix >= d.earliestUnix) {
        d.end = Drain::End::Idle;
        d.endedUnix = nowUnix;
    } else if (d.deadlineUnix > 0 && nowUnix >= d.deadlineUnix) {
        d.end = Drain::End::Deadline;
        d.endedUnix = nowUnix;
    }
    return d;
}

std::string serviceDown(const ServiceReadiness& s) {
    return describe(Reason{.kind = Reason::Kind::ServiceDown, .subject = s.name, .detail = s.lastError});
}

namespace {

Reason finding(const agent::FindingView& f) { return {.kind = Reason::Kind::Finding, .subject = f.subject, .detail = f.message}; }

// What holds every VIP back, in order: the findings on what every VIP needs (the ARP
// settings, lo: forEachCommon), start-up, the last full look's failure, the whole server's
// drain (forEachLifecycle). f returns false to stop; so does this.
template <class F>
bool forEachLifecycle(const Snapshot& s, F&& f) {
    if (!s.converged() && !f(Reason{.kind = Reason::Kind::Starting})) return false;
    if (!s.lookError.empty() && !f(Reason{.kind = Reason::Kind::LookFailed, .detail = s.lookError})) return false;
    if (s.serverDrain && !f(Reason{.kind = s.exiting() ? Reason::Kind::Stopping : Reason::Kind::ServerDraining})) return false;
    return true;
}

template <class F>
bool forEachCommon(const Snapshot& s, F&& f) {
    for (const auto& x : s.commonFindings)
        if (!f(finding(x))) return false;
    return forEachLifecycle(s, f);
}

// What holds a family's NAT VIPs back (family 0: every family's): the findings of its reply
// path, its director not answering.
template <class F>
bool forEachNat(const Snapshot& s, int family, F&& f) {
    for (const auto& [fam, list] : s.nat.findings)
        if (family == 0 || fam == family)
            for (const auto& x : list)
                if (!f(finding(x))) return false;
    for (const auto& d : s.nat.directors)
        if ((family == 0 || d.family == family) && !d.reachable &&
            !f(Reason{.kind = Reason::Kind::DirectorUnreachable, .subject = d.address, .detail = d.why}))
            return false;
    return true;
}

// A service's reason, when it holds its VIP back.
std::optional<Reason> serviceReason(const ServiceReadiness& sv) {
    if (sv.up) return std::nullopt;
    if (!sv.checked) return Reason{.kind = Reason::Kind::ServiceNotChecked, .subject = sv.name};
    return Reason{.kind = Reason::Kind::ServiceDown, .subject = sv.name, .detail = sv.lastError};
}

// Calls f(reason) for each of one VIP's reasons, in order: its findings, its own drain
// (the whole server's is said among the common reasons), (All) what holds every VIP back,
// its services that are down. f returns false to stop; so does this.
template <class F>
bool forEachReason(const Snapshot& s, const VipReadiness& v, Scope scope, F&& f) {
    for (const auto& x : v.findings)
        if (!f(finding(x))) return false;
    if (!s.serverDrain && s.vipDrained(v.vip) && !f(Reason{.kind = Reason::Kind::VipDraining})) return false;
    if (scope == Scope::All && !forEachCommon(s, f)) return false;
    for (const auto& sv : s.services)
        if (sv.vip == v.vip)
            if (auto r = serviceReason(sv); r && !f(std::move(*r))) return false;
    return true;
}

// The state a drain gives, or NotReady/Ready by the reasons when none applies.
Readiness settle(std::vector<Reason> reasons, const Drain* drain) {
    if (drain)
        return {.state = drain->ended() ? Readiness::State::Drained : Readiness::State::Draining, .reasons = std::move(reasons),
                .drain = *drain};
    if (reasons.empty()) return Readiness::readyNow();
    return {.state = Readiness::State::NotReady, .reasons = std::move(reasons), .drain = {}};
}

}  // namespace

Readiness vipReadiness(const Snapshot& s, const VipReadiness& v, Scope scope) {
    std::vector<Reason> reasons;
    forEachReason(s, v, scope, [&](Reason r) {
        reasons.push_back(std::move(r));
        return true;
    });
    // The whole server's drain decides before the VIP's own.
    const Drain* drain = s.serverDrain ? &*s.serverDrain : s.vipDrain(v.vip);
    return settle(std::move(reasons), drain);
}

bool vipReady(const Snapshot& s, const VipReadiness& v) {
    return forEachReason(s, v, Scope::All, [](const Reason&) { return false; });
}

Readiness natVipReadiness(const Snapshot& s, const NatState::Vip& v) {
    std::vector<Reason> reasons;
    auto add = [&](Reason r) {
        reasons.push_back(std::move(r));
        return true;
    };
    forEachNat(s, v.family, add);
    forEachLifecycle(s, add);
    for (const auto& sv : s.services)
        if (sv.vip == v.vip)
            if (auto r = serviceReason(sv)) reasons.push_back(std::move(*r));
    return settle(std::move(reasons), s.serverDrain ? &*s.serverDrain : nullptr);
}

std::vector<std::string> vipReasons(const Snapshot& s, const VipReadiness& v, Scope scope) {
    return describe(vipReadiness(s, v, scope).reasons);
}

Readiness serverReadiness(const Snapshot& s) {
    std::vector<Reason> reasons;
    const std::size_t notInPlace = s.notInPlace ? s.notInPlace->size() : 0;
    std::size_t listed = 0;
    if (s.notInPlace)
        for (const auto pos : *s.notInPlace) {
            if (listed++ == kListedVips) break;
            if (pos < s.vips.size())
                for (const auto& f : s.vips[pos]->findings) reasons.push_back(finding(f));
        }
    if (notInPlace > kListedVips) reasons.push_back({.kind = Reason::Kind::MoreNotInPlace, .count = notInPlace - kListedVips});
    forEachCommon(s, [&](Reason r) {
        reasons.push_back(std::move(r));
        return true;
    });
    forEachNat(s, 0, [&](Reason r) {
        reasons.push_back(std::move(r));
        return true;
    });
    const bool everyDrained = s.everyVipDrained();
    if (everyDrained) reasons.push_back({.kind = Reason::Kind::EveryVipDrained});
    for (const auto& sv : s.services)
        if (auto r = serviceReason(sv)) reasons.push_back(std::move(*r));
    if (s.serverDrain) return settle(std::move(reasons), &*s.serverDrain);
    if (everyDrained) {
        // The latest drain stands for them all: drained once every one has ended.
        Drain all = s.vipDrains->begin()->second;
        bool open = false;
        for (const auto& [vip, d] : *s.vipDrains) {
            open = open || !d.ended();
            if (d.sinceUnix > all.sinceUnix) all = d;
        }
        if (open) all.end = Drain::End::None, all.endedUnix = 0;
        return settle(std::move(reasons), &all);
    }
    return settle(std::move(reasons), nullptr);
}

std::string renderReadyBody(const Readiness& r) {
    return nlohmann::json{{"ready", r.ready()}, {"reasons", describe(r.reasons)}}.dump() + "\n";
}

std::string statusLine(const Snapshot& s) {
    std::string line;
    if (s.ready())
        line = "ready: " + std::to_string(s.vips.size()) + " VIP(s) in place";
    else if (s.server.reasons.empty())
        line = "not ready";
    else
        line = "not ready: " + describe(s.server.reasons.front()) +
               (s.server.reasons.size() > 1 ? " (+" + std::to_string(s.server.reasons.size() - 1) + " more)" : "");
    // VIPs drained on their own do not hold the server back, but they are news.
    if (s.drainedCount() > 0 && !s.draining()) line += "; " + std::to_string(s.drainedCount()) + " VIP(s) drained";
    // A rejected reload stays visible (systemctl status) until a reload succeeds.
    if (!s.lastReloadOk) line += "; " + s.lastReload;
    return line;
}

}  // namespace api
