#include "agent/daemon/transitions.h"

#include "agent/base/text.h"
#include "api/readiness.h"

namespace agent {

namespace {

std::string joined(const std::vector<std::string>& reasons, std::size_t shown = 3) {
    std::string out;
    for (std::size_t i = 0; i < reasons.size() && i < shown; ++i) out += (i ? "; " : "") + reasons[i];
    if (reasons.size() > shown) out += " (+" + std::to_string(reasons.size() - shown) + " more)";
    return out;
}

}  // namespace

void TransitionLog::vip(const api::Snapshot& s, const api::VipReadiness& v, std::vector<std::string>& lines, std::size_t& more) {
    const auto reasons = api::vipReasons(s, v, api::Scope::Own);
    const bool ready = reasons.empty();
    auto [it, fresh] = vipReady_.try_emplace(v.vip, ready);
    if (!fresh && it->second == ready) return;
    it->second = ready;
    if (fresh && ready) return;  // a VIP that starts out ready is no news
    if (lines.size() == kVipLines) {
        ++more;
        return;
    }
    lines.push_back("readiness: VIP " + v.vip + (ready ? " ready" : " not ready: " + joined(reasons)));
}

void TransitionLog::observe(const api::Snapshot& s, const std::vector<ServiceStatus>& services, const std::set<std::size_t>* touched) {
    // Service checks first: their rise or fall is what a VIP's line then names.
    for (const auto& sv : services) {
        const std::string name = sv.check.name();
        // A check starts down (rise successes are needed): nothing to say until its first
        // probe, which says why when it fails (a script's reason belongs in the log too).
        if (!sv.checked && !sv.up) continue;
        auto [it, fresh] = serviceUp_.try_emplace(name, sv.up);
        if (!fresh && it->second == sv.up) continue;
        it->second = sv.up;
        if (sv.up)
            sink_(Priority::Notice, "service " + name + " is up (" + std::to_string(sv.successes) + " success(es) in a row, rise " +
                                        std::to_string(sv.check.rise) + ")");
        else
            sink_(Priority::Warning, "service " + name + " is down (" + std::to_string(sv.failures) + " failure(s) in a row, fall " +
                                         std::to_string(sv.check.fall) + ")" + (sv.lastError.empty() ? "" : ": " + sv.lastError));
    }
    if (s.converged()) {
        std::vector<std::string> lines;
        std::size_t more = 0;
        std::set<std::string> looked;
        auto lookAt = [&](const std::string& name) {
            if (const auto* v = s.find(name); v && looked.insert(name).second) vip(s, *v, lines, more);
        };
        if (!touched) {  // every VIP; forget those the configuration no longer has
            std::unordered_map<std::string, bool> kept;
            s.vips.forEach([&](const api::VipReadiness& v) {
                if (auto it = vipReady_.find(v.vip); it != vipReady_.end()) kept.emplace(v.vip, it->second);
            });
            vipReady_ = std::move(kept);
            s.vips.forEach([&](const api::VipReadiness& v) { vip(s, v, lines, more); });
        } else {
            for (const auto pos : *touched)
                if (pos < s.vips.size()) lookAt(s.vips[pos]->vip);
            // Drains that changed, either way.
            if (drained_ != s.vipDrains) {
                static const api::Snapshot::Drains none;
                const auto& before = drained_ ? *drained_ : none;
                const auto& now = s.vipDrains ? *s.vipDrains : none;
                for (const auto& [v, d] : before)
                    if (!now.contains(v)) lookAt(v);
                for (const auto& [v, d] : now)
                    if (!before.contains(v)) lookAt(v);
            }
            for (const auto& sv : s.services) lookAt(sv.vip);
        }
        for (const auto& l : lines) sink_(Priority::Notice, l);
        if (more > 0) sink_(Priority::Notice, "readiness: and " + thousands(more) + " more VIP(s) changed; see /status");
    }
    drained_ = s.vipDrains;
    // The whole server last: after the VIP lines that explain it.
    const bool ready = s.ready();
    if (!serverReady_) {
        serverReady_ = ready;
        if (!ready && !s.converged()) return;  // starting: not news
    } else if (*serverReady_ == ready) {
        return;
    }
    serverReady_ = ready;
    if (ready)
        sink_(Priority::Notice, "readiness: server ready: " + thousands(s.vips.size()) + " VIP(s) in place");
    else
        sink_(Priority::Warning, "readiness: server not ready: " + joined(api::describe(s.server.reasons)));
}

}  // namespace agent
