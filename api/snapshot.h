#pragma once
// The immutable picture of the agent that the reconcile loop publishes and every API
// handler reads. Handlers never call netlink and never wait for the loop.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/finding_view.h"
#include "api/readiness_state.h"

namespace api {

// One VIP's own state, immutable and shared between snapshots: a publication after a
// repair replaces the entries of the VIPs it touched, not the other thousands. Kept
// compact (its /status entry is rendered on request): 10,000 of them are a few MiB.
struct VipReadiness {
    std::string vip{};  // canonical text ("2001:db8::1")
    bool bound = false;
    bool addressOwned = false;
    bool routeWanted = true;
    bool routePresent = false;
    bool routeOwned = false;
    bool announceable = false;  // announce configured, not opted out
    bool announced = false;     // its route is in the announce table, put there by the agent
    std::vector<agent::FindingView> findings{};  // this VIP's own, typed

    // Its entry in /status "state.vips": r its readiness, connections at the last count.
    nlohmann::json stateJson(const Readiness& r, std::optional<std::uint64_t> connections) const;
};
using VipEntry = std::shared_ptr<const VipReadiness>;

// Every VIP's entry, in chunks shared between snapshots: a copy costs a pointer per 256
// VIPs, a change clones only the chunks it touches. Chunks are never changed once made,
// so API threads read them without locks.
class VipTable {
public:
    static constexpr std::size_t kChunk = 256;
    using Chunk = std::vector<VipEntry>;

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const VipEntry& operator[](std::size_t i) const { return (*chunks_[i / kChunk])[i % kChunk]; }
    // n empty entries
    void reset(std::size_t n) {
        chunks_.clear();
        size_ = n;
        for (std::size_t at = 0; at < n; at += kChunk)
            chunks_.push_back(std::make_shared<const Chunk>(std::min(kChunk, n - at)));
    }
    // Replaces entries (position, entry); each touched chunk is cloned once.
    void set(std::vector<std::pair<std::size_t, VipEntry>> changes) {
        std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t k = 0; k < changes.size();) {
            const std::size_t c = changes[k].first / kChunk;
            auto next = std::make_shared<Chunk>(*chunks_[c]);
            for (; k < changes.size() && changes[k].first / kChunk == c; ++k)
                (*next)[changes[k].first % kChunk] = std::move(changes[k].second);
            chunks_[c] = std::move(next);
        }
    }
    template <class F>
    void forEach(F f) const {
        for (const auto& c : chunks_)
            for (const auto& e : *c) f(*e);
    }

private:
    std::vector<std::shared_ptr<const Chunk>> chunks_;
    std::size_t size_ = 0;
};

struct ServiceReadiness {
    std::string name;  // "http 198.51.100.188:80/health"
    std::string vip;
    int port = 0;
    std::string type;
    bool up = false;
    std::string lastError;
    int successes = 0;  // consecutive
    int failures = 0;   // consecutive
    long long checks = 0;
    int rise = 0, fall = 0, intervalMs = 0;
    bool checked = true;  // false until its first probe has completed (a new check)
    // Probes by result, and the last one's length.
    std::uint64_t probesUp = 0, probesDown = 0, probesTimedOut = 0;
    double lastProbeSeconds = 0;
};

// How late the service checks' probes started against their schedule (a histogram).
struct ProbeDelays {
    static constexpr std::array<double, 10> kBounds{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    std::array<std::uint64_t, kBounds.size()> below{};  // probes no later than kBounds[i] (each counted once, in its first bucket)
    std::uint64_t count = 0;
    double sumSeconds = 0, maxSeconds = 0;
    void add(double seconds) {
        for (std::size_t i = 0; i < kBounds.size(); ++i)
            if (seconds <= kBounds[i]) {
                ++below[i];
                break;
            }
        ++count;
        sumSeconds += seconds;
        maxSeconds = std::max(maxSeconds, seconds);
    }
};

// An ARP setting the agent holds: /status "state.sysctls".
struct SysctlState {
    std::string key;  // "net.ipv4.conf.all.arp_ignore"
    int expected = 0;
    std::optional<int> kernel;    // unread: null
    std::optional<int> original;  // what the agent found before it first changed it
};

struct DriftRecord {
    double atUnix = 0;
    std::string what;  // "added 198.51.100.188/32 to lo"
};

// The configuration in force, as /status "config" shows it: made once per configuration
// (it lists every VIP), rendered on the first request that needs it.
struct ConfigSummary {
    std::string source;
    std::vector<std::string> dropIns;
    std::vector<std::pair<std::string, std::vector<std::string>>> vipsByFile;  // with drop-ins only
    std::vector<std::string> vips;
    int arpIgnore = 0, arpAnnounce = 0;
    std::vector<std::string> arpInterfaces;
    bool hostRoutes = true;
    int checkIntervalMs = 0;
    int resyncSeconds = 0;
    int drainMinSeconds = 0, drainMaxSeconds = 0;
    bool keepOnExit = false;
    std::uint32_t announceTable = 0, announceMetric = 0;  // 0: no announcing

