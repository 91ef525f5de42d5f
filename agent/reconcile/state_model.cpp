#include "agent/reconcile/state_model.h"

#include <algorithm>

namespace agent {

netcfg::RouteTables tablesFor(const Desired& desired, const Owned& owned) {
    auto t = desired.tables();
    t.ranges = t.ranges || !owned.localRoutes.empty();
    // The NAT table while the agent still owns something there (to remove it).
    if (t.nat == 0 && !owned.natRoutes.empty()) t.nat = owned.natRoutes.begin()->table;
    if (t.nat == 0 && !owned.natRules.empty()) t.nat = owned.natRules.begin()->table;
    return t;
}

Desired desiredFrom(const Config& cfg) {
    Desired d{.vips = cfg.addresses(), .wanted = {}, .ranges = {}, .hostRoutes = cfg.hostRoutes, .sysctls = {}};
    d.wanted.insert(d.vips.begin(), d.vips.end());
    d.announceTable = cfg.announce.table;
    d.announceMetric = cfg.announce.metric;
    for (const auto& v : cfg.vips) {
        if (v.isRange()) d.ranges.emplace(v.address, v.prefixLen);
        if (cfg.announce.enabled() && v.announce) d.announceable.insert(v.address);
    }
    // The ARP settings are DR's (and the tunnel's): a NAT-only server binds no VIP.
    if (!cfg.vips.empty() || !cfg.nat.enabled())
        for (const auto& iface : cfg.arp.interfaces) {
            d.sysctls[{.iface = iface, .name = "arp_ignore"}] = cfg.arp.ignore;
            d.sysctls[{.iface = iface, .name = "arp_announce"}] = cfg.arp.announce;
        }
    if (cfg.nat.enabled()) {
        NatDesired n{.directors = cfg.nat.directors, .ports = {}, .table = cfg.nat.table, .priority = cfg.nat.priority};
        for (const auto& p : cfg.nat.ports) n.ports.emplace_back(p.ipProto, p.port);
        d.nat = std::move(n);
    }
    if (cfg.colocated.enabled()) {
        ColocatedDesired c{.mark = cfg.colocated.fwmark, .vips = {}, .ports = {}, .peers = cfg.colocated.peers};
        for (const auto& v : cfg.vips) {
            if (v.isRange() && v.prefixLen < v.address.hostPrefix()) c.ranges.emplace_back(v.address, v.prefixLen);
            else c.vips.push_back(v.address);
        }
        for (const auto& p : cfg.colocated.ports) c.ports.emplace_back(p.ipProto, p.port);
        d.colocated = std::move(c);
    }
    if (cfg.tunnel.enabled()) {
        TunnelDesired t{.interfaces = cfg.tunnel.interfaces, .maps = {}, .mssOverhead = 0};
        t.maps.settings = {.ipip = cfg.tunnel.ipip, .gue = cfg.tunnel.gue,
                           .guePort = static_cast<std::uint16_t>(cfg.tunnel.guePort),
                           .mss = static_cast<std::uint16_t>(cfg.tunnel.mss)};
        if (cfg.tunnel.mss == 0) t.mssOverhead = 1500 - tunnelMss(cfg.tunnel, 1500);
        // Exact addresses only: the program's VIP map is a hash (ranges are served as DR).
        for (const auto& v : cfg.vips)
            if (!v.isRange()) t.maps.vips.insert(v.address);
        t.maps.directors.insert(cfg.tunnel.directors.begin(), cfg.tunnel.directors.end());
        d.tunnel = std::move(t);
    }
    return d;
}

Desired nothingDesired() {
    Desired d{.vips = {}, .wanted = {}, .ranges = {}, .hostRoutes = false, .sysctls = {}};
    d.holdAnnounced = false;  // every announce route goes
    return d;
}

std::set<netcfg::IpAddress> ownedVips(const Owned& owned) {
    std::set<netcfg::IpAddress> all = owned.addresses;
    all.insert(owned.routes.begin(), owned.routes.end());
    for (const auto& [vip, a] : owned.announced) all.insert(vip);
    for (const auto& [vip, len] : owned.localRoutes) all.insert(vip);
    return all;
}

namespace {
// The ranges among what the agent owns (their local routes), as a Desired holds them.
void ownedRanges(const Owned& owned, const netcfg::IpAddress& vip, Desired& d) {
    for (auto it = owned.localRoutes.lower_bound({vip, -1}); it != owned.localRoutes.end() && it->first == vip; ++it)
        d.ranges.emplace(vip, it->second);
}
}  // namespace

Desired addedTo(Desired d, const Owned& owned) {
    for (const auto& vip : ownedVips(owned))
        if (d.wanted.insert(vip).second) {
            d.vips.push_back(vip);
            ownedRanges(owned, vip, d);
        }
    d.holdOwnedSysctls = true;
    d.holdTunnel = true;  // the tunnel's filters and maps are the configuration's, not --vip's
    d.holdNat = true;     // and so are the NAT reply paths
    d.holdMarks = true;   // and the two-box marks
    return d;
}

Desired ownedWithout(const Owned& owned, const std::set<netcfg::IpAddress>& drop) {
    Desired d = nothingDesired();
    for (const auto& vip : ownedVips(owned))
        if (!drop.contains(vip)) {
            d.vips.push_back(vip);
            d.wanted.insert(vip);
            ownedRanges(owned, vip, d);
        }
    if (d.vips.empty()) {
        Desired none = nothingDesired();
        none.holdNat = true;  // a NAT reply path is the configuration's: `stop` (all) removes it
        none.holdMarks = true;
        return none;
    }
    // A route only where the agent added routes: stop never adds what start did not.
    d.hostRoutes = !owned.routes.empty();
    d.holdOwnedSysctls = true;
    d.holdAnnounced = true;  // the others' announce routes stay; the dropped VIPs' go
    d.holdTunnel = true;     // the tunnel's filters stay while a VIP of the agent's does
    d.holdNat = true;
    d.holdMarks = true;
    return d;
}

KernelView::KernelView(const netcfg::KernelState& k) {
    for (const auto& l : k.links) links_[l.ifindex] = l;
    for (const auto& a : k.addresses) addresses_.emplace(a.address, a);
    for (const auto& r : k.routes) add(r);
    rules_.insert(k.rules.begin(), k.rules.end());
    gatewayRoutes_.insert(k.gatewayRoutes.begin(), k.gatewayRoutes.end());
    gateways_ = k.gateways;
    foreignInAnnounce_ = k.foreignInAnnounce;
    foreignExample_ = k.foreignExample;
    findLoopback();
}

void KernelView::findLoopback() {
    loIndex_ = 0;
    for (const auto& [i, l] : links_)
        if (l.loopback && (loIndex_ == 0 || l.name == "lo")) loIndex_ = i;
}

bool KernelView::loUp() const {
    const auto* l = link(loIndex_);
    return l && l->up;
}

const netcfg::Link* KernelView::link(int ifindex) const {
    auto it = links_.find(ifindex);
    return it == links_.end() ? nullptr : &it->second;
}

std::string KernelView::linkName(int ifindex) const {
    const auto* l = link(ifindex);
    return l ? l->name : "if" + std::to_string(ifindex);
}

bool KernelView::apply(const netcfg::Change& c) {
    using K = netcfg::Change::Kind;
    switch (c.kind) {
        case K::AddressAdded: return add(c.address);
        case K::AddressRemoved: return remove(c.address);
        case K::RouteAdded: return add(c.route);
        case K::RouteRemoved: return remove(c.route);
        case K::LinkChanged: return setLink(c.link);
        case K::LinkRemoved: return removeLink(c.link.ifindex);
        case K::RuleAdded: return add(c.rule);
        case K::RuleRemoved: return remove(c.rule);
        case K::GatewayRouteAdded: return add(c.gatewayRoute);
        case K::GatewayRouteRemoved: return remove(c.gatewayRoute);
    }
    return false;
}

std::optional<netcfg::InterfaceAddress> KernelView::addressFacing(const netcfg::IpAddress& ip) const {
    std::optional<netcfg::InterfaceAddress> best;
    for (const auto& [addr, a] : addresses_) {
        if (a.ifindex == loIndex_ || addr.family != ip.family || a.prefixlen >= addr.hostPrefix()) continue;
        if (!addr.covers(a.prefixlen, ip) || addr == ip) continue;
        if (!best || a.prefixlen > best->prefixlen) best = a;
    }
    return best;
}

bool KernelView::add(const netcfg::InterfaceAddress& a) {
    auto [b, e] = addresses_.equal_range(a.address);
    for (; b != e; ++b)
        if (b->second.ifindex == a.ifindex && b->second.prefixlen == a.prefixlen) return false;
    addresses_.emplace(a.address, a);
    return true;
}

bool KernelView::remove(const netcfg::InterfaceAddress& a) {
    auto [b, e] = addresses_.equal_range(a.address);
    for (; b != e; ++b)
        if (b->second.ifindex == a.ifindex && b->second.prefixlen == a.prefixlen) {
            addresses_.erase(b);
            return true;
        }
    return false;
}

namespace {
bool sameRoute(const netcfg::HostRoute& x, const netcfg::HostRoute& y) {
    return x.dst == y.dst && x.table == y.table && x.protocol == y.protocol && x.oif == y.oif && x.metric == y.metric &&
           x.length() == y.length() && x.type == y.type;
}
// Table main's host routes, and the announce table's, are looked up by address; a
// range's local route lives apart (its network address may be no VIP at all).
bool inMain(const netcfg::HostRoute& r) { return r.table == netcfg::kMainTable && r.length() == r.dst.hostPrefix(); }
}  // namespace

bool KernelView::add(const netcfg::HostRoute& r) {
    auto& into = r.table == netcfg::kLocalTable ? local_ : routes_;
    auto [b, e] = into.equal_range(r.dst);
    for (; b != e; ++b)
        if (sameRoute(b->second, r)) return false;
    into.emplace(r.dst, r);
    return true;
}

bool KernelView::remove(const netcfg::HostRoute& r) {
    auto& from = r.table == netcfg::kLocalTable ? local_ : routes_;
    auto [b, e] = from.equal_range(r.dst);
    for (; b != e; ++b)
        if (sameRoute(b->second, r)) {
            from.erase(b);
            return true;
        }
    return false;
}

bool KernelView::setLink(const netcfg::Link& l) {
    auto it = links_.find(l.ifindex);
    if (it != links_.end() && it->second.name == l.name && it->second.up == l.up && it->second.loopback == l.loopback)
        return false;
    links_[l.ifindex] = l;
    findLoopback();
    return true;
}

bool KernelView::removeLink(int ifindex) {
    if (links_.erase(ifindex) == 0) return false;
    // The kernel removes a link's addresses and routes with it.
    std::erase_if(addresses_, [&](const auto& p) { return p.second.ifindex == ifindex; });
    std::erase_if(routes_, [&](const auto& p) { return p.second.oif == ifindex; });
    std::erase_if(local_, [&](const auto& p) { return p.second.oif == ifindex; });
    findLoopback();
    return true;
}

bool KernelView::hasAddress(int ifindex, const netcfg::IpAddress& ip) const {
    auto [b, e] = addresses_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) { return p.second.ifindex == ifindex && p.second.prefixlen == ip.hostPrefix(); });
}

