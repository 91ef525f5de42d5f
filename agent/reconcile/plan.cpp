#include "agent/reconcile/plan.h"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace agent {
namespace {

using netcfg::IpAddress;
using netcfg::NetOp;
using K = NetOp::Kind;

// The actions of one plan, in phases; concatenated in order at the end.
struct Phases {
    // replace: what must go before an add can succeed (a VIP's address before the local
    // route of the range of one address it became: the kernel holds one local route per key).
    // tunnel: the program's maps, then its filters (after the VIPs are in place);
    // detach: the filters first of the removals (nothing decapsulated for a VIP going).
    std::vector<Action> withdraw, sysctls, link, replace, addAddresses, addRoutes, tunnel, announce, detach, deleteRoutes,
        deleteAddresses, restores;
};

class Planner {
public:
    Planner(const Desired& d, const Observed& o, const Owned& owned, Plan& p)
        : desired_(d), observed_(o), owned_(owned), plan_(p), lo_(o.kernel.loIndex()) {}

    bool noLoopback() {
        if (lo_ != 0 || (desired_.vips.empty() && owned_.addresses.empty() && owned_.routes.empty() && owned_.localRoutes.empty()))
            return false;
        plan_.findings.push_back({.subject = Subject::loopback(), .kind = FindingKind::NoLoopback});
        return true;
    }

    void item(const Subject& s) {
        switch (s.kind) {
            case Subject::Kind::Sysctl:
                if (auto d = desired_.sysctls.find(s.key); d != desired_.sysctls.end())
                    desiredSysctl(s.key, d->second);
                else if (auto o = owned_.sysctlOriginals.find(s.key); o != owned_.sysctlOriginals.end() && !desired_.holdOwnedSysctls)
                    restoreSysctl(s.key, o->second);
                break;
            case Subject::Kind::Loopback: loopback(); break;
            case Subject::Kind::Vip:
                if (desired_.wanted.contains(s.vip))
                    wantedVip(s.vip);
                else
                    unwantedVip(s.vip);
                break;
            case Subject::Kind::Announce:
                if (s.vip.family == 0)
                    announceTable();
                else
                    announced(s.vip);
                break;
            case Subject::Kind::Nat:
                if (!desired_.holdNat) natPath(s.vip.family);
                break;
            case Subject::Kind::Marks:
                if (!desired_.holdMarks) marks();
                break;
            case Subject::Kind::Tunnel:
                if (desired_.holdTunnel) break;
                if (s.iface.empty())
                    tunnelMaps();
                else
                    tunnelHook(s.iface);
                break;
        }
    }

    std::vector<Action> actions() {
        std::vector<Action> all;
        for (auto* v : {&ph_.withdraw, &ph_.sysctls, &ph_.link, &ph_.replace, &ph_.addAddresses, &ph_.addRoutes, &ph_.tunnel,
                        &ph_.announce, &ph_.detach, &ph_.deleteRoutes, &ph_.deleteAddresses, &ph_.restores})
            all.insert(all.end(), std::make_move_iterator(v->begin()), std::make_move_iterator(v->end()));
        return all;
    }

private:
    NetOp op(K kind, const IpAddress& ip = {}) const {
        return NetOp{.kind = kind, .ifindex = lo_, .address = ip, .ifname = observed_.kernel.linkName(lo_)};
    }

    void finding(Finding f) { plan_.findings.push_back(std::move(f)); }

    NetOp announceOp(K kind, const IpAddress& ip, const AnnounceRecord& where) const {
        NetOp o = op(kind, ip);
        o.table = where.table;
        o.metric = where.metric;
        o.prefixLen = where.len;
        return o;
    }

    NetOp localOp(K kind, const IpAddress& ip, int len) const {
        NetOp o = op(kind, ip);
        o.prefixLen = len;
        return o;
    }

    // Another program's routes in the announce table: the agent adds nothing there.
    bool tableInUse() const { return desired_.announceTable != 0 && observed_.kernel.foreignInAnnounce() > 0; }