    const std::string& json() const;

private:
    mutable std::once_flag once_;
    mutable std::string json_;
};

// The tunnel decapsulation (tunnel-mode real server): where it is attached, what it
// decapsulated per VIP, what it dropped and why.
struct TunnelState {
    bool enabled = false;
    int mss = 0;
    struct Interface {
        std::string name;
        bool attached = false;
    };
    std::vector<Interface> interfaces;
    struct Vip {
        std::string vip;
        std::uint64_t ipipPackets = 0, ipipBytes = 0, guePackets = 0, gueBytes = 0, mssClamped = 0;
    };
    std::vector<Vip> vips;
    std::vector<std::pair<std::string, std::uint64_t>> drops;  // reason -> packets
};

// The NAT reply paths (NAT-mode real server): each director and whether it answers, each
// port's reply path as the kernel's own lookup answers it, the NAT VIPs (published on the
// director, never bound here) and the findings of each family's path.
struct NatState {
    bool enabled = false;
    std::uint32_t table = 0, priority = 0;
    struct Director {
        int family = 0;
        std::string address{}, iface{}, mac{}, neighbourState{};
        bool reachable = false;
        std::string why{};  // not reachable: why, in words
        bool managed = false, isStatic = false;
        std::uint64_t macChanges = 0, probes = 0;
    };
    struct Port {
        int family = 0;
        std::string protocol{};  // "tcp", "udp"
        int port = 0, virtualPort = 0;
        std::string source{};    // this server's address (RIP) the rule matches
        std::string via{}, dev{};  // where the kernel sends the replies ("" via: directly)
        std::uint32_t table = 0;
        bool ok = false;         // via the director, on the link facing it
        std::string why{};       // not ok: why
    };
    struct Vip {
        std::string vip{};
        int family = 0;
    };
    std::vector<Director> directors;
    std::vector<Port> ports;
    std::vector<Vip> vips;
    // Each family's findings (the rules, the table's route, the path), family -> findings.
    std::map<int, std::vector<agent::FindingView>> findings;
    const Director* director(int family) const {
        for (const auto& d : directors)
            if (d.family == family) return &d;
        return nullptr;
    }
    const Vip* find(const std::string& vip) const {
        for (const auto& v : vips)
            if (v.vip == vip) return &v;
        return nullptr;
    }
};

// The two-box marks (colocated): the agent's nftables table, each peer director's MAC as the
// agent follows it, and this node's role now (the VIPs on a real interface: the active
// director).
struct ColocatedState {
    bool enabled = false;
    std::uint32_t mark = 0;
    bool tableInPlace = false;  // as the configuration and the peers' MACs make it
    bool marking = false;       // its rules are there (every peer's MAC known)
    std::string error{};        // nftables could not be asked: why
    struct Peer {
        std::string address{}, iface{}, mac{};  // mac "": not known
        std::uint64_t macChanges = 0, probes = 0;
    };
    std::vector<Peer> peers;
    std::vector<std::string> activeOn;  // "198.51.100.188 on eth0"
};

struct Snapshot {
    std::string version;
    Lifecycle lifecycle = Lifecycle::Running;  // the board sets it; Starting until the first pass
    // The whole server's readiness (api/readiness.h serverReadiness), computed from the
    // inputs below when the snapshot is built.
    Readiness server;
    VipTable vips;                     // in configuration order
    // (canonical VIP text, position in vips), sorted; shared until the VIP list changes
    using VipIndex = std::vector<std::pair<std::string, std::size_t>>;
    std::shared_ptr<const VipIndex> vipIndex;
    // The ranges among the VIPs, so that any address inside one finds its entry.
    struct RangeSpan {
        int family = 0;  // AF_INET, AF_INET6
        std::array<unsigned char, 16> net{};
        int len = 0;
        std::string text;  // its entry's name, "198.18.0.0/24"
    };
    std::shared_ptr<const std::vector<RangeSpan>> ranges;
    // The positions in vips of the VIPs with findings of their own, sorted.
    std::shared_ptr<const std::vector<std::size_t>> notInPlace;
    // What holds every VIP back: findings on the ARP settings and lo, the last full look's failure.
    std::vector<agent::FindingView> commonFindings;
    std::string lookError;
    std::vector<ServiceReadiness> services;
    ProbeDelays probeDelays;
    std::size_t checkWorkers = 0;  // the checks' probing threads
    // The whole server's drain (drain, or stopping: then the stop's).
    std::optional<Drain> serverDrain;
    // VIPs drained on their own (drain --vip, POST /drain/<vip>, "drained": true), by
    // canonical text; shared until a drain changes.
    using Drains = std::map<std::string, Drain>;
    std::shared_ptr<const Drains> vipDrains;
    // Connections on each VIP at the last count (absent: not counted); counted while a
    // drain runs and while someone asks (/metrics, /status), never every tick otherwise.
    using Counts = std::map<std::string, std::uint64_t>;
    std::shared_ptr<const Counts> connections;
    double connectionsCountedUnix = 0;
    // Drains that have ended, by how; the last one's length.
    std::uint64_t drainsIdle = 0, drainsDeadline = 0;
    double lastDrainSeconds = 0;

