// The drains, one state machine for all (api::advance): the whole server's (drain, and
// SIGTERM's before the exit) and each VIP's (drain --vip, "drained": true, a VIP a reload
// removed). A drain ends once no connection is left on what it drains and the directors
// have had min_seconds to see the 503, or at max_seconds. The connections are counted
// here, with the kernel's socket diagnostics, only while a drain needs them or someone
// reads them (/metrics, /status).
#include <cmath>

#include "agent/base/clock.h"
#include "agent/base/log.h"
#include "agent/daemon/daemon.h"
#include "api/readiness.h"

namespace agent {
namespace {

// How long a reader's interest (/metrics, /status) keeps the counts coming, every tick.
constexpr std::chrono::seconds kCountsWantedFor{60};

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

}  // namespace

api::Drain Daemon::startDrain(double now) const {
    return {.sinceUnix = now,
            .earliestUnix = now + cfg_.drain.minSeconds,
            .deadlineUnix = now + cfg_.drain.maxSeconds};
}

Config Daemon::served() const {
    if (retiring_.empty()) return cfg_;
    Config c = cfg_;
    c.vips.insert(c.vips.end(), retiring_.begin(), retiring_.end());
    return c;
}

void Daemon::wantConnectionCounts() {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
    if (now - countsWantedMs_.exchange(now) > 1000) wake();  // a first reader: count now, not at the next tick
}

bool Daemon::countsWanted(Clock::time_point now) const {
    const auto wanted = Clock::time_point(std::chrono::milliseconds(countsWantedMs_.load()));
    return now - wanted < kCountsWantedFor;
}

// Whether anything needs a count now: an open drain, an ended one with connections left
// (drain --wait waits for them), or a reader.
bool Daemon::drainsNeedCounts() const {
    auto needs = [](const api::Drain& d) { return !d.ended() || d.connections.value_or(0) > 0; };
    if (state_.serverDrain && needs(*state_.serverDrain)) return true;
    for (const auto& [vip, d] : *state_.drained.shared())
        if (needs(d)) return true;
    return false;
}

// A stop drains the whole server; once that drain has ended (or one under way before the
// stop did: drain, drain --wait), the loop ends.
void Daemon::exitIfDrained() {
    if (state_.phase == Phase::Draining && state_.serverDrain && state_.serverDrain->ended()) state_.phase = Phase::Exiting;
}

void Daemon::progressDrains() {
    const auto steady = Clock::now();
    if (!drainsNeedCounts() && !countsWanted(steady)) {
        nextDrainCheck_.reset();
        exitIfDrained();  // a stop after `drain --wait`: that drain has ended already
        return;
    }
    const double now = nowUnix();
    const Config servedNow = served();
    std::vector<netcfg::LocalPrefix> prefixes;
    for (const auto& v : servedNow.vips) prefixes.push_back({.address = v.address, .length = v.isRange() ? v.prefixLen : v.address.hostPrefix()});
    std::optional<std::vector<std::uint64_t>> counts;
    if (auto* counter = session_.connections()) {
        std::unique_lock lock(counterMu_);
        const auto t0 = Clock::now();
        auto c = counter->count(prefixes);
        lastCountSeconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
        lock.unlock();
        if (c) {
            counts = std::move(c->perPrefix);
            countFailed_ = false;
        } else if (!std::exchange(countFailed_, true)) {
            logWarning("counting the VIPs' connections: " + c.error().message + "; drains end at their deadline");
        }
    }
    auto byVip = std::make_shared<api::Snapshot::Counts>();
    std::uint64_t total = 0;
    if (counts)
        for (std::size_t i = 0; i < servedNow.vips.size(); ++i) {
            byVip->emplace(servedNow.vips[i].name(), (*counts)[i]);
            total += (*counts)[i];
        }
    // Published when a count moved (or a drain did, below): a drain polled every 200 ms
    // on a steady count costs no snapshot.
    bool changed = false;
    if (counts) {
        changed = !state_.connections || *state_.connections != *byVip;
        state_.connections = std::move(byVip);
        state_.connectionsCountedUnix = now;
    }
    auto ended = [&](const std::string& what, const api::Drain& d) {
        changed = true;
        const double took = d.endedUnix - d.sinceUnix;
        state_.lastDrainSeconds = took;
        if (d.end == api::Drain::End::Idle) {
            ++state_.drainsIdle;
            logInfo("drained " + what + ": no connection left after " + seconds(took));
        } else {
            ++state_.drainsDeadline;
            logWarning("drained " + what + " at its deadline (" + seconds(took) + ") with " +
                       std::to_string(d.connections.value_or(0)) + " connection(s) left" + (d.connections ? "" : " (not counted)"));
        }
    };
    auto total_ = counts ? std::optional<std::uint64_t>(total) : std::nullopt;
    if (state_.serverDrain) {
        const bool wasOpen = !state_.serverDrain->ended();
        const api::Drain next = api::advance(*state_.serverDrain, now, total_);
        changed = changed || next != *state_.serverDrain;
        state_.serverDrain = next;
        if (wasOpen && state_.serverDrain->ended()) ended(state_.stopping() ? "the server before exit" : "the whole server", *state_.serverDrain);
    }
    auto drains = std::make_shared<api::Snapshot::Drains>(*state_.drained.shared());
    std::vector<std::string> retired;
    for (auto& [vip, d] : *drains) {
        const auto c = counts && state_.connections->contains(vip) ? std::optional<std::uint64_t>(state_.connections->at(vip)) : std::nullopt;
        const bool wasOpen = !d.ended();
        const api::Drain next = api::advance(d, now, c);
        changed = changed || next != d;
        d = next;
        if (wasOpen && d.ended()) {
            ended("VIP " + vip, d);
            if (retirementDrains_.contains(vip)) retired.push_back(vip);
        }
    }
    state_.drained.update(std::move(drains));
    if (!retired.empty()) retire(retired);
    exitIfDrained();
    // The next look: at a drain's earliest end, then every drainPollSeconds until it ends.
    nextDrainCheck_.reset();
    auto consider = [&](const api::Drain& d) {
        if (d.ended()) return;
        double at = now < d.earliestUnix ? d.earliestUnix : now + drainPollSeconds(lastCountSeconds_);
        if (d.deadlineUnix > 0) at = std::min(at, std::max(now, d.deadlineUnix));
        const auto t = steady + std::chrono::microseconds(static_cast<long long>(std::llround((at - now) * 1e6)));
        if (!nextDrainCheck_ || t < *nextDrainCheck_) nextDrainCheck_ = t;
    };
    if (state_.serverDrain) consider(*state_.serverDrain);
    for (const auto& [vip, d] : *state_.drained.shared()) consider(d);
    if (changed) publish();
}

namespace {

const char* tcpState(int s) {
    static const char* const names[] = {"?",         "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
                                        "CLOSE",     "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
    return s >= 0 && s < static_cast<int>(std::size(names)) ? names[s] : "?";
}

// A snapshot's VIP (canonical text, or a range "198.18.0.0/24") as a prefix.
std::optional<netcfg::LocalPrefix> prefixOf(const std::string& name) {
    const auto slash = name.find('/');
    const auto ip = netcfg::IpAddress::parse(name.substr(0, slash));
    if (!ip) return std::nullopt;
    return netcfg::LocalPrefix{.address = *ip, .length = slash == std::string::npos ? ip->hostPrefix() : std::stoi(name.substr(slash + 1))};
}

}  // namespace

// From the control socket's thread: the VIPs come from the published snapshot, never
// from the loop's configuration.
std::expected<api::ConnectionListing, std::string> Daemon::listConnections(const std::optional<std::string>& vip, std::size_t limit) {
    auto* counter = session_.connections();
    if (!counter) return std::unexpected(std::string("this agent does not count connections"));
    std::vector<netcfg::LocalPrefix> prefixes;
    if (vip) {
        if (auto p = prefixOf(*vip)) prefixes.push_back(*p);
    } else {
        store_.get()->vips.forEach([&](const api::VipReadiness& v) {
            if (auto p = prefixOf(v.vip)) prefixes.push_back(*p);
        });
    }
    std::lock_guard lock(counterMu_);
    auto c = counter->count(prefixes, limit);
    if (!c) return std::unexpected("counting the connections: " + c.error().message);
    api::ConnectionListing out;
    for (const auto n : c->perPrefix) out.count += n;
    for (const auto& x : c->listed)
        out.listed.push_back({.client = netcfg::hostPort(x.remote, x.remotePort), .vip = netcfg::hostPort(x.local, x.localPort),
                              .state = tcpState(x.state)});
    return out;
}

// VIPs a reload removed: each stays bound, reported draining, until its drain ends; then
// it goes, as the reload asked.
void Daemon::retireRemoved(const Config& before, const Config& next) {
    std::set<netcfg::IpAddress> kept;
    for (const auto& v : next.vips) kept.insert(v.address);
    // One the file has again is no longer retiring (its retirement drain goes with it).
    std::vector<std::pair<std::string, bool>> undrain;
    std::erase_if(retiring_, [&](const Vip& v) {
        if (!kept.contains(v.address)) return false;
        if (retirementDrains_.erase(v.address.str()) > 0) undrain.emplace_back(v.address.str(), false);
        return true;
    });
    std::vector<std::pair<std::string, bool>> drain;
    for (const auto& v : before.vips)
        if (!kept.contains(v.address)) {
            retiring_.push_back(v);
            retirementDrains_.insert(v.address.str());
            drain.emplace_back(v.address.str(), true);
        }
    std::set<netcfg::IpAddress> all;
    for (const auto& v : served().vips) all.insert(v.address);
    const double now = nowUnix();
    auto start = [this](double t) { return startDrain(t); };
    state_.drained.apply(undrain, all, now, start);
    state_.drained.apply(drain, all, now, start);
    if (!drain.empty()) logInfo("reload: " + std::to_string(drain.size()) + " VIP(s) removed from the configuration drain first (" +
                                std::to_string(cfg_.drain.minSeconds) + "-" + std::to_string(cfg_.drain.maxSeconds) + " s), then go");
}

void Daemon::retire(const std::vector<std::string>& vips) {
    std::erase_if(retiring_, [&](const Vip& v) { return std::find(vips.begin(), vips.end(), v.address.str()) != vips.end(); });
    std::vector<std::pair<std::string, bool>> undrain;
    for (const auto& v : vips) {
        retirementDrains_.erase(v);
        undrain.emplace_back(v, false);
    }
    std::set<netcfg::IpAddress> all;
    for (const auto& v : served().vips) all.insert(v.address);
    for (const auto& v : vips) all.insert(*netcfg::IpAddress::parse(v));  // still known, for the undrain
    state_.drained.apply(undrain, all, nowUnix(), [this](double t) { return startDrain(t); });
    const Config next = served();
    reconciler_->setDesired(desiredFrom(next));
    pass(true);
    board_.rebuild(next, *reconciler_);
}

}  // namespace agent
