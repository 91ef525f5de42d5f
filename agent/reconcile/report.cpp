#include "agent/reconcile/report.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace agent {
namespace {

std::string yesNo(bool ok) { return ok ? "ok" : "MISSING"; }

std::string valueOr(const std::optional<int>& v, const std::string& none) {
    return v ? std::to_string(*v) : none;
}

bool isBuiltinLoopback(const netcfg::IpAddress& ip) {
    const auto& b = ip.bytes;
    return ip.isV4() ? b[0] == 127 : std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; }) && b[15] == 1;
}

}  // namespace

VipReport reportVip(const netcfg::IpAddress& vip, const Desired& desired, const KernelView& kernel, const Owned& owned,
                    std::vector<Finding> findings) {
    const int lo = kernel.loIndex();
    if (const int len = desired.rangeLength(vip); len >= 0) {
        VipReport v{.vip = vip, .bound = kernel.hasLocalRoute(lo, vip, len), .addressOwned = false, .routeWanted = false,
                    .routePresent = false, .routeOwned = false, .findings = std::move(findings), .rangeLen = len};
        v.addressOwned = v.bound && kernel.hasOwnLocalRoute(lo, vip, len) && owned.localRoutes.contains({vip, len});
        return v;
    }
    VipReport v{.vip = vip, .bound = kernel.hasAddress(lo, vip), .addressOwned = false, .routeWanted = desired.hostRoutes,
                .routePresent = false, .routeOwned = false, .findings = std::move(findings)};
    v.addressOwned = v.bound && owned.addresses.contains(vip);
    for (const auto& rt : kernel.routesTo(vip)) {
        if (lo == 0 || rt.oif != lo) continue;
        v.routePresent = true;
        if (rt.protocol == netcfg::kRouteProtocol && owned.routes.contains(vip)) v.routeOwned = true;
    }
    return v;
}

std::vector<std::string> unmanagedOnLo(const Desired& desired, const KernelView& kernel) {
    std::vector<std::string> out;
    if (kernel.loIndex() == 0) return out;
    for (const auto& a : kernel.addressesOn(kernel.loIndex()))
        if (!desired.wanted.contains(a.address) && !isBuiltinLoopback(a.address))
            out.push_back(a.address.str() + "/" + std::to_string(a.prefixlen));
    return out;
}

ColocatedReport colocatedReport(const Desired& desired, const Observed& observed) {
    ColocatedReport c;
    if (!desired.colocated) return c;
    const KernelView& k = observed.kernel;
    c.enabled = true;
    c.mark = desired.colocated->mark;
    for (const auto& p : desired.colocated->peers) {
        const auto it = observed.marks.peerMacs.find(p);
        c.peers.emplace_back(p.str(), it == observed.marks.peerMacs.end() ? "" : it->second);
    }
    const netcfg::MarkSpec spec = wantedMarks(*desired.colocated, observed.marks);
    c.tableInPlace = observed.marks.table && netcfg::markTableMatches(*observed.marks.table, spec);
    c.marking = observed.marks.table && !observed.marks.table->rules.empty();
    c.error = observed.marks.error;
    for (const auto& v : desired.colocated->vips)
        for (const auto& a : k.addressesOf(v))
            if (a.ifindex != k.loIndex()) c.activeOn.push_back(v.str() + " on " + k.linkName(a.ifindex));
    return c;
}