bool KernelView::hasRouteVia(int ifindex, const netcfg::IpAddress& ip) const {
    auto [b, e] = routes_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) { return inMain(p.second) && p.second.oif == ifindex; });
}

bool KernelView::hasOwnRoute(int ifindex, const netcfg::IpAddress& ip) const {
    auto [b, e] = routes_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) {
        return inMain(p.second) && p.second.oif == ifindex && p.second.protocol == netcfg::kRouteProtocol;
    });
}

bool KernelView::hasLocalRoute(int ifindex, const netcfg::IpAddress& ip, int len) const {
    auto [b, e] = local_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) { return p.second.oif == ifindex && p.second.length() == len; });
}

bool KernelView::hasOwnLocalRoute(int ifindex, const netcfg::IpAddress& ip, int len) const {
    auto [b, e] = local_.equal_range(ip);
    return std::any_of(b, e, [&](const auto& p) {
        return p.second.oif == ifindex && p.second.length() == len && p.second.protocol == netcfg::kRouteProtocol;
    });
}

std::vector<netcfg::InterfaceAddress> KernelView::addressesWithin(const netcfg::IpAddress& ip, int len) const {
    std::vector<netcfg::InterfaceAddress> out;
    // Addresses sort by family, then bytes: a prefix's addresses stand together.
    for (auto it = addresses_.lower_bound(ip.masked(len)); it != addresses_.end() && ip.covers(len, it->first); ++it)
        out.push_back(it->second);
    return out;
}