    void announceTable() {
        if (!tableInUse()) return;
        finding({.subject = Subject::announceTable(), .kind = FindingKind::AnnounceTableInUse,
                 .expected = static_cast<int>(desired_.announceTable), .actual = static_cast<int>(observed_.kernel.foreignInAnnounce()),
                 .detail = observed_.kernel.foreignExample()});
    }

    // A VIP's route in the announce table: there while the VIP is to be announced, with
    // the table and metric configured; withdrawn first of all otherwise (before any other
    // change of a plan: a router stops sending before anything else is undone).
    void announced(const IpAddress& vip) {
        const auto own = owned_.announced.find(vip);
        const bool mine = own != owned_.announced.end();
        const bool wanted = desired_.wanted.contains(vip) &&
                            (desired_.holdAnnounced ? mine
                                                    : desired_.announceTable != 0 && desired_.announced.contains(vip) &&
                                                          desired_.announceable.contains(vip));
        // Held: kept where it is. Otherwise in the configured table with the configured
        // metric (a range: its whole prefix).
        const AnnounceRecord want = desired_.holdAnnounced && mine
                                        ? own->second
                                        : AnnounceRecord{.table = desired_.announceTable, .metric = desired_.announceMetric,
                                                         .len = desired_.rangeLength(vip)};
        const Subject s = Subject::announce(vip);
        if (mine && (!wanted || own->second != want)) {
            ph_.withdraw.push_back(announceOp(K::DeleteRoute, vip, own->second));
            if (!wanted) return;
        }
        if (!wanted || lo_ == 0) return;
        const int len = want.length(vip);
        bool present = false;
        for (const auto& r : observed_.kernel.routesIn(want.table, vip)) {
            if (r.length() != len) continue;
            if (r.protocol == netcfg::kRouteProtocol && r.oif == lo_ && r.metric == want.metric) {
                present = true;
            } else if (r.protocol != netcfg::kRouteProtocol) {
                finding({.subject = s, .kind = FindingKind::AnnounceBlocked, .other = "proto " + std::to_string(r.protocol),
                         .prefixLen = want.len});
                return;
            }
        }
        if (present) return;
        if (mine && own->second == want && want.table != desired_.announceTable) return;  // held in a table not watched
        finding({.subject = s, .kind = FindingKind::NotAnnounced, .expected = static_cast<int>(want.table), .prefixLen = want.len});
        if (!tableInUse()) ph_.announce.push_back(announceOp(K::AddRoute, vip, want));
    }

    // What the program's maps must hold: the configuration's, with the MSS derived from the
    // interfaces' smallest MTU unless configured.
    tunnel::TunnelMaps wantedMaps() const {
        tunnel::TunnelMaps m = desired_.tunnel->maps;
        if (desired_.tunnel->mssOverhead == 0) return m;
        unsigned mtu = 0;
        for (const auto& name : desired_.tunnel->interfaces)
            if (const auto* l = observed_.kernel.linkNamed(name); l && l->mtu != 0 && (mtu == 0 || l->mtu < mtu)) mtu = l->mtu;
        const int derived = static_cast<int>(mtu == 0 ? 1500 : mtu) - desired_.tunnel->mssOverhead;
        m.settings.mss = static_cast<std::uint16_t>(std::clamp(derived, 536, 65495));
        return m;
    }

    void tunnelMaps() {
        if (!desired_.tunnel) return;  // the program goes with the agent's last filter
        const Subject s = Subject::tunnelMaps();
        const auto& t = observed_.tunnel;
        if (!t.refused.empty()) {
            finding({.subject = s, .kind = FindingKind::TunnelUnsupported, .detail = t.refused});
            return;
        }
        if (!t.maps) return;  // none runs, and none may be loaded here (status): the hooks' items say so
        const tunnel::TunnelMaps want = wantedMaps();
        if (*t.maps == want) return;
        finding({.subject = s, .kind = FindingKind::TunnelMapsStale});
        ph_.tunnel.push_back(TunnelOp{.kind = TunnelOp::Kind::Sync, .maps = want});
    }

