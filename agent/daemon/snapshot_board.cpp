#include "agent/daemon/snapshot_board.h"

#include <algorithm>

#include "agent/reconcile/report.h"
#include "api/readiness.h"

namespace agent {

api::VipEntry ReadinessBoard::entry(const netcfg::IpAddress& vip, const Reconciler& r) const {
    std::vector<Finding> own;
    if (auto f = r.findings().find(Subject::address(vip)); f != r.findings().end()) own = f->second;
    const VipReport report = reportVip(vip, r.desired(), r.observed().kernel, r.owned(), std::move(own));
    auto e = std::make_shared<api::VipReadiness>();
    e->vip = vip.name(r.desired().rangeLength(vip));
    e->bound = report.bound;
    e->addressOwned = report.addressOwned;
    e->routeWanted = report.routeWanted;
    e->routePresent = report.routePresent;
    e->routeOwned = report.routeOwned;
    e->announceable = r.desired().announceable.contains(vip);
    if (const auto a = r.owned().announced.find(vip); a != r.owned().announced.end())
        for (const auto& route : r.observed().kernel.routesIn(a->second.table, vip))
            e->announced = e->announced || (route.protocol == netcfg::kRouteProtocol && route.metric == a->second.metric &&
                                            route.length() == a->second.length(vip));
    for (const auto& f : report.findings) e->findings.push_back(view(f));
    return e;
}

void ReadinessBoard::note(std::size_t pos, const api::VipEntry& e) {
    const bool changed = e->findings.empty() ? notReady_.erase(pos) > 0 : notReady_.insert(pos).second;
    if (changed || !notReadyShared_)
        notReadyShared_ = std::make_shared<const std::vector<std::size_t>>(notReady_.begin(), notReady_.end());
}

void ReadinessBoard::rebuild(const Config& cfg, const Reconciler& r) {
    auto summary = std::make_shared<api::ConfigSummary>();
    summary->source = cfg.source;
    summary->dropIns = cfg.dropIns;
    for (const auto& v : cfg.vips) summary->vips.push_back(v.name());
    // Which file each VIP came from, when drop-ins are in use (the main file's otherwise).
    if (!cfg.dropIns.empty())
        for (const auto& v : cfg.vips) {
            auto& files = summary->vipsByFile;
            auto at = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.first == v.source; });
            if (at == files.end()) at = files.insert(files.end(), {v.source, {}});
            at->second.push_back(v.name());
        }
    summary->arpIgnore = cfg.arp.ignore;
    summary->arpAnnounce = cfg.arp.announce;
    summary->arpInterfaces = cfg.arp.interfaces;
    summary->hostRoutes = cfg.hostRoutes;
    summary->checkIntervalMs = cfg.checkIntervalMs;
    summary->resyncSeconds = cfg.resyncSeconds;
    summary->drainMinSeconds = cfg.drain.minSeconds;
    summary->drainMaxSeconds = cfg.drain.maxSeconds;
    summary->keepOnExit = cfg.keepOnExit;
    summary->announceTable = cfg.announce.table;
    summary->announceMetric = cfg.announce.metric;
    config_ = std::move(summary);
    entries_.reset(cfg.vips.size());
    touchedAll_ = true;
    touched_.clear();
    position_.clear();
    notReady_.clear();
    notReadyShared_.reset();
    auto index = std::make_shared<api::Snapshot::VipIndex>();
    auto ranges = std::make_shared<std::vector<api::Snapshot::RangeSpan>>();
    for (const auto& v : cfg.vips) {
        if (!v.isRange()) continue;
        api::Snapshot::RangeSpan span{.family = v.address.family, .net = {}, .len = v.prefixLen, .text = v.name()};
        std::copy(v.address.bytes.begin(), v.address.bytes.end(), span.net.begin());
        ranges->push_back(std::move(span));
    }
    ranges_ = std::move(ranges);
    std::vector<std::pair<std::size_t, api::VipEntry>> all;
    for (std::size_t i = 0; i < cfg.vips.size(); ++i) {
        position_.emplace_back(cfg.vips[i].address, i);
        index->emplace_back(cfg.vips[i].name(), i);
        all.emplace_back(i, entry(cfg.vips[i].address, r));
        if (!all.back().second->findings.empty()) notReady_.insert(i);
    }
    notReadyShared_ = std::make_shared<const std::vector<std::size_t>>(notReady_.begin(), notReady_.end());
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