ReadinessReport buildReport(const Desired& desired, const Observed& observed, const Owned& owned,
                            const std::vector<Finding>& findings) {
    ReadinessReport r;
    const auto& k = observed.kernel;
    r.loUp = k.loUp();
    r.findings = findings;
    std::map<netcfg::IpAddress, std::vector<Finding>> byVip;
    for (const auto& f : findings) {
        if (f.subject.kind == Subject::Kind::Vip) byVip[f.subject.vip].push_back(f);
        if (permissionDenied(f)) r.unknown = true;
    }
    for (const auto& vip : desired.vips) r.vips.push_back(reportVip(vip, desired, k, owned, std::move(byVip[vip])));

    for (const auto& [key, want] : desired.sysctls) {
        SysctlReport s;
        s.key = key;
        s.expected = want;
        if (auto o = owned.sysctlOriginals.find(key); o != owned.sysctlOriginals.end()) s.original = o->second;
        if (auto v = observed.sysctls.find(key); v != observed.sysctls.end()) s.kernel = v->second;
        if (auto e = observed.sysctlErrors.find(key); e != observed.sysctlErrors.end()) s.error = e->second.message;
        const sysctl::ConfKey allKey{.iface = "all", .name = key.name};
        auto all = observed.sysctls.find(allKey);
        if (s.kernel && key.iface != "all" && key.iface != "default" && all != observed.sysctls.end())
            s.effective = sysctl::effective(all->second, *s.kernel);
        s.ok = s.kernel && *s.kernel == want;
        r.sysctls.push_back(std::move(s));
    }

    const auto mine = ownedVips(owned);
    for (auto& u : unmanagedOnLo(desired, k)) {
        const auto ip = netcfg::IpAddress::parse(u.substr(0, u.find('/')));
        (ip && mine.contains(*ip) ? r.ownedElsewhere : r.unmanaged).push_back(std::move(u));
    }
    if (desired.tunnel) {
        r.tunnel.enabled = true;
        r.tunnel.interfaces = desired.tunnel->interfaces;
        r.tunnel.hooks = observed.tunnel.hooks;
        r.tunnel.owned = owned.tunnelHooks;
        r.tunnel.maps = observed.tunnel.maps;
    }
    r.colocated = colocatedReport(desired, observed);
    if (desired.nat) {
        r.nat.enabled = true;
        r.nat.table = desired.nat->table;
        r.nat.priority = desired.nat->priority;
        r.nat.ports = natPorts(desired, observed);
    }
    return r;
}

std::vector<NatPortReport> natPorts(const Desired& desired, const Observed& observed) {
    std::vector<NatPortReport> out;
    if (!desired.nat) return out;
    const auto& k = observed.kernel;
    for (const auto& director : desired.nat->directors) {
        const auto rip = k.addressFacing(director);
        for (const auto& [proto, port] : desired.nat->ports) {
            NatPortReport p{.family = director.family, .ipProto = proto, .port = port};
            const auto it = observed.natPaths.find({director.family, proto, port});
            if (!rip) {
                p.why = "no address of this host is on " + director.str() + "'s subnet";
            } else if (it == observed.natPaths.end()) {
                p.source = rip->address.str();
                p.why = "not looked up yet";
            } else if (p.source = it->second.src.str(); !it->second.error.empty()) {
                p.why = "the lookup failed: " + it->second.error;
            } else {
                const auto& a = it->second.answer;
                p.via = a.gateway.family ? a.gateway.str() : "";
                p.dev = k.linkName(a.oif);
                p.table = a.table;
                p.ok = a.gateway == director && a.oif == rip->ifindex;
                if (!p.ok)
                    p.why = "the kernel sends these replies " + (p.via.empty() ? std::string("directly") : "via " + p.via) + " dev " + p.dev +
                            " (table " + std::to_string(a.table) + "), not via the director " + director.str();
            }
            out.push_back(std::move(p));
        }
    }
    return out;
}