    // One interface: the agent's two filters there while it is configured, gone (with the
    // clsact qdisc the agent created, once nothing else is on it) otherwise.
    void tunnelHook(const std::string& iface) {
        const Subject s = Subject::tunnel(iface);
        const auto* link = observed_.kernel.linkNamed(iface);
        const auto& t = observed_.tunnel;
        const auto hook = t.hooks.find(iface);
        const bool wanted = desired_.tunnel && std::ranges::find(desired_.tunnel->interfaces, iface) != desired_.tunnel->interfaces.end();
        const auto own = owned_.tunnelHooks.find(iface);
        if (wanted) {
            if (!t.refused.empty()) return;  // the program's item says why
            if (!link) {
                finding({.subject = s, .kind = FindingKind::TunnelNoInterface, .other = iface});
                return;
            }
            if (hook != t.hooks.end() && hook->second.attached()) return;
            const bool in = hook != t.hooks.end() && hook->second.ingress;
            finding({.subject = s, .kind = FindingKind::TunnelNotAttached, .other = iface,
                     .detail = in ? "egress (lvs_mss)" : "ingress (lvs_decap)"});
            if (hook == t.hooks.end() || !hook->second.clsact)
                ph_.tunnel.push_back(TunnelOp{.kind = TunnelOp::Kind::Clsact, .iface = iface, .ifindex = link->ifindex});
            ph_.tunnel.push_back(TunnelOp{.kind = TunnelOp::Kind::Attach, .iface = iface, .ifindex = link->ifindex});
            return;
        }
        if (own == owned_.tunnelHooks.end()) return;
        if (!link)
            plan_.forget.tunnelHooks.emplace(iface, false);  // the interface took its hooks with it
        else
            ph_.detach.push_back(TunnelOp{.kind = TunnelOp::Kind::Detach, .iface = iface, .ifindex = link->ifindex,
                                          .removeClsact = own->second});
    }

    // The two-box marks: the agent's nftables table as the configuration and the peers'
    // MACs make it, written whole when missing or changed, its peer set changed in place
    // when only a MAC moved; removed when no longer configured. No rule at all while a
    // peer's MAC is unknown (an empty set would mark everything: the loop).
    void marks() {
        const Subject s = Subject::marks();
        const auto& o = observed_.marks;
        const auto& want = desired_.colocated;
        if (!want) {
            if (!owned_.markTable) return;
            if (!o.error.empty() || o.table) ph_.detach.push_back(MarksOp{.kind = MarksOp::Kind::Remove});
            else plan_.forget.markTable = true;
            return;
        }
        if (!o.error.empty()) {
            finding({.subject = s, .kind = FindingKind::MarksUnreadable, .detail = o.error});
            return;
        }
        for (const auto& peer : want->peers) {
            if (!observed_.kernel.addressesOf(peer).empty()) {
                finding({.subject = s, .kind = FindingKind::PeerIsThisHost, .detail = peer.str()});
                return;
            }
            if (const auto mac = o.peerMacs.find(peer); mac == o.peerMacs.end() || mac->second.empty())
                finding({.subject = s, .kind = FindingKind::PeerMacUnknown, .detail = peer.str()});
        }
        const netcfg::MarkSpec spec = wantedMarks(*want, o);
        if (!o.table) {
            finding({.subject = s, .kind = FindingKind::MarksMissing});
            ph_.tunnel.push_back(MarksOp{.kind = MarksOp::Kind::Apply, .spec = spec});
        } else if (netcfg::markTableMatches(*o.table, spec)) {
            return;
        } else if (spec.marking && netcfg::onlyPeersDiffer(*o.table, spec)) {
            // A peer's MAC moved (a NIC swap, a failover): the set follows, no rule rewritten.
            MarksOp op{.kind = MarksOp::Kind::Peers};
            for (const auto& m : o.table->peerMacs)
                if (!spec.peerMacs.contains(m)) op.remove.insert(m);
            for (const auto& m : spec.peerMacs)
                if (!o.table->peerMacs.contains(m)) op.add.insert(m);
            ph_.tunnel.push_back(std::move(op));
        } else {
            netcfg::MarkSpec theirPeers = spec;
            theirPeers.peerMacs = o.table->peerMacs;
            const bool rulesOnly = netcfg::onlyPeersDiffer(*o.table, theirPeers);
            finding({.subject = s, .kind = FindingKind::MarksChanged,
                     .detail = rulesOnly ? "its peer set" : "its sets, chain or rules"});
            ph_.tunnel.push_back(MarksOp{.kind = MarksOp::Kind::Apply, .spec = spec});
        }
    }