std::vector<netcfg::HostRoute> KernelView::routesIn(std::uint32_t table, const netcfg::IpAddress& ip) const {
    std::vector<netcfg::HostRoute> out;
    for (auto [b, e] = routes_.equal_range(ip); b != e; ++b)
        if (b->second.table == table) out.push_back(b->second);
    return out;
}

std::vector<netcfg::InterfaceAddress> KernelView::addressesOf(const netcfg::IpAddress& ip) const {
    std::vector<netcfg::InterfaceAddress> out;
    for (auto [b, e] = addresses_.equal_range(ip); b != e; ++b) out.push_back(b->second);
    return out;
}

std::vector<netcfg::HostRoute> KernelView::routesTo(const netcfg::IpAddress& ip) const {
    std::vector<netcfg::HostRoute> out;
    for (auto [b, e] = routes_.equal_range(ip); b != e; ++b)
        if (inMain(b->second)) out.push_back(b->second);
    return out;
}

std::vector<netcfg::InterfaceAddress> KernelView::addressesOn(int ifindex) const {
    std::vector<netcfg::InterfaceAddress> out;
    for (const auto& [ip, a] : addresses_)
        if (a.ifindex == ifindex) out.push_back(a);
    return out;
}

std::set<sysctl::ConfKey> sysctlKeys(const Desired& desired, const Owned& owned) {
    std::set<sysctl::ConfKey> keys;
    for (const auto& [k, v] : desired.sysctls) keys.insert(k);
    for (const auto& [k, v] : owned.sysctlOriginals) keys.insert(k);
    for (const auto& name : kArpKeys) keys.insert({.iface = "all", .name = name});
    return keys;
}

