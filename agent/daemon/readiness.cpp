#include "agent/daemon/readiness.h"

#include <algorithm>

#include "agent/reconcile/report.h"

namespace agent {

api::VipEntry ReadinessBoard::entry(const netcfg::IpAddress& vip, const Reconciler& r) const {
    std::vector<Finding> own;
    if (auto f = r.findings().find(Subject::address(vip)); f != r.findings().end()) own = f->second;
    const VipReport report = reportVip(vip, r.desired(), r.observed().kernel, r.owned(), std::move(own));
    auto e = std::make_shared<api::VipReadiness>();
    e->vip = vip.str();
    e->bound = report.bound;
    e->addressOwned = report.addressOwned;
    e->routeWanted = report.routeWanted;
    e->routePresent = report.routePresent;
    e->routeOwned = report.routeOwned;
    if (!report.findings.empty()) {
        nlohmann::json typed = nlohmann::json::array();
        for (const auto& f : report.findings) {
            e->reasons.push_back(describe(f));
            typed.push_back(toJson(f));
        }
        e->findings = typed.dump();
    }
    return e;
}

void ReadinessBoard::note(std::size_t pos, const api::VipEntry& e) {
    if (e->reasons.empty())
        notReady_.erase(pos);
    else
        notReady_.insert(pos);
}

void ReadinessBoard::rebuild(const Config& cfg, const Reconciler& r) {
    using nlohmann::json;
    json vips = json::array();
    for (const auto& v : cfg.vips) vips.push_back(v.str());
    // Which file each VIP came from, when drop-ins are in use (the main file's otherwise).
    json byFile = json::object();
    if (!cfg.dropIns.empty())
        for (std::size_t i = 0; i < cfg.vips.size() && i < cfg.vipSources.size(); ++i) byFile[cfg.vipSources[i]].push_back(cfg.vips[i].str());
    configJson_ = std::make_shared<const std::string>(json{{"source", cfg.source},
                   {"drop_ins", cfg.dropIns},
                   {"vips_by_file", std::move(byFile)},
                   {"vips", std::move(vips)},
                   {"arp", {{"ignore", cfg.arp.ignore}, {"announce", cfg.arp.announce}, {"interfaces", cfg.arp.interfaces}}},
                   {"host_routes", cfg.hostRoutes},
                   {"check_interval_ms", cfg.checkIntervalMs},
                   {"resync_interval_seconds", cfg.resyncSeconds},
                   {"drain_seconds", cfg.drainSeconds},
                   {"keep_on_exit", cfg.keepOnExit}}.dump());
    entries_.reset(cfg.vips.size());
    touchedAll_ = true;
    touched_.clear();
    position_.clear();
    notReady_.clear();
    auto index = std::make_shared<api::Snapshot::VipIndex>();
    std::vector<std::pair<std::size_t, api::VipEntry>> all;
    for (std::size_t i = 0; i < cfg.vips.size(); ++i) {
        position_.emplace_back(cfg.vips[i], i);
        index->emplace_back(cfg.vips[i].str(), i);
        all.emplace_back(i, entry(cfg.vips[i], r));
        note(i, all.back().second);
    }
    entries_.set(std::move(all));
    std::sort(position_.begin(), position_.end());
    std::sort(index->begin(), index->end());
    index_ = std::move(index);
}

void ReadinessBoard::update(const std::set<netcfg::IpAddress>& vips, const Reconciler& r) {
    std::vector<std::pair<std::size_t, api::VipEntry>> changed;
    for (const auto& vip : vips) {
        const auto p = std::lower_bound(position_.begin(), position_.end(), vip,
                                        [](const auto& e, const netcfg::IpAddress& key) { return e.first < key; });
        if (p == position_.end() || p->first != vip) continue;
        changed.emplace_back(p->second, entry(vip, r));
        note(p->second, changed.back().second);
        if (!touchedAll_) touched_.insert(p->second);
    }
    if (!changed.empty()) entries_.set(std::move(changed));
}

std::optional<std::set<std::size_t>> ReadinessBoard::takeTouched() {
    if (std::exchange(touchedAll_, false)) {
        touched_.clear();
        return std::nullopt;
    }
    return std::exchange(touched_, {});
}

std::shared_ptr<api::Snapshot> ReadinessBoard::snapshot(const Config& cfg, const Reconciler& r,
                                                        const std::vector<ServiceStatus>& services, const DaemonState& state,
                                                        const std::string& version) const {
    using nlohmann::json;
    auto s = std::make_shared<api::Snapshot>();
    s->version = version;
    s->converged = state.converged;
    s->draining = state.draining;
    s->drainedVips = state.drainedVips;
    s->exiting = state.exiting;
    s->reloads = state.reloads;
    s->reloadServed = state.reloadServed;
    s->lastReloadOk = state.lastReloadOk;
    s->lastReload = state.lastReload;
    s->lastReloadSuccessUnix = state.lastReloadSuccessUnix;
    s->fighting = r.damper().fighting();
    s->repairs = state.repairs;
    s->driftEvents = state.driftEvents;
    s->lastReconcileSeconds = state.lastReconcileSeconds;
    s->reconcileSecondsSum = state.reconcileSecondsSum;
    s->reconcileCount = state.reconcileCount;
    s->startedAtUnix = state.startedAtUnix;
    s->agentCheckWeight = cfg.api.agentCheckWeight;
    s->vips = entries_;
    s->vipIndex = index_;
    s->configJson = configJson_;

    // What holds every VIP back: findings on the ARP settings and lo, start-up, errors, draining.
    json shared = json::array();
    bool unknown = false;
    for (const auto& [subject, list] : r.findings()) {
        if (subject.kind == Subject::Kind::Vip) break;  // the VIPs sort last
        for (const auto& f : list) {
            s->common.push_back(describe(f));
            shared.push_back(toJson(f));
            unknown = unknown || permissionDenied(f);
        }
    }
    if (!state.converged) s->common.push_back("starting: the first reconcile has not completed");
    if (!state.error.empty()) s->common.push_back(state.error);
    if (state.draining) s->common.push_back(state.exiting ? "draining before exit" : "draining");

    for (const auto& sv : services)
        s->services.push_back(api::ServiceReadiness{.name = sv.check.name(),
                                                    .vip = sv.check.vip.str(),
                                                    .port = sv.check.port,
                                                    .type = sv.check.type == ServiceCheck::Type::Http ? "http" : "tcp",
                                                    .up = sv.up,
                                                    .lastError = sv.lastError});

    // The aggregate: a few VIPs' reasons, then a count, so the body stays small.
    std::size_t listed = 0;
    for (const auto pos : notReady_) {
        if (listed++ == kListedVips) break;
        s->reasons.insert(s->reasons.end(), entries_[pos]->reasons.begin(), entries_[pos]->reasons.end());
    }
    if (notReady_.size() > kListedVips)
        s->reasons.push_back("and " + thousands(notReady_.size() - kListedVips) + " more VIP(s) not in place");
    s->reasons.insert(s->reasons.end(), s->common.begin(), s->common.end());
    if (s->everyVipDrained()) s->reasons.emplace_back("every VIP is drained");
    for (const auto& sv : s->services)
        if (!sv.up) s->reasons.push_back("service " + sv.name + " is down" + (sv.lastError.empty() ? "" : ": " + sv.lastError));
    s->ready = s->reasons.empty();

    json servicesJson = json::array();
    for (const auto& sv : services)
        servicesJson.push_back({{"name", sv.check.name()},
                                {"up", sv.up},
                                {"consecutive_successes", sv.successes},
                                {"consecutive_failures", sv.failures},
                                {"checks", sv.checks},
                                {"last_error", sv.lastError},
                                {"rise", sv.check.rise},
                                {"fall", sv.check.fall},
                                {"interval_ms", sv.check.intervalMs}});
    json drift = json::array();
    for (const auto& d : state.recentDrift) drift.push_back({{"at", d.atUnix}, {"what", d.what}});
    json sysctls = json::array();
    for (const auto& [key, want] : r.desired().sysctls) {
        const auto& o = r.observed();
        const auto v = o.sysctls.find(key);
        const auto orig = r.owned().sysctlOriginals.find(key);
        sysctls.push_back({{"key", sysctl::dotted(key)},
                           {"expected", want},
                           {"kernel", v == o.sysctls.end() ? json(nullptr) : json(v->second)},
                           {"original", orig == r.owned().sysctlOriginals.end() ? json(nullptr) : json(orig->second)},
                           {"ok", v != o.sysctls.end() && v->second == want}});
    }
    const auto& damper = r.damper();
    s->status = json{
        {"version", version},
        {"ready", s->ready},
        {"reasons", s->reasons},
        {"draining", s->draining},
        {"state",
         {{"in_place", r.findings().empty()},
          {"unknown", unknown},
          {"lo_up", r.observed().kernel.loUp()},
          {"vips_not_in_place", notReady_.size()},
          {"findings", shared},
          {"sysctls", sysctls},
          {"unmanaged", state.unmanaged}}},
        {"services", servicesJson},
        {"repairs", state.repairs},
        {"drift_events_total", state.driftEvents},
        {"recent_drift", drift},
        {"fighting", {{"active", damper.fighting()}, {"with", damper.fightingWith()}, {"items", damper.fightingCount()},
                      {"backoff_ms", damper.backoff().count()}}},
        {"reconcile",
         {{"passes", state.reconcileCount},
          {"full_dumps", state.fullDumps},
          {"changes_seen", state.changesSeen},
          {"changes_ignored", state.changesIgnored},
          {"overruns", state.overruns},
          {"dirty_items", r.dirtyCount()}}},
        {"last_reconcile_seconds", state.lastReconcileSeconds},
        {"reload", {{"count", state.reloads}, {"ok", state.lastReloadOk}, {"last", state.lastReload}}},
    };
    return s;
}

std::string statusLine(const api::Snapshot& s) {
    std::string line;
    if (s.ready)
        line = "ready: " + std::to_string(s.vips.size()) + " VIP(s) in place";
    else if (s.reasons.empty())
        line = "not ready";
    else
        line = "not ready: " + s.reasons.front() + (s.reasons.size() > 1 ? " (+" + std::to_string(s.reasons.size() - 1) + " more)" : "");
    // VIPs drained on their own do not hold the server back, but they are news.
    if (s.drainedVips && !s.drainedVips->empty() && !s.draining)
        line += "; " + std::to_string(s.drainedVips->size()) + " VIP(s) drained";
    // A rejected reload stays visible (systemctl status) until a reload succeeds.
    if (!s.lastReloadOk) line += "; " + s.lastReload;
    return line;
}

}  // namespace agent