    bool converged() const { return lifecycle != Lifecycle::Starting; }  // the first pass has completed
    bool exiting() const { return lifecycle == Lifecycle::Stopping; }     // an undrain is refused
    bool draining() const { return serverDrain.has_value(); }             // the whole server
    bool ready() const { return server.ready(); }
    const Drain* vipDrain(const std::string& vip) const {
        if (!vipDrains) return nullptr;
        const auto it = vipDrains->find(vip);
        return it == vipDrains->end() ? nullptr : &it->second;
    }
    bool vipDrained(const std::string& vip) const { return vipDrain(vip) != nullptr; }
    std::size_t drainedCount() const { return vipDrains ? vipDrains->size() : 0; }
    // Every VIP is drained on its own: the whole server then counts as drained too.
    bool everyVipDrained() const { return !vips.empty() && drainedCount() >= vips.size(); }

    // The kernel against the configuration (/status "state").
    bool inPlace = false;  // no finding at all
    bool unknown = false;  // a setting unreadable for want of permission
    bool loUp = false;
    std::vector<SysctlState> sysctls;
    std::vector<std::string> unmanaged;  // addresses on lo the agent does not manage
    // The announce table: how many VIPs are in it, and what keeps others out (conflicts,
    // failures; a ready VIP not yet announced is counted, not listed).
    std::uint32_t announceTable = 0;  // 0: no announcing
    std::size_t announcedVips = 0;
    std::vector<agent::FindingView> announceFindings;  // at most kListedVips
    TunnelState tunnel;
    NatState nat;
    ColocatedState colocated;

    // The loop's work.
    bool fighting = false;
    std::vector<std::string> fightingWith;  // what the agent fights with, when known
    std::size_t fightingItems = 0;
    long long fightingBackoffMs = 0;
    std::uint64_t reloads = 0;        // reloads attempted (SIGHUP and requested)
    std::uint64_t reloadServed = 0;   // the last requestReload() ticket the loop has answered
    bool lastReloadOk = true;
    std::string lastReload;
    double lastReloadSuccessUnix = 0;  // the configuration's last successful load (start or reload)
    std::map<std::string, std::uint64_t> repairs;  // kind -> count
    std::uint64_t driftEvents = 0;
    std::vector<DriftRecord> recentDrift;  // newest last
    double lastReconcileSeconds = 0;
    double reconcileSecondsSum = 0;
    std::uint64_t reconcileCount = 0;
    std::uint64_t fullDumps = 0;
    double lastFullDumpSeconds = 0;  // the last periodic or recovery resync: dump, compare
    std::uint64_t changesSeen = 0;
    std::uint64_t changesIgnored = 0;
    std::uint64_t overruns = 0;
    std::size_t dirtyItems = 0;
    double startedAtUnix = 0;
    int agentCheckWeight = -1;
    std::shared_ptr<const ConfigSummary> config;  // shared until the configuration changes

    // The /ready body, rendered once by SnapshotStore::publish rather than on each of
    // the director's polls.
    std::string readyBody;