    // A family's NAT reply path: `default via DIRECTOR dev IF table T` and a rule per port
    // `from RIP ipproto P sport N lookup T` (RIP: this server's address on the director's
    // subnet, IF its link) while configured; what the agent owned of it otherwise goes,
    // rules first (nothing is left looking up a table being emptied).
    void natPath(int family) {
        const Subject s = Subject::nat(family);
        const auto& k = observed_.kernel;
        const netcfg::IpAddress* director = desired_.nat ? desired_.nat->director(family) : nullptr;
        std::set<netcfg::Rule> wantRules;
        std::optional<netcfg::GatewayRoute> wantRoute;
        netcfg::IpAddress ripAddress;
        if (director) {
            const auto rip = k.addressFacing(*director);
            if (!rip) {
                finding({.subject = s, .kind = FindingKind::NatNoPath, .detail = director->str()});
            } else {
                const auto& n = *desired_.nat;
                ripAddress = rip->address;
                wantRoute = netcfg::GatewayRoute{.gateway = *director, .ifindex = rip->ifindex, .table = n.table,
                                                 .protocol = netcfg::kRouteProtocol};
                for (const auto& [proto, port] : n.ports)
                    wantRules.insert({.src = rip->address, .ipProto = proto, .sport = port, .table = n.table,
                                      .priority = n.priority, .protocol = netcfg::kRouteProtocol});
            }
        }
        // Rules first, then the route: none of the agent's is left behind a change of RIP,
        // port or table.
        for (const auto& r : owned_.natRules) {
            if (r.src.family != family || wantRules.contains(r)) continue;
            if (k.rules().contains(r))
                ph_.deleteRoutes.push_back(natOp(K::DeleteRule, r));
            else
                plan_.forget.natRules.insert(r);
        }
        // Only one NAT table is read (the desired one, else the one the agent owns): a route
        // the agent owns in another (nat.table changed) is deleted unseen, which is a no-op
        // if it went by itself.
        const std::uint32_t read = tablesFor(desired_, owned_).nat;
        for (const auto& g : owned_.natRoutes) {
            if (g.gateway.family != family || (wantRoute && g == *wantRoute)) continue;
            if (k.gatewayRoutes().contains(g) || g.table != read)
                ph_.deleteRoutes.push_back(natRouteOp(K::DeleteGatewayRoute, g));
            else
                plan_.forget.natRoutes.insert(g);
        }
        if (!wantRoute) return;
        // Another program's default route or rule in the table: the agent adds nothing there.
        for (const auto& g : k.gatewayRoutes())
            if (g.table == wantRoute->table && g != *wantRoute && (g.gateway.family == family || g.gateway.family == 0) &&
                !owned_.natRoutes.contains(g)) {
                finding({.subject = s, .kind = FindingKind::NatTableInUse, .expected = static_cast<int>(wantRoute->table),
                         .detail = "default via " + (g.gateway.family ? g.gateway.str() : std::string("(no gateway)")) +
                                   " proto " + std::to_string(g.protocol)});
                return;
            }
        for (const auto& r : k.rules())
            if (r.table == wantRoute->table && r.protocol != netcfg::kRouteProtocol) {
                finding({.subject = s, .kind = FindingKind::NatTableInUse, .expected = static_cast<int>(wantRoute->table),
                         .detail = "rule " + (r.src.family ? netcfg::describe(r) : "lookup " + std::to_string(r.table)) +
                                   " proto " + std::to_string(r.protocol)});
                return;
            }
        if (!k.gatewayRoutes().contains(*wantRoute)) {
            finding({.subject = s, .kind = FindingKind::NatRouteMissing,
                     .detail = "default via " + wantRoute->gateway.str() + " dev " + k.linkName(wantRoute->ifindex) + " table " +
                               std::to_string(wantRoute->table)});
            ph_.addRoutes.push_back(natRouteOp(K::AddGatewayRoute, *wantRoute));
        }
        bool complete = k.gatewayRoutes().contains(*wantRoute);
        for (const auto& r : wantRules)
            if (!k.rules().contains(r)) {
                complete = false;
                finding({.subject = s, .kind = FindingKind::NatRuleMissing, .detail = netcfg::describe(r)});
                ph_.addRoutes.push_back(natOp(K::AddRule, r));
            }
        if (!complete) return;
        // In place: where the kernel's own lookup sends each port's replies (asked at each tick).
        for (const auto& [proto, port] : desired_.nat->ports) {
            const auto p = observed_.natPaths.find({family, proto, port});
            if (p == observed_.natPaths.end() || p->second.src != ripAddress) continue;  // not asked yet for this address
            const auto& a = p->second.answer;
            const std::string name = std::string(proto == 17 ? "udp/" : "tcp/") + std::to_string(port);
            if (!p->second.error.empty()) {
                finding({.subject = s, .kind = FindingKind::NatPathElsewhere, .other = name, .detail = "(the lookup failed: " + p->second.error + ")"});
            } else if (a.gateway != wantRoute->gateway || a.oif != wantRoute->ifindex) {
                finding({.subject = s, .kind = FindingKind::NatPathElsewhere, .other = name,
                         .detail = (a.gateway.family ? "via " + a.gateway.str() : std::string("directly")) + " dev " + k.linkName(a.oif) +
                                   " (table " + std::to_string(a.table) + ")"});
            }
        }
    }