bool sameSysctlKeys(const std::set<sysctl::ConfKey>& keys, const Desired& desired, const Owned& owned) {
    std::size_t found = 0;  // keys of the union, each counted once
    for (const auto& [k, v] : desired.sysctls) {
        if (!keys.contains(k)) return false;
        ++found;
    }
    for (const auto& [k, v] : owned.sysctlOriginals) {
        if (!keys.contains(k)) return false;
        found += desired.sysctls.contains(k) ? 0 : 1;
    }
    for (const auto& name : kArpKeys) {
        const sysctl::ConfKey all{.iface = "all", .name = name};
        if (!keys.contains(all)) return false;
        found += desired.sysctls.contains(all) || owned.sysctlOriginals.contains(all) ? 0 : 1;
    }
    return found == keys.size();
}

bool recordSysctl(const sysctl::ConfKey& key, const std::expected<int, sysctl::SysctlError>& v, Observed& o) {
    if (v) {
        const bool same = !o.sysctlErrors.contains(key) && o.sysctls.contains(key) && o.sysctls[key] == *v;
        o.sysctlErrors.erase(key);
        o.sysctls[key] = *v;
        return !same;
    }
    const auto known = o.sysctlErrors.find(key);
    const bool same = !o.sysctls.contains(key) && known != o.sysctlErrors.end() && known->second.err == v.error().err;
    o.sysctls.erase(key);
    o.sysctlErrors[key] = v.error();
    return !same;
}

std::set<std::string> tunnelInterfaces(const Desired& desired, const Owned& owned) {
    std::set<std::string> out;
    if (desired.tunnel) out.insert(desired.tunnel->interfaces.begin(), desired.tunnel->interfaces.end());
    for (const auto& [iface, created] : owned.tunnelHooks) out.insert(iface);
    return out;
}

TunnelObserved observeTunnel(tunnel::TunnelDriver* driver, const KernelView& kernel, const Desired& desired,
                             const Owned& owned, bool mayLoad) {
    TunnelObserved t;
    const auto ifaces = tunnelInterfaces(desired, owned);
    if (ifaces.empty() || desired.holdTunnel) return t;
    if (!driver) {
        if (desired.tunnel) t.refused = "this agent was built without tunnel decapsulation";
        return t;
    }
    std::vector<int> indexes;
    for (const auto& name : ifaces)
        if (const auto* l = kernel.linkNamed(name)) indexes.push_back(l->ifindex);
    if (desired.tunnel && !driver->prepared())
        if (auto r = driver->prepare(indexes, mayLoad); !r) t.refused = r.error();
    t.maps = driver->maps();
    for (const auto& name : ifaces)
        if (const auto* l = kernel.linkNamed(name))
            if (auto h = driver->hook(l->ifindex)) t.hooks[name] = *h;
    return t;
}