    // Sets every VIP at once, with a fresh index (tests, fuzzing).
    void setVips(std::vector<VipReadiness> list);
    // The VIP named vip (canonical text, or a range's "198.18.0.0/24"), or the range that
    // holds the address vip.
    const VipReadiness* find(const std::string& vip) const;
    // Only the VIP named vip: what a drain may name.
    const VipReadiness* findExact(const std::string& vip) const;
    // The /status document with every VIP's state (api/status.cpp), rendered on the first
    // request and kept for the life of this snapshot.
    const std::string& statusBody() const;

private:
    mutable std::once_flag statusOnce_;
    mutable std::string statusBody_;
};

inline void Snapshot::setVips(std::vector<VipReadiness> list) {
    auto index = std::make_shared<VipIndex>();
    std::vector<std::pair<std::size_t, VipEntry>> entries;
    for (auto& v : list) {
        index->emplace_back(v.vip, entries.size());
        entries.emplace_back(entries.size(), std::make_shared<const VipReadiness>(std::move(v)));
    }
    vips.reset(entries.size());
    vips.set(std::move(entries));
    std::sort(index->begin(), index->end());
    vipIndex = std::move(index);
}

inline const VipReadiness* Snapshot::find(const std::string& vip) const {
    if (const auto* v = findExact(vip)) return v;
    if (!ranges || ranges->empty()) return nullptr;
    std::array<unsigned char, 16> a{};
    const int family = inet_pton(AF_INET, vip.c_str(), a.data()) == 1 ? AF_INET : inet_pton(AF_INET6, vip.c_str(), a.data()) == 1 ? AF_INET6 : 0;
    for (const auto& r : *ranges) {
        if (r.family != family) continue;
        bool inside = true;
        for (int bit = 0; bit < r.len && inside; ++bit) {
            const unsigned char mask = static_cast<unsigned char>(0x80u >> (bit % 8));
            inside = (a[static_cast<std::size_t>(bit / 8)] & mask) == (r.net[static_cast<std::size_t>(bit / 8)] & mask);
        }
        if (inside) return findExact(r.text);
    }
    return nullptr;
}

inline const VipReadiness* Snapshot::findExact(const std::string& vip) const {
    if (!vipIndex) return nullptr;
    const auto it = std::lower_bound(vipIndex->begin(), vipIndex->end(), vip,
                                     [](const auto& entry, const std::string& key) { return entry.first < key; });
    if (it == vipIndex->end() || it->first != vip || it->second >= vips.size()) return nullptr;
    return vips[it->second].get();
}

// A drain as /status and the control socket show it (api/status.cpp).
nlohmann::json drainDocument(const Drain& d);

// The /ready body of a readiness: {"ready": ..., "reasons": [...]} (api/readiness.cpp).
std::string renderReadyBody(const Readiness& r);

// One writer (the loop), many readers (API threads).
class SnapshotStore {
public:
    SnapshotStore() { publish(std::make_shared<Snapshot>()); }
    // Renders the response bodies (outside the lock), then swaps the snapshot in.
    void publish(std::shared_ptr<Snapshot> s) {
        s->readyBody = renderReadyBody(s->server);
        std::shared_ptr<const Snapshot> next = std::move(s);
        std::lock_guard lock(mu_);
        current_ = std::move(next);
    }
    std::shared_ptr<const Snapshot> get() const {
        std::lock_guard lock(mu_);
        return current_;
    }
    // The loop's heartbeat, for /healthz: milliseconds on the steady clock.
    void beat() { beatAt(nowMs()); }
    void beatAt(std::int64_t steadyMs) { heartbeatMs_.store(steadyMs); }
    std::int64_t msSinceBeat() const { return nowMs() - heartbeatMs_.load(); }
    static std::int64_t nowMs() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const Snapshot> current_;
    std::atomic<std::int64_t> heartbeatMs_{0};
};

// Connections on VIPs as `drain --wait` lists what is left: "198.51.100.200:40001",
// "198.51.100.188:80", "ESTABLISHED".
struct ListedConnection {
    std::string client, vip, state;
};
struct ConnectionListing {
    std::uint64_t count = 0;                // all of them
    std::vector<ListedConnection> listed;  // the first few
};

// What the API may ask of the loop: only to drain or undrain. The loop applies it.
class DrainControl {
public:
    virtual ~DrainControl() = default;
    virtual void requestDrain(bool drain) = 0;
    // These VIPs (canonical text) alone; one the configuration no longer has is ignored.
    virtual void requestVipDrain(const std::vector<std::string>& vips, bool drain) = 0;
    // Read the configuration again (as SIGHUP). Returns a ticket: the outcome is published
    // with Snapshot::reloadServed >= ticket (a reload that started after the request).
    virtual std::uint64_t requestReload() { return 0; }
    // Who asked for a drain or an undrain, for the log ("drain of 198.51.100.1 requested by
    // HTTP client 192.0.2.7", "... by uid 0 on the control socket").
    virtual void logRequest(const std::string& /*line*/) {}
    // Someone reads the connection counts (/metrics, /status): count them while they do.
    virtual void wantConnectionCounts() {}
    // The connections on one VIP (canonical text) or, nullopt, on all; at most `limit` listed.
    virtual std::expected<ConnectionListing, std::string> listConnections(const std::optional<std::string>& /*vip*/, std::size_t /*limit*/) {
        return std::unexpected(std::string("this agent does not count connections"));
    }
};

}  // namespace api
