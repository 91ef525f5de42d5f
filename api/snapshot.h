#pragma once
// The immutable picture of the agent that the reconcile loop publishes and every API
// handler reads. Handlers never call netlink and never wait for the loop.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace api {

struct VipReadiness {
    std::string vip;
    bool ready = false;
    bool bound = false;
    std::vector<std::string> reasons;  // each unmet condition for this VIP
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
    bool ready = false;
    std::vector<std::string> reasons;
    std::vector<VipReadiness> vips;
    std::vector<ServiceReadiness> services;
    bool draining = false;
    bool fighting = false;
    std::map<std::string, std::uint64_t> repairs;  // kind -> count
    std::uint64_t driftEvents = 0;
    double lastReconcileSeconds = 0;
    double reconcileSecondsSum = 0;
    std::uint64_t reconcileCount = 0;
    double startedAtUnix = 0;
    int agentCheckWeight = -1;
    nlohmann::json status;  // the full /status document

    // The /ready and /ready/<vip> bodies, rendered once by SnapshotStore::publish rather
    // than on each of the director's polls.
    std::string readyBody;
    std::map<std::string, std::string> vipBodies;
    void renderBodies();
};

inline void Snapshot::renderBodies() {
    auto body = [](bool ready, const std::vector<std::string>& reasons) {
        return nlohmann::json{{"ready", ready}, {"reasons", reasons}}.dump() + "\n";
    };
    readyBody = body(ready, reasons);
    vipBodies.clear();
    for (const auto& v : vips) vipBodies[v.vip] = body(v.ready, v.reasons);
}

// One writer (the loop), many readers (API threads).
class SnapshotStore {
public:
    SnapshotStore() { publish(Snapshot{}); }
    // Renders the response bodies (outside the lock), then swaps the snapshot in.
    void publish(Snapshot s) {
        s.renderBodies();
        auto next = std::make_shared<const Snapshot>(std::move(s));
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
};

}  // namespace api
