#pragma once
// Readiness transitions in the log, one line each, so the journal says when the node (or
// one VIP) left rotation and why: the whole server's ready / not ready, each VIP's own
// (its findings, its drain, its services: what /ready/<vip> answers beyond what holds
// every VIP back), and each service check's rise and fall. Bounded per publication: a
// few VIP lines, then one count.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/base/log.h"
#include "agent/daemon/service_check.h"
#include "api/snapshot.h"

namespace agent {

class TransitionLog {
public:
    using Sink = std::function<void(Priority, const std::string&)>;
    explicit TransitionLog(Sink sink) : sink_(std::move(sink)) {}

    // What changed since the last call. `touched`: the positions of the VIPs whose own
    // entries may have changed (nullptr: every VIP, after a rebuild); VIPs whose drain
    // or services changed are looked at in any case.
    void observe(const api::Snapshot& s, const std::vector<ServiceStatus>& services, const std::set<std::size_t>* touched);

    static constexpr std::size_t kVipLines = 5;

private:
    void vip(const api::Snapshot& s, const api::VipReadiness& v, std::vector<std::string>& lines, std::size_t& more);
    Sink sink_;
    std::optional<bool> serverReady_;
    std::unordered_map<std::string, bool> vipReady_;  // the last state seen of each VIP
    std::shared_ptr<const api::Snapshot::Drains> drained_;
    std::map<std::string, bool> serviceUp_;  // by name
};

}  // namespace agent