namespace {

void renderTunnel(std::ostringstream& out, const TunnelReport& t) {
    if (t.maps) {
        const auto& s = t.maps->settings;
        out << "tunnel: decapsulating " << (s.ipip && s.gue ? "ipip and gue" : s.gue ? "gue" : "ipip")
            << (s.gue ? " (udp port " + std::to_string(s.guePort) + ")" : "") << " from " << t.maps->directors.size()
            << " director(s) for " << t.maps->vips.size() << " VIP(s), mss " << s.mss << "\n";
    } else {
        out << "tunnel: no decapsulation program runs\n";
    }
    for (const auto& name : t.interfaces) {
        const auto h = t.hooks.find(name);
        const auto own = t.owned.find(name);
        out << "  " << name << ": ";
        if (h == t.hooks.end()) {
            out << "MISSING (no such interface)\n";
            continue;
        }
        out << (h->second.attached() ? "attached" : "NOT attached") << " (lvs_decap ingress: " << yesNo(h->second.ingress)
            << ", lvs_mss egress: " << yesNo(h->second.egress) << ")";
        if (own != t.owned.end()) out << (own->second ? "; clsact qdisc added by the agent" : "; clsact qdisc was already there");
        out << "\n";
    }
    if (!t.stats) return;
    for (const auto& [vip, c] : t.stats->vips)
        out << "  " << vip.str() << ": ipip " << c.ipipPackets << " packets / " << c.ipipBytes << " bytes, gue " << c.guePackets
            << " packets / " << c.gueBytes << " bytes, " << c.mssClamped << " SYN-ACK(s) clamped\n";
    out << "  dropped:";
    for (int i = 0; i < tunnel::kTunnelDropReasons; ++i)
        out << (i ? ", " : " ") << tunnel::name(static_cast<tunnel::TunnelDrop>(i)) << " " << t.stats->drops[static_cast<std::size_t>(i)];
    out << "\n";
}

void renderNat(std::ostringstream& out, const NatReport& n) {
    out << "NAT reply path (rules at priority " << n.priority << ", table " << n.table << "):\n";
    for (const auto& d : n.directors) {
        out << "  director " << d.director.str() << (d.iface.empty() ? "" : " on " + d.iface) << ": ";
        if (d.reachable())
            out << "reachable, MAC " << d.mac << (d.isStatic ? " (a static entry)" : d.managed ? " (kept resolved by the kernel)" : "");
        else
            out << (d.reach == DirectorStatus::Reach::Unreachable ? "UNREACHABLE: " : "not verified: ") << d.why;
        out << "\n";
    }
    for (const auto& p : n.ports) {
        out << "  " << (p.ipProto == 17 ? "udp/" : "tcp/") << p.port << (p.family == AF_INET6 ? " (IPv6)" : "") << " from "
            << (p.source.empty() ? "?" : p.source) << ": ";
        if (p.ok)
            out << "replies via " << p.via << " dev " << p.dev << " (table " << p.table << "): ok";
        else
            out << "NOT via the director: " << p.why;
        out << "\n";
    }
}

}  // namespace