    static NetOp natOp(K kind, const netcfg::Rule& r) {
        NetOp o;
        o.kind = kind;
        o.table = r.table;
        o.rule = r;
        return o;
    }
    NetOp natRouteOp(K kind, const netcfg::GatewayRoute& g) const {
        NetOp o;
        o.kind = kind;
        o.ifindex = g.ifindex;
        o.ifname = observed_.kernel.linkName(g.ifindex);
        o.table = g.table;
        o.gateway = g.gateway;
        return o;
    }

    void desiredSysctl(const sysctl::ConfKey& key, int value) {
        const Subject s = Subject::setting(key);
        if (auto e = observed_.sysctlErrors.find(key); e != observed_.sysctlErrors.end()) {
            const bool gone = e->second.err == ENOENT;
            finding({.subject = s, .kind = gone ? FindingKind::InterfaceMissing : FindingKind::Unreadable,
                     .err = e->second.err, .detail = e->second.message});
            return;
        }
        const auto current = observed_.sysctls.find(key);
        if (current == observed_.sysctls.end() || current->second == value) return;
        finding({.subject = s, .kind = FindingKind::WrongValue, .expected = value, .actual = current->second});
        ph_.sysctls.push_back(SetSysctl{.key = key, .from = current->second, .to = value, .restore = false});
    }

    // A sysctl the agent changed but no longer manages goes back to what it found. An
    // interface that has gone took its settings with it: nothing left to restore.
    void restoreSysctl(const sysctl::ConfKey& key, int original) {
        const auto current = observed_.sysctls.find(key);
        if (current != observed_.sysctls.end() && current->second != original)
            ph_.restores.push_back(SetSysctl{.key = key, .from = current->second, .to = original, .restore = true});
        else
            plan_.forget.sysctlOriginals.emplace(key, original);
    }

    void loopback() {
        if (lo_ == 0 || desired_.vips.empty() || observed_.kernel.loUp()) return;
        finding({.subject = Subject::loopback(), .kind = FindingKind::LinkDown});
        ph_.link.push_back(op(K::LinkUp));
    }

