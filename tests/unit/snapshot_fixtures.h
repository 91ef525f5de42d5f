#pragma once
// Builders for the snapshot's readiness inputs, shared by the API and daemon tests.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/readiness.h"

namespace fixtures {

// VIPs drained on their own, each since t.
inline std::shared_ptr<const api::Snapshot::Drains> drainsOf(const std::set<std::string>& vips, double t = 0) {
    auto out = std::make_shared<api::Snapshot::Drains>();
    for (const auto& v : vips) out->emplace(v, api::Drain{.sinceUnix = t});
    return out;
}

inline std::set<std::string> drainedNames(const api::Snapshot& s) {
    std::set<std::string> out;
    if (s.vipDrains)
        for (const auto& [v, d] : *s.vipDrains) out.insert(v);
    return out;
}

// A server readiness that is not ready for these (worded) reasons.
inline api::Readiness notReady(const std::vector<std::string>& reasons) {
    api::Readiness r{.state = api::Readiness::State::NotReady, .reasons = {}, .drain = {}};
    for (const auto& text : reasons) r.reasons.push_back({.kind = api::Reason::Kind::Finding, .subject = {}, .detail = text});
    return r;
}

}  // namespace fixtures