std::string renderText(const ReadinessReport& r, bool listUnmanaged) {
    std::ostringstream out;
    out << "lo: " << (r.loUp ? "up" : "DOWN") << "\n";
    for (const auto& v : r.vips) {
        out << (v.rangeLen < 0 ? "VIP " : "range ") << v.text() << ": " << (v.ok() ? "in place" : "NOT in place");
        if (v.connections) out << ", " << *v.connections << " connection" << (*v.connections == 1 ? "" : "s");
        out << "\n";
        const std::string unknownOwner = " (whose: the agent's state is root's)";
        const std::string owner = !v.bound ? "" : r.ownershipUnknown ? unknownOwner
                                  : v.addressOwned ? " (added by the agent)" : " (was already there; left alone by stop)";
        if (v.rangeLen >= 0)
            out << "  local route " << v.text() << " dev lo table local: " << yesNo(v.bound) << owner << "\n";
        else
            out << "  address " << v.vip.hostCidr() << " on lo: " << yesNo(v.bound) << owner << "\n";
        if (v.routeWanted)
            out << "  host route " << v.vip.hostCidr() << " dev lo: " << yesNo(v.routePresent)
                << (!v.routePresent ? "" : r.ownershipUnknown ? unknownOwner
                                       : v.routeOwned ? " (added by the agent)" : " (not the agent's; left alone by stop)")
                << "\n";
        for (const auto& f : v.findings)
            if (isConflict(f.kind) || f.kind == FindingKind::CannotApply) out << "  problem: " << describe(f) << "\n";
    }
    if (!r.sysctls.empty()) out << "ARP settings:\n";
    for (const auto& s : r.sysctls) {
        out << "  " << sysctl::dotted(s.key) << ": expected " << s.expected << ", kernel " << valueOr(s.kernel, "?");
        if (s.effective) out << ", effective " << *s.effective;
        if (s.original) out << ", was " << *s.original << " before the agent";
        out << ": " << (s.ok ? "ok" : "WRONG") << (s.error.empty() ? "" : " (" + s.error + ")") << "\n";
    }
    if (r.tunnel.enabled) renderTunnel(out, r.tunnel);
    if (r.nat.enabled) renderNat(out, r.nat);
    if (const auto& c = r.colocated; c.enabled) {
        out << "two-box marks (fwmark " << c.mark << "): table inet lvs_rs_agent " << (c.tableInPlace ? "in place" : "NOT in place")
            << (c.marking ? ", marking" : ", NOT marking (a peer director's MAC is not known)") << "\n";
        for (const auto& [peer, mac] : c.peers) out << "  peer director " << peer << ": " << (mac.empty() ? "MAC not known" : "MAC " + mac) << "\n";
        std::string on;
        for (const auto& a : c.activeOn) on += (on.empty() ? "" : ", ") + a;
        out << "  role now: " << (on.empty() ? "a backup director (the VIPs on lo only)" : "the active director (" + on + ")") << "\n";
    }
    if (listUnmanaged) {
        out << "addresses on lo not managed by the agent:" << (r.unmanaged.empty() ? " none" : "") << "\n";
        for (const auto& u : r.unmanaged) out << "  " << u << "\n";
        if (!r.ownedElsewhere.empty()) {
            out << "addresses on lo owned by the agent, not in this configuration (`start --vip`; `stop --vip ADDR` removes one):\n";
            for (const auto& u : r.ownedElsewhere) out << "  " << u << "\n";
        }
    }
    if (r.unknown)
        out << "result: cannot tell (permission denied; run as root)\n";
    else if (r.inPlace())
        out << "result: everything in place\n";
    else
        out << "result: " << r.findings.size() << " problem" << (r.findings.size() == 1 ? "" : "s") << "\n";
    for (const auto& f : r.findings) out << "  - " << describe(f) << "\n";
    return out.str();
}

nlohmann::json toJson(const Finding& f) { return toJson(view(f)); }

namespace {
// "problems" (the sentences) and "findings" (typed) of a list.
std::pair<nlohmann::json, nlohmann::json> rendered(const std::vector<Finding>& list) {
    auto problems = nlohmann::json::array(), findings = nlohmann::json::array();
    for (const auto& f : list) {
        problems.push_back(describe(f));
        findings.push_back(toJson(f));
    }
    return {problems, findings};
}
}  // namespace

nlohmann::json toJson(const VipReport& v) {
    const auto [problems, findings] = rendered(v.findings);
    if (v.rangeLen >= 0)
        return {{"vip", v.text()},
                {"ok", v.ok()},
                {"range", true},
                {"connections", v.connections ? nlohmann::json(*v.connections) : nlohmann::json(nullptr)},
                {"local_route", {{"expected", v.text()}, {"table", "local"}, {"present", v.bound}, {"owned", v.addressOwned}}},
                {"problems", problems},
                {"findings", findings}};
    return {{"vip", v.vip.str()},
            {"ok", v.ok()},
            {"connections", v.connections ? nlohmann::json(*v.connections) : nlohmann::json(nullptr)},
            {"address", {{"expected", v.vip.hostCidr()}, {"present", v.bound}, {"owned", v.addressOwned}}},
            {"route", {{"wanted", v.routeWanted}, {"present", v.routePresent}, {"owned", v.routeOwned}}},
            {"problems", problems},
            {"findings", findings}};
}