    // A range: its local route in table local, unless it would hold a real interface's
    // address or a gateway (conflicts: nothing is added). What the agent owned of the same
    // network otherwise (a local route of another length, an address and host route from
    // when it was a VIP) goes.
    void wantedRange(const IpAddress& vip, int len) {
        const Subject s = Subject::address(vip);
        const auto& k = observed_.kernel;
        bool blocked = false, replacing = false;
        for (const auto& a : k.addressesWithin(vip, len)) {
            // On lo, an address inside a range is harmless, but the one a range of one
            // address is would hold the same local route: the agent's own (the VIP became
            // that range) goes first; another's is a conflict.
            const bool sameKey = a.ifindex == lo_ && a.address == vip && len == vip.hostPrefix();
            if (sameKey && owned_.addresses.contains(vip)) {
                replacing = true;
            } else if (a.ifindex != lo_ || sameKey) {
                blocked = true;
                finding({.subject = s, .kind = FindingKind::RangeCoversAddress, .other = k.linkName(a.ifindex),
                         .detail = a.address.str(), .prefixLen = len});
            }
        }
        for (const auto& gw : k.gateways())
            if (vip.covers(len, gw)) {
                blocked = true;
                finding({.subject = s, .kind = FindingKind::RangeCoversGateway, .detail = gw.str(), .prefixLen = len});
            }
        if (!k.hasLocalRoute(lo_, vip, len)) {
            finding({.subject = s, .kind = FindingKind::LocalRouteMissing, .prefixLen = len});
            if (!blocked) ph_.addAddresses.push_back(localOp(K::AddLocalRoute, vip, len));
        } else if (owned_.localRoutes.contains({vip, len}) && !k.hasOwnLocalRoute(lo_, vip, len)) {
            plan_.forget.localRoutes.insert({vip, len});  // someone replaced it: no longer the agent's
        }
        dropOwnedLocal(vip, len);
        dropOwnedAddress(vip, replacing);
    }

    // The agent's local routes for vip but the one of length keep (-1: every one).
    void dropOwnedLocal(const IpAddress& vip, int keep) {
        for (auto it = owned_.localRoutes.lower_bound({vip, -1}); it != owned_.localRoutes.end() && it->first == vip; ++it) {
            if (it->second == keep) continue;
            if (observed_.kernel.hasOwnLocalRoute(lo_, vip, it->second))
                ph_.deleteRoutes.push_back(localOp(K::DeleteLocalRoute, vip, it->second));
            else
                plan_.forget.localRoutes.insert(*it);
        }
    }

    void wantedVip(const IpAddress& vip) {
        if (const int len = desired_.rangeLength(vip); len >= 0) return wantedRange(vip, len);
        dropOwnedLocal(vip, -1);
        const Subject s = Subject::address(vip);
        const auto& k = observed_.kernel;
        bool blocked = false;
        // Two boxes: the active director (keepalived's VRRP master) holds the VIP on the
        // shared interface too; that is its role, not a conflict (it answers ARP there).
        for (const auto& a : k.addressesOf(vip))
            if (a.ifindex != lo_ && !desired_.colocated) {
                blocked = true;
                finding({.subject = s, .kind = FindingKind::OnRealInterface, .other = k.linkName(a.ifindex)});
            }
        const bool routed = k.hasRouteVia(lo_, vip);
        if (desired_.hostRoutes && !routed)
            for (const auto& r : k.routesTo(vip)) {
                blocked = true;
                finding({.subject = s, .kind = FindingKind::RouteViaOtherDevice, .other = k.linkName(r.oif)});
            }
        if (!k.hasAddress(lo_, vip)) {
            finding({.subject = s, .kind = FindingKind::AddressMissing});
            if (!blocked) ph_.addAddresses.push_back(op(K::AddAddress, vip));
        }
        if (desired_.hostRoutes && !routed) {
            finding({.subject = s, .kind = FindingKind::RouteMissing});
            if (!blocked) ph_.addRoutes.push_back(op(K::AddRoute, vip));
        }
        if (!owned_.routes.contains(vip)) return;
        if (!desired_.hostRoutes) {  // host_routes turned off: the agent's route goes
            if (k.hasOwnRoute(lo_, vip))
                ph_.deleteRoutes.push_back(op(K::DeleteRoute, vip));
            else
                plan_.forget.routes.insert(vip);
        } else if (routed && !k.hasOwnRoute(lo_, vip)) {
            plan_.forget.routes.insert(vip);  // someone replaced it: no longer the agent's
        }
    }

    // What the agent owns but no longer wants: its routes, then its address.
    void unwantedVip(const IpAddress& vip) {
        dropOwnedLocal(vip, -1);
        dropOwnedAddress(vip);
    }

