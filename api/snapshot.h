#pragma once
// The immutable picture of the agent that the reconcile loop publishes and every API
// handler reads. Handlers never call netlink and never wait for the loop.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
    std::vector<std::string> reasons{};  // this VIP's own findings
    std::string findings{};              // the same, typed, as a JSON array text; empty when none

    nlohmann::json stateJson(bool draining) const;  // its entry in /status "state.vips"
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
};

struct Snapshot {
    std::string version;
    bool converged = false;  // the first pass has completed
    bool ready = false;      // every VIP ready
    std::vector<std::string> reasons;  // why not (bounded: a few per VIP, then a count)
    VipTable vips;                     // in configuration order
    // (canonical VIP text, position in vips), sorted; shared until the VIP list changes
    using VipIndex = std::vector<std::pair<std::string, std::size_t>>;
    std::shared_ptr<const VipIndex> vipIndex;
    // What holds every VIP back: the ARP settings, lo, draining, start-up.
    std::vector<std::string> common;
    std::vector<ServiceReadiness> services;
    bool draining = false;  // the whole server (drain, or stopping)
    bool exiting = false;   // stopping: an undrain is refused
    // VIPs drained on their own (drain --vip, POST /drain/<vip>, "drained": true), by
    // canonical text; shared until the set changes.
    std::shared_ptr<const std::set<std::string>> drainedVips;
    bool fighting = false;
    std::uint64_t reloads = 0;        // reloads attempted (SIGHUP and requested)
    std::uint64_t reloadServed = 0;   // the last requestReload() ticket the loop has answered
    bool lastReloadOk = true;
    std::string lastReload;
    double lastReloadSuccessUnix = 0;  // the configuration's last successful load (start or reload)
    std::map<std::string, std::uint64_t> repairs;  // kind -> count
    std::uint64_t driftEvents = 0;
    double lastReconcileSeconds = 0;
    double reconcileSecondsSum = 0;
    std::uint64_t reconcileCount = 0;
    double startedAtUnix = 0;
    int agentCheckWeight = -1;
    nlohmann::json status;  // the /status document, but for "config" and "state"."vips"
    // /status "config" as JSON text, made once per configuration (it lists every VIP)
    std::shared_ptr<const std::string> configJson;

    // The /ready body, rendered once by SnapshotStore::publish rather than on each of
    // the director's polls.
    std::string readyBody;

    // Sets every VIP at once, with a fresh index (tests, fuzzing).
    void setVips(std::vector<VipReadiness> list);
    const VipReadiness* find(const std::string& vip) const;
    bool vipDrained(const std::string& vip) const { return drainedVips && drainedVips->contains(vip); }
    // Every VIP is drained on its own: the whole server then counts as drained too.
    bool everyVipDrained() const { return !vips.empty() && drainedVips && drainedVips->size() >= vips.size(); }
    // The VIP's own reasons, the common ones and its services that are down.
    std::vector<std::string> reasonsFor(const VipReadiness& v) const;
    bool readyFor(const VipReadiness& v) const;
    // The /status document with every VIP's state, rendered on the first request and
    // kept for the life of this snapshot.
    const std::string& statusBody() const;

private:
    mutable std::once_flag statusOnce_;
    mutable std::string statusBody_;
};

inline nlohmann::json VipReadiness::stateJson(bool draining) const {
    using nlohmann::json;
    const std::string cidr = vip + (vip.find(':') == std::string::npos ? "/32" : "/128");
    return {{"vip", vip},
            {"ok", reasons.empty()},
            {"draining", draining},
            {"address", {{"expected", cidr}, {"present", bound}, {"owned", addressOwned}}},
            {"route", {{"wanted", routeWanted}, {"present", routePresent}, {"owned", routeOwned}}},
            {"problems", reasons},
            {"findings", findings.empty() ? json::array() : json::parse(findings, nullptr, false)}};
}

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
    if (!vipIndex) return nullptr;
    const auto it = std::lower_bound(vipIndex->begin(), vipIndex->end(), vip,
                                     [](const auto& entry, const std::string& key) { return entry.first < key; });
    if (it == vipIndex->end() || it->first != vip || it->second >= vips.size()) return nullptr;
    return vips[it->second].get();
}

inline std::vector<std::string> Snapshot::reasonsFor(const VipReadiness& v) const {
    std::vector<std::string> out = v.reasons;
    if (!draining && vipDrained(v.vip)) out.emplace_back("draining");  // the whole server's drain says so in common
    out.insert(out.end(), common.begin(), common.end());
    for (const auto& sv : services)
        if (!sv.up && sv.vip == v.vip)
            out.push_back("service " + sv.name + " is down" + (sv.lastError.empty() ? "" : ": " + sv.lastError));
    return out;
}

inline bool Snapshot::readyFor(const VipReadiness& v) const {
    if (!v.reasons.empty() || !common.empty() || vipDrained(v.vip)) return false;
    for (const auto& sv : services)
        if (!sv.up && sv.vip == v.vip) return false;
    return true;
}

inline const std::string& Snapshot::statusBody() const {
    std::call_once(statusOnce_, [this] {
        // The large parts go in as text where a placeholder string was dumped. A control
        // character is escaped by the dump (\u0001) and any backslash of other text is
        // doubled, so a placeholder cannot match anything else.
        auto splice = [](std::string& text, const std::string& name, const std::string& with) {
            const std::string placeholder = "\"\\u0001" + name + "\"";
            if (const auto at = text.find(placeholder); at != std::string::npos) text.replace(at, placeholder.size(), with);
        };
        nlohmann::json doc = status;
        doc["state"]["vips"] = "\u0001vips";
        doc["draining_vips"] = drainedVips ? nlohmann::json(*drainedVips) : nlohmann::json::array();
        if (configJson) doc["config"] = "\u0001config";
        std::string text = doc.dump();
        std::string list = "[";
        bool first = true;
        vips.forEach([&](const VipReadiness& v) {
            list += (first ? "" : ",") + v.stateJson(draining || vipDrained(v.vip)).dump();
            first = false;
        });
        list += "]";
        splice(text, "vips", list);
        if (configJson) splice(text, "config", *configJson);
        statusBody_ = std::move(text);
    });
    return statusBody_;
}

// One writer (the loop), many readers (API threads).
class SnapshotStore {
public:
    SnapshotStore() { publish(std::make_shared<Snapshot>()); }
    // Renders the response bodies (outside the lock), then swaps the snapshot in.
    void publish(std::shared_ptr<Snapshot> s) {
        s->readyBody = nlohmann::json{{"ready", s->ready}, {"reasons", s->reasons}}.dump() + "\n";
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
};

}  // namespace api