namespace {

// The NAT part: the directors as the watch sees them, each port's reply path as the
// kernel's lookup answered it, the NAT VIPs, each family's findings.
void fillNat(api::NatState& n, const Config& cfg, const Reconciler& r, const std::vector<DirectorStatus>& directors) {
    const auto& want = r.desired().nat;
    if (!want) return;
    n.enabled = true;
    n.table = want->table;
    n.priority = want->priority;
    for (const auto& d : directors)
        if (d.role == DirectorStatus::Role::Nat)
            n.directors.push_back({.family = d.director.family, .address = d.director.str(), .iface = d.iface, .mac = d.mac,
                                   .neighbourState = d.neighbourState, .reachable = d.reachable(),
                                   .why = d.why.empty() && !d.reachable() ? std::string("not looked at yet") : d.why, .managed = d.managed,
                                   .isStatic = d.isStatic, .macChanges = d.macChanges, .probes = d.probes});
    for (const auto& p : natPorts(r.desired(), r.observed())) {
        int virtualPort = p.port;
        for (const auto& c : cfg.nat.ports)
            if (c.ipProto == p.ipProto && c.port == p.port) virtualPort = c.virtualPort;
        n.ports.push_back({.family = p.family, .protocol = p.ipProto == 17 ? "udp" : "tcp", .port = p.port, .virtualPort = virtualPort,
                           .source = p.source, .via = p.via, .dev = p.dev, .table = p.table, .ok = p.ok, .why = p.why});
    }
    for (const auto& v : cfg.nat.vips) n.vips.push_back({.vip = v.str(), .family = v.family});
    for (const auto& director : want->directors) {
        auto& list = n.findings[director.family];
        const auto it = r.findings().find(Subject::nat(director.family));
        if (it != r.findings().end())
            for (const auto& f : it->second) list.push_back(view(f));
    }
}

// The two-box part: the marks as the last look found them, the peers' MACs with what the
// watch counted.
void fillColocated(api::ColocatedState& c, const Reconciler& r, const std::vector<DirectorStatus>& directors) {
    const ColocatedReport report = colocatedReport(r.desired(), r.observed());
    if (!report.enabled) return;
    c = {.enabled = true, .mark = report.mark, .tableInPlace = report.tableInPlace, .marking = report.marking,
         .error = report.error, .peers = {}, .activeOn = report.activeOn};
    for (const auto& [address, mac] : report.peers) {
        api::ColocatedState::Peer p{.address = address, .mac = mac};
        for (const auto& d : directors)
            if (d.role == DirectorStatus::Role::Peer && d.director.str() == address) {
                p.iface = d.iface;
                p.macChanges = d.macChanges;
                p.probes = d.probes;
            }
        c.peers.push_back(std::move(p));
    }
}

}  // namespace