nlohmann::json toJson(const ReadinessReport& r) {
    using nlohmann::json;
    const auto [problems, findings] = rendered(r.findings);
    json j{{"in_place", r.inPlace()}, {"unknown", r.unknown}, {"lo_up", r.loUp},
           {"problems", problems}, {"findings", findings}, {"vips", json::array()}, {"sysctls", json::array()},
           {"unmanaged", r.unmanaged}, {"owned_not_configured", r.ownedElsewhere},
           {"ownership_known", !r.ownershipUnknown}};
    for (const auto& v : r.vips) j["vips"].push_back(toJson(v));
    j["colocated"] = nullptr;
    if (const auto& c = r.colocated; c.enabled) {
        json peers = json::array();
        for (const auto& [peer, mac] : c.peers) peers.push_back({{"address", peer}, {"mac", mac.empty() ? json(nullptr) : json(mac)}});
        j["colocated"] = {{"fwmark", c.mark}, {"table_in_place", c.tableInPlace}, {"marking", c.marking}, {"peers", std::move(peers)},
                          {"active_director", !c.activeOn.empty()}, {"vips_on_interfaces", c.activeOn}};
    }
    j["nat"] = nullptr;
    if (r.nat.enabled) {
        json ports = json::array(), directors = json::array();
        for (const auto& p : r.nat.ports)
            ports.push_back({{"family", p.family == AF_INET6 ? "ipv6" : "ipv4"}, {"protocol", p.ipProto == 17 ? "udp" : "tcp"},
                             {"port", p.port}, {"source", p.source}, {"via", p.via.empty() ? json(nullptr) : json(p.via)},
                             {"dev", p.dev}, {"table", p.table}, {"ok", p.ok}, {"why", p.ok ? json(nullptr) : json(p.why)}});
        for (const auto& d : r.nat.directors)
            directors.push_back({{"address", d.director.str()}, {"interface", d.iface},
                                 {"reachable", d.reachable()}, {"why", d.reachable() ? json(nullptr) : json(d.why)},
                                 {"mac", d.mac.empty() ? json(nullptr) : json(d.mac)}, {"neighbour_state", d.neighbourState},
                                 {"managed", d.managed}, {"static", d.isStatic}});
        j["nat"] = {{"table", r.nat.table}, {"priority", r.nat.priority}, {"ports", std::move(ports)}, {"directors", std::move(directors)}};
    }
    j["tunnel"] = nullptr;
    if (r.tunnel.enabled) {
        json t{{"interfaces", json::array()}, {"vips", json::array()}, {"dropped", json::object()}};
        for (const auto& name : r.tunnel.interfaces) {
            const auto h = r.tunnel.hooks.find(name);
            const auto own = r.tunnel.owned.find(name);
            t["interfaces"].push_back({{"name", name},
                                       {"exists", h != r.tunnel.hooks.end()},
                                       {"attached", h != r.tunnel.hooks.end() && h->second.attached()},
                                       {"ingress", h != r.tunnel.hooks.end() && h->second.ingress},
                                       {"egress", h != r.tunnel.hooks.end() && h->second.egress},
                                       {"owned", own != r.tunnel.owned.end()},
                                       {"clsact_owned", own != r.tunnel.owned.end() && own->second}});
        }
        if (r.tunnel.maps) t["mss"] = r.tunnel.maps->settings.mss;
        if (r.tunnel.stats) {
            for (const auto& [vip, c] : r.tunnel.stats->vips)
                t["vips"].push_back({{"vip", vip.str()}, {"ipip_packets", c.ipipPackets}, {"ipip_bytes", c.ipipBytes},
                                     {"gue_packets", c.guePackets}, {"gue_bytes", c.gueBytes}, {"mss_clamped", c.mssClamped}});
            for (int i = 0; i < tunnel::kTunnelDropReasons; ++i)
                t["dropped"][tunnel::name(static_cast<tunnel::TunnelDrop>(i))] = r.tunnel.stats->drops[static_cast<std::size_t>(i)];
        }
        j["tunnel"] = std::move(t);
    }
    for (const auto& s : r.sysctls) {
        json e{{"key", sysctl::dotted(s.key)}, {"expected", s.expected}, {"ok", s.ok},
               {"kernel", s.kernel ? json(*s.kernel) : json(nullptr)},
               {"effective", s.effective ? json(*s.effective) : json(nullptr)},
               {"original", s.original ? json(*s.original) : json(nullptr)}};
        if (!s.error.empty()) e["error"] = s.error;
        j["sysctls"].push_back(e);
    }
    return j;
}

}  // namespace agent