    // first: before any add of this plan (the address blocks the add that replaces it).
    void dropOwnedAddress(const IpAddress& vip, bool first = false) {
        const auto& k = observed_.kernel;
        if (owned_.routes.contains(vip)) {
            if (k.hasOwnRoute(lo_, vip))
                (first ? ph_.replace : ph_.deleteRoutes).push_back(op(K::DeleteRoute, vip));
            else
                plan_.forget.routes.insert(vip);
        }
        if (owned_.addresses.contains(vip)) {
            if (k.hasAddress(lo_, vip))
                (first ? ph_.replace : ph_.deleteAddresses).push_back(op(K::DeleteAddress, vip));
            else
                plan_.forget.addresses.insert(vip);
        }
    }

    const Desired& desired_;
    const Observed& observed_;
    const Owned& owned_;
    Plan& plan_;
    int lo_;
    Phases ph_;
};

}  // namespace

bool Plan::hasConflicts() const {
    for (const auto& f : findings)
        if (isConflict(f.kind)) return true;
    return false;
}

std::vector<Finding> Plan::conflicts() const {
    std::vector<Finding> out;
    for (const auto& f : findings)
        if (isConflict(f.kind)) out.push_back(f);
    return out;
}

std::set<Subject> allSubjects(const Desired& desired, const Owned& owned) {
    std::set<Subject> all{Subject::loopback()};
    for (const auto& [key, v] : desired.sysctls) all.insert(Subject::setting(key));
    for (const auto& [key, v] : owned.sysctlOriginals) all.insert(Subject::setting(key));
    for (const auto& vip : desired.vips) all.insert(Subject::address(vip));
    for (const auto& vip : owned.addresses) all.insert(Subject::address(vip));
    for (const auto& vip : owned.routes) all.insert(Subject::address(vip));
    for (const auto& [vip, len] : owned.localRoutes) all.insert(Subject::address(vip));
    if (desired.announceTable != 0) {
        all.insert(Subject::announceTable());
        for (const auto& vip : desired.vips) all.insert(Subject::announce(vip));
    }
    for (const auto& [vip, a] : owned.announced) all.insert(Subject::announce(vip));
    if (!desired.holdTunnel)
        for (const auto& iface : tunnelInterfaces(desired, owned)) all.insert(Subject::tunnel(iface));
    if (desired.tunnel && !desired.holdTunnel) all.insert(Subject::tunnelMaps());
    if (!desired.holdNat) {
        if (desired.nat)
            for (const auto& d : desired.nat->directors) all.insert(Subject::nat(d.family));
        for (const auto& r : owned.natRules) all.insert(Subject::nat(r.src.family));
        for (const auto& g : owned.natRoutes) all.insert(Subject::nat(g.gateway.family));
    }
    if (!desired.holdMarks && (desired.colocated || owned.markTable)) all.insert(Subject::marks());
    return all;
}

Plan plan(const Desired& desired, const Observed& observed, const Owned& owned, const std::set<Subject>* only) {
    Plan p;
    Planner planner(desired, observed, owned, p);
    if (planner.noLoopback()) return p;
    if (only) {
        for (const auto& s : *only) planner.item(s);  // Subject's order: lo, settings, VIPs
    } else {
        // Every item, findings in the configuration's order: the desired settings, lo, the
        // desired VIPs as listed, then what is only owned (VIPs, then settings to restore).
        std::set<Subject> rest = allSubjects(desired, owned);
        auto once = [&](const Subject& s) {
            if (rest.erase(s) > 0) planner.item(s);
        };
        for (const auto& [key, v] : desired.sysctls) once(Subject::setting(key));
        once(Subject::loopback());
        once(Subject::marks());
        for (const auto& vip : desired.vips) once(Subject::address(vip));
        for (const auto& s : rest)
            if (s.kind == Subject::Kind::Vip) planner.item(s);
        for (const auto& s : rest)
            if (s.kind == Subject::Kind::Sysctl || s.kind == Subject::Kind::Tunnel || s.kind == Subject::Kind::Announce ||
                s.kind == Subject::Kind::Nat)
                planner.item(s);
    }
    p.actions = planner.actions();
    return p;
}

}  // namespace agent
