// The /status document, rendered from the snapshot's typed fields once per snapshot.
#include <nlohmann/json.hpp>

#include "api/readiness.h"
#include "api/snapshot.h"

namespace api {

using nlohmann::json;

json drainDocument(const Drain& d) {
    return {{"since", d.sinceUnix},
            {"earliest_end", d.earliestUnix},
            {"deadline", d.deadlineUnix > 0 ? json(d.deadlineUnix) : json(nullptr)},
            {"connections", d.connections ? json(*d.connections) : json(nullptr)},
            {"ended", d.ended() ? json(name(d.end)) : json(nullptr)},
            {"ended_at", d.ended() ? json(d.endedUnix) : json(nullptr)}};
}

json VipReadiness::stateJson(const Readiness& r, std::optional<std::uint64_t> connections) const {
    const std::string cidr = vip + (vip.find(':') == std::string::npos ? "/32" : "/128");
    json problems = json::array(), typed = json::array();
    for (const auto& f : findings) {
        problems.push_back(f.message);
        typed.push_back(agent::toJson(f));
    }
    return {{"vip", vip},
            {"ok", findings.empty()},
            {"state", name(r.state)},
            {"draining", r.drained()},
            {"drain", r.drained() ? drainDocument(r.drain) : json(nullptr)},
            {"connections", connections ? json(*connections) : json(nullptr)},
            {"address", {{"expected", cidr}, {"present", bound}, {"owned", addressOwned}}},
            {"route", {{"wanted", routeWanted}, {"present", routePresent}, {"owned", routeOwned}}},
            {"announce", {{"wanted", announceable}, {"present", announced}}},
            {"problems", std::move(problems)},
            {"findings", std::move(typed)}};
}

const std::string& ConfigSummary::json() const {
    std::call_once(once_, [this] {
        nlohmann::json byFile = nlohmann::json::object();
        for (const auto& [file, list] : vipsByFile) byFile[file] = list;
        json_ = nlohmann::json{{"source", source},
                               {"drop_ins", dropIns},
                               {"vips_by_file", std::move(byFile)},
                               {"vips", vips},
                               {"arp", {{"ignore", arpIgnore}, {"announce", arpAnnounce}, {"interfaces", arpInterfaces}}},
                               {"host_routes", hostRoutes},
                               {"check_interval_ms", checkIntervalMs},
                               {"resync_interval_seconds", resyncSeconds},
                               {"drain", {{"min_seconds", drainMinSeconds}, {"max_seconds", drainMaxSeconds}}},
                               {"keep_on_exit", keepOnExit},
                               {"announce", announceTable == 0 ? nlohmann::json(nullptr)
                                                               : nlohmann::json{{"table", announceTable}, {"metric", announceMetric}}}}
                    .dump();
    });
    return json_;
}

namespace {

json optionalInt(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }


// Everything but the two large parts: "state"."vips" and "config".
json documentOf(const Snapshot& s) {
    json findings = json::array();
    for (const auto& f : s.commonFindings) findings.push_back(agent::toJson(f));
    json sysctls = json::array();
    for (const auto& k : s.sysctls)
        sysctls.push_back({{"key", k.key},
                           {"expected", k.expected},
                           {"kernel", optionalInt(k.kernel)},
                           {"original", optionalInt(k.original)},
                           {"ok", k.kernel && *k.kernel == k.expected}});
    json services = json::array();
    for (const auto& sv : s.services)
        services.push_back({{"name", sv.name},
                            {"up", sv.up},
                            {"consecutive_successes", sv.successes},
                            {"consecutive_failures", sv.failures},
                            {"checks", sv.checks},
                            {"last_error", sv.lastError},
                            {"rise", sv.rise},
                            {"fall", sv.fall},
                            {"interval_ms", sv.intervalMs},
                            {"type", sv.type},
                            {"checked", sv.checked},
                            {"probes", {{"up", sv.probesUp}, {"down", sv.probesDown}, {"timeout", sv.probesTimedOut}}},
                            {"last_probe_seconds", sv.lastProbeSeconds}});
    json announce = nullptr;
    if (s.announceTable != 0) {
        json af = json::array();
        for (const auto& f : s.announceFindings) af.push_back(agent::toJson(f));
        announce = {{"table", s.announceTable}, {"announced_vips", s.announcedVips}, {"findings", std::move(af)}};
    }
    json tunnel = nullptr;
    if (s.tunnel.enabled) {
        json ifaces = json::array(), vips = json::array(), drops = json::object();
        for (const auto& i : s.tunnel.interfaces) ifaces.push_back({{"name", i.name}, {"attached", i.attached}});
        for (const auto& v : s.tunnel.vips)
            vips.push_back({{"vip", v.vip},
                            {"ipip_packets", v.ipipPackets}, {"ipip_bytes", v.ipipBytes},
                            {"gue_packets", v.guePackets}, {"gue_bytes", v.gueBytes},
                            {"mss_clamped", v.mssClamped}});
        for (const auto& [reason, n] : s.tunnel.drops) drops[reason] = n;
        tunnel = {{"interfaces", std::move(ifaces)}, {"mss", s.tunnel.mss}, {"vips", std::move(vips)}, {"dropped", std::move(drops)}};
    }
    json nat = nullptr;
    if (s.nat.enabled) {
        json directors = json::array(), ports = json::array(), vips = json::array(), nf = json::array();
        for (const auto& d : s.nat.directors)
            directors.push_back({{"address", d.address}, {"interface", d.iface}, {"reachable", d.reachable},
                                 {"why", d.reachable ? json(nullptr) : json(d.why)}, {"mac", d.mac.empty() ? json(nullptr) : json(d.mac)},
                                 {"neighbour_state", d.neighbourState}, {"managed", d.managed}, {"static", d.isStatic},
                                 {"mac_changes", d.macChanges}, {"probes", d.probes}});
        for (const auto& p : s.nat.ports)
            ports.push_back({{"protocol", p.protocol}, {"port", p.port}, {"virtual_port", p.virtualPort},
                             {"family", p.family == 10 ? "ipv6" : "ipv4"}, {"source", p.source},
                             {"via", p.via.empty() ? json(nullptr) : json(p.via)}, {"dev", p.dev}, {"table", p.table}, {"ok", p.ok},
                             {"why", p.ok ? json(nullptr) : json(p.why)}});
        for (const auto& v : s.nat.vips) {
            const auto r = natVipReadiness(s, v);
            vips.push_back({{"vip", v.vip}, {"ready", r.ready()}, {"state", name(r.state)}, {"reasons", describe(r.reasons)}});
        }
        for (const auto& [family, list] : s.nat.findings)
            for (const auto& f : list) nf.push_back(agent::toJson(f));
        nat = {{"table", s.nat.table}, {"priority", s.nat.priority}, {"directors", std::move(directors)}, {"ports", std::move(ports)},
               {"vips", std::move(vips)}, {"findings", std::move(nf)}};
    }
    json colocated = nullptr;
    if (const auto& c = s.colocated; c.enabled) {
        json peers = json::array();
        for (const auto& p : c.peers)
            peers.push_back({{"address", p.address}, {"interface", p.iface}, {"mac", p.mac.empty() ? json(nullptr) : json(p.mac)},
                             {"mac_changes", p.macChanges}, {"probes", p.probes}});
        colocated = {{"fwmark", c.mark}, {"table_in_place", c.tableInPlace}, {"marking", c.marking},
                     {"error", c.error.empty() ? json(nullptr) : json(c.error)}, {"peers", std::move(peers)},
                     {"active_director", !c.activeOn.empty()}, {"vips_on_interfaces", c.activeOn}};
    }
    json drift = json::array();
    for (const auto& d : s.recentDrift) drift.push_back({{"at", d.atUnix}, {"what", d.what}});
    json drainingVips = json::array();
    if (s.vipDrains)
        for (const auto& [vip, d] : *s.vipDrains) drainingVips.push_back(vip);
    return json{
        {"version", s.version},
        {"ready", s.ready()},
        {"reasons", describe(s.server.reasons)},
        {"readiness", {{"state", name(s.server.state)}, {"drain", s.server.drained() ? drainDocument(s.server.drain) : json(nullptr)}}},
        {"draining", s.draining()},
        {"draining_vips", drainingVips},
        {"drains", {{"completed_idle", s.drainsIdle}, {"completed_deadline", s.drainsDeadline}, {"last_seconds", s.lastDrainSeconds}}},
        {"connections_counted_at", s.connectionsCountedUnix > 0 ? json(s.connectionsCountedUnix) : json(nullptr)},
        {"state",
         {{"in_place", s.inPlace},
          {"unknown", s.unknown},
          {"lo_up", s.loUp},
          {"vips_not_in_place", s.notInPlace ? s.notInPlace->size() : 0},
          {"findings", std::move(findings)},
          {"sysctls", std::move(sysctls)},
          {"unmanaged", s.unmanaged}}},
        {"services", std::move(services)},
        {"announce", std::move(announce)},
        {"tunnel", std::move(tunnel)},
        {"nat", std::move(nat)},
        {"colocated", std::move(colocated)},
        {"repairs", s.repairs},
        {"drift_events_total", s.driftEvents},
        {"recent_drift", std::move(drift)},
        {"fighting", {{"active", s.fighting}, {"with", s.fightingWith}, {"items", s.fightingItems}, {"backoff_ms", s.fightingBackoffMs}}},
        {"reconcile",
         {{"passes", s.reconcileCount},
          {"full_dumps", s.fullDumps},
          {"last_full_dump_seconds", s.lastFullDumpSeconds},
          {"changes_seen", s.changesSeen},
          {"changes_ignored", s.changesIgnored},
          {"overruns", s.overruns},
          {"dirty_items", s.dirtyItems}}},
        {"last_reconcile_seconds", s.lastReconcileSeconds},
        {"reload", {{"count", s.reloads}, {"ok", s.lastReloadOk}, {"last", s.lastReload}}},
    };
}

}  // namespace

const std::string& Snapshot::statusBody() const {
    std::call_once(statusOnce_, [this] {
        // The large parts go in as text where a placeholder string was dumped. A control
        // character is escaped by the dump (\u0001) and any backslash of other text is
        // doubled, so a placeholder cannot match anything else.
        auto splice = [](std::string& text, const std::string& name, const std::string& with) {
            const std::string placeholder = "\"\\u0001" + name + "\"";
            if (const auto at = text.find(placeholder); at != std::string::npos) text.replace(at, placeholder.size(), with);
        };
        json doc = documentOf(*this);
        doc["state"]["vips"] = "\u0001vips";
        if (config) doc["config"] = "\u0001config";
        std::string text = doc.dump();
        std::string list = "[";
        bool first = true;
        vips.forEach([&](const VipReadiness& v) {
            std::optional<std::uint64_t> n;
            if (connections)
                if (const auto it = connections->find(v.vip); it != connections->end()) n = it->second;
            list += (first ? "" : ",") + v.stateJson(vipReadiness(*this, v), n).dump();
            first = false;
        });
        list += "]";
        splice(text, "vips", list);
        if (config) splice(text, "config", config->json());
        statusBody_ = std::move(text);
    });
    return statusBody_;
}

}  // namespace api