std::expected<Observed, std::string> observe(netcfg::Netlink& nl, const sysctl::SysctlTree& tree,
                                             const Desired& desired, const Owned& owned, tunnel::TunnelDriver* tunnel,
                                             bool mayLoad, netcfg::MarksDriver* marks) {
    Observed o;
    auto kernel = nl.dump(tablesFor(desired, owned));
    if (!kernel) return std::unexpected(kernel.error().message);
    o.kernel = KernelView(*kernel);
    for (const auto& k : sysctlKeys(desired, owned)) readSysctl(tree, k, o);
    o.tunnel = observeTunnel(tunnel, o.kernel, desired, owned, mayLoad);
    o.natPaths = lookupNatPaths(nl, o.kernel, desired);
    o.marks = observeMarks(nl, marks, o.kernel, desired, owned);
    return o;
}

void readMarkTable(netcfg::MarksDriver* driver, MarksObserved& m) {
    m.table.reset();
    m.error.clear();
    if (!driver) {
        m.error = "nftables is not open";
    } else if (auto t = driver->read(); !t) {
        m.error = t.error();
    } else {
        m.table = std::move(*t);
    }
}

netcfg::MarkSpec wantedMarks(const ColocatedDesired& want, const MarksObserved& observed) {
    netcfg::MarkSpec spec{.mark = want.mark, .vips = want.vips, .ports = want.ports, .peerMacs = {}, .marking = true, .ranges = want.ranges};
    for (const auto& peer : want.peers) {
        const auto mac = observed.peerMacs.find(peer);
        if (mac == observed.peerMacs.end() || mac->second.empty()) spec.marking = false;
        else spec.peerMacs.insert(mac->second);
    }
    if (!spec.marking) spec.peerMacs.clear();  // no rule at all: an empty set would mark everything
    return spec;
}

MarksObserved observeMarks(netcfg::Netlink& nl, netcfg::MarksDriver* driver, const KernelView& k, const Desired& desired,
                           const Owned& owned) {
    MarksObserved m;
    if (desired.holdMarks || (!desired.colocated && !owned.markTable)) return m;
    readMarkTable(driver, m);
    if (desired.colocated)
        for (const auto& peer : desired.colocated->peers) {
            std::string mac;
            if (const auto facing = k.addressFacing(peer))
                if (auto n = nl.neighbour(facing->ifindex, peer); n && *n && (*n)->valid()) mac = (*n)->mac;
            m.peerMacs[peer] = mac;
        }
    return m;
}

std::optional<netcfg::IpAddress> clientProbe(const KernelView& k, int family) {
    const std::vector<const char*> v4{"192.0.2.254", "198.51.100.254", "203.0.113.254", "198.18.255.254"};
    const std::vector<const char*> v6{"2001:db8:ffff::fe", "2001:db8:fffe::fe"};
    for (const char* c : family == AF_INET ? v4 : v6) {
        const auto ip = netcfg::IpAddress::parse(c);
        if (!k.addressFacing(*ip)) return ip;
    }
    return std::nullopt;
}

std::map<NatPathKey, NatPath> lookupNatPaths(netcfg::Netlink& nl, const KernelView& k, const Desired& desired) {
    std::map<NatPathKey, NatPath> out;
    if (!desired.nat || desired.holdNat) return out;
    for (const auto& d : desired.nat->directors) {
        const auto rip = k.addressFacing(d);
        const auto client = clientProbe(k, d.family);
        if (!rip || !client) continue;  // the plan says why (no address facing the director)
        for (const auto& [proto, port] : desired.nat->ports) {
            NatPath p{.src = rip->address};
            if (auto a = nl.lookup(rip->address, *client, proto, port))
                p.answer = *a;
            else
                p.error = a.error().message;
            out[{d.family, proto, port}] = p;
        }
    }
    return out;
}

const netcfg::Link* KernelView::linkNamed(const std::string& name) const {
    for (const auto& [i, l] : links_)
        if (l.name == name) return &l;
    return nullptr;
}

}  // namespace agent