std::shared_ptr<api::Snapshot> ReadinessBoard::snapshot(const Config& cfg, const Reconciler& r,
                                                        const std::vector<ServiceStatus>& services, const DaemonState& state,
                                                        const std::string& version,
                                                        const std::vector<DirectorStatus>& directors) const {
    auto s = std::make_shared<api::Snapshot>();
    s->version = version;
    s->lifecycle = lifecycleOf(state.phase);
    s->serverDrain = state.serverDrain;
    s->vipDrains = state.drained.shared();
    s->connections = state.connections;
    s->connectionsCountedUnix = state.connectionsCountedUnix;
    s->drainsIdle = state.drainsIdle;
    s->drainsDeadline = state.drainsDeadline;
    s->lastDrainSeconds = state.lastDrainSeconds;
    s->reloads = state.reloads;
    s->reloadServed = state.reloadServed;
    s->lastReloadOk = state.lastReloadOk;
    s->lastReload = state.lastReload;
    s->lastReloadSuccessUnix = state.lastReloadSuccessUnix;
    const auto& damper = r.damper();
    s->fighting = damper.fighting();
    s->fightingWith = damper.fightingWith();
    s->fightingItems = damper.fightingCount();
    s->fightingBackoffMs = damper.backoff().count();
    s->repairs = state.repairs;
    s->driftEvents = state.driftEvents;
    for (const auto& d : state.recentDrift) s->recentDrift.push_back({.atUnix = d.atUnix, .what = d.what});
    s->lastReconcileSeconds = state.lastReconcileSeconds;
    s->reconcileSecondsSum = state.reconcileSecondsSum;
    s->reconcileCount = state.reconcileCount;
    s->fullDumps = state.fullDumps;
    s->lastFullDumpSeconds = state.lastFullDumpSeconds;
    s->changesSeen = state.changesSeen;
    s->changesIgnored = state.changesIgnored;
    s->overruns = state.overruns;
    s->dirtyItems = r.dirtyCount();
    s->startedAtUnix = state.startedAtUnix;
    s->agentCheckWeight = cfg.api.agentCheckWeight;
    s->vips = entries_;
    s->vipIndex = index_;
    s->ranges = ranges_;
    s->config = config_;

    // The kernel against the configuration.
    s->inPlace = r.findings().empty();
    s->loUp = r.observed().kernel.loUp();
    s->notInPlace = notReadyShared_;
    s->unmanaged = state.unmanaged;
    for (const auto& [key, want] : r.desired().sysctls) {
        const auto& o = r.observed();
        const auto v = o.sysctls.find(key);
        const auto orig = r.owned().sysctlOriginals.find(key);
        s->sysctls.push_back({.key = sysctl::dotted(key),
                              .expected = want,
                              .kernel = v == o.sysctls.end() ? std::nullopt : std::optional<int>(v->second),
                              .original = orig == r.owned().sysctlOriginals.end() ? std::nullopt : std::optional<int>(orig->second)});
    }

    // What holds every VIP back: findings on the ARP settings and lo, the last look's failure.
    // The announce table: what keeps VIPs out of it (the announce items sort last).
    s->announceTable = r.desired().announceTable;
    s->announcedVips = r.owned().announced.size();
    for (auto it = r.findings().lower_bound(Subject::announceTable()); it != r.findings().end(); ++it)
        for (const auto& f : it->second)
            if (f.kind != FindingKind::NotAnnounced && s->announceFindings.size() < api::kListedVips)
                s->announceFindings.push_back(view(f));
    for (const auto& [subject, list] : r.findings()) {
        if (subject.kind == Subject::Kind::Vip) break;  // the VIPs sort last
        for (const auto& f : list) {
            s->commonFindings.push_back(view(f));
            s->unknown = s->unknown || s->commonFindings.back().permissionDenied;
        }
    }
    s->lookError = state.error;
    fillNat(s->nat, cfg, r, directors);
    fillColocated(s->colocated, r, directors);

    for (const auto& sv : services)
        s->services.push_back(api::ServiceReadiness{.name = sv.check.name(),
                                                    // a range's service counts for the range
                                                    .vip = cfg.vipText(cfg.vipHolding(sv.check.vip).value_or(sv.check.vip)),
                                                    .port = sv.check.port,
                                                    .type = typeName(sv.check.type),
                                                    .up = sv.up,
                                                    .lastError = sv.lastError,
                                                    .successes = sv.successes,
                                                    .failures = sv.failures,
                                                    .checks = sv.checks,
                                                    .rise = sv.check.rise,
                                                    .fall = sv.check.fall,
                                                    .intervalMs = sv.check.intervalMs,
                                                    .checked = sv.checked,
                                                    .probesUp = sv.probesUp,
                                                    .probesDown = sv.probesDown,
                                                    .probesTimedOut = sv.probesTimedOut,
                                                    .lastProbeSeconds = sv.lastProbeSeconds});

    s->server = api::serverReadiness(*s);
    return s;
}

}  // namespace agent
