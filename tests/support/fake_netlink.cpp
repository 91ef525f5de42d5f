#include "support/fake_netlink.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace netcfg {

FakeEvents::FakeEvents() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
FakeEvents::~FakeEvents() = default;

void FakeEvents::signal() {
    const std::uint64_t one = 1;
    (void)!::write(fd_.get(), &one, sizeof one);
}

void FakeEvents::push(Change c) {
    pending_.changes.push_back(std::move(c));
    signal();
}

void FakeEvents::overrun() {
    pending_.overrun = true;
    signal();
}

Drained FakeEvents::drain() {
    std::uint64_t v;
    (void)!::read(fd_.get(), &v, sizeof v);
    Drained d = std::move(pending_);
    pending_ = Drained{};
    return d;
}

FakeNetlink::FakeNetlink() {
    state.links = {Link{.ifindex = 1, .name = "lo", .up = false, .loopback = true},
                   Link{.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
}

std::expected<KernelState, NetError> FakeNetlink::dump(const RouteTables& tables) {
    ++dumps;
    dumpedTables = tables;
    if (auto e = failWhen ? failWhen("dump") : std::nullopt) return std::unexpected(*e);
    KernelState out = state;
    std::erase_if(out.routes, [&](const HostRoute& r) { return !tables.wanted(r.table); });
    for (const auto& r : out.routes)
        if (tables.announce != 0 && r.table == tables.announce && r.protocol != kRouteProtocol &&
            out.foreignInAnnounce++ == 0)
            out.foreignExample = r.dst.hostCidr() + " proto " + std::to_string(r.protocol);
    // As the kernel implementation: the NAT table's routes and rules only with a NAT table.
    std::erase_if(out.gatewayRoutes, [&](const GatewayRoute& g) { return tables.nat == 0 || g.table != tables.nat; });
    std::erase_if(out.rules, [&](const Rule& r) { return tables.nat == 0 || (r.table != tables.nat && r.protocol != kRouteProtocol); });
    return out;
}

std::vector<NetResult> FakeNetlink::apply(const std::vector<NetOp>& ops) {
    std::vector<NetResult> results;
    for (const auto& op : ops) {
        ++applied;
        results.push_back(applyOne(op));
        if (!results.back()) break;
    }
    return results;
}

std::expected<PathAnswer, NetError> FakeNetlink::lookup(const IpAddress& src, const IpAddress&, int ipProto, int sport) {
    std::vector<Rule> rules = state.rules;
    std::sort(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) { return a.priority < b.priority; });
    for (const auto& r : rules) {
        if ((r.src.family != 0 && r.src != src) || (r.ipProto != 0 && r.ipProto != ipProto) || (r.sport != 0 && r.sport != sport)) continue;
        for (const auto& g : state.gatewayRoutes)
            if (g.table == r.table && g.gateway.family == src.family) return PathAnswer{.gateway = g.gateway, .oif = g.ifindex, .table = g.table};
    }
    return PathAnswer{.gateway = mainGateway, .oif = 2, .table = kMainTable};
}

std::expected<std::optional<Neighbour>, NetError> FakeNetlink::neighbour(int ifindex, const IpAddress& ip) {
    const auto it = neighbours.find({ifindex, ip});
    if (it == neighbours.end()) return std::optional<Neighbour>{};
    return std::optional<Neighbour>{it->second};
}

std::expected<void, NetError> FakeNetlink::changeNeighbour(int ifindex, const IpAddress& ip, NeighbourChange what, const Neighbour&) {
    const char* verb = what == NeighbourChange::Manage ? "manage " : what == NeighbourChange::Probe ? "probe " : "release ";
    neighbourChanges.push_back(verb + ip.str());
    auto it = neighbours.find({ifindex, ip});
    switch (what) {
        case NeighbourChange::Manage:
            if (it == neighbours.end()) it = neighbours.emplace(std::pair{ifindex, ip}, Neighbour{}).first;
            it->second.managed = true;
            break;
        case NeighbourChange::Probe:
            if (it == neighbours.end()) return std::unexpected(NetError{.code = 0, .err = ENOENT, .message = "no entry"});
            it->second.state = 0x10;  // NUD_PROBE
            it->second.managed = false;
            break;
        case NeighbourChange::Release:
            if (it == neighbours.end()) break;
            if (it->second.valid()) {
                it->second.state = 0x04;  // NUD_STALE
                it->second.managed = false;
            } else {
                neighbours.erase(it);
            }
            break;
    }
    return {};
}

void FakeNetlink::announce(Change c) {
    if (events) events->push(std::move(c));
}

void FakeNetlink::addAddress(int ifindex, const IpAddress& ip, int prefixlen) {
    InterfaceAddress a{.ifindex = ifindex, .address = ip, .prefixlen = prefixlen};
    state.addresses.push_back(a);
    announce({.kind = Change::Kind::AddressAdded, .address = a, .route = {}, .link = {}});
}

void FakeNetlink::removeAddress(int ifindex, const IpAddress& ip) {
    auto it = std::find_if(state.addresses.begin(), state.addresses.end(),
                           [&](const InterfaceAddress& a) { return a.ifindex == ifindex && a.address == ip; });
    if (it == state.addresses.end()) return;
    const InterfaceAddress gone = *it;
    state.addresses.erase(it);
    announce({.kind = Change::Kind::AddressRemoved, .address = gone, .route = {}, .link = {}});
}

void FakeNetlink::addRoute(const HostRoute& r) {
    state.routes.push_back(r);
    announce({.kind = Change::Kind::RouteAdded, .address = {}, .route = r, .link = {}});
}

void FakeNetlink::removeRoute(const IpAddress& dst, std::optional<std::uint32_t> table) {
    std::vector<HostRoute> gone;
    std::erase_if(state.routes, [&](const HostRoute& r) {
        if (r.dst != dst || (table && r.table != *table)) return false;
        gone.push_back(r);
        return true;
    });
    for (const auto& r : gone) announce({.kind = Change::Kind::RouteRemoved, .address = {}, .route = r, .link = {}});
}

void FakeNetlink::setLinkUp(int ifindex, bool up) {
    for (auto& l : state.links)
        if (l.ifindex == ifindex && l.up != up) {
            l.up = up;
            // Like the kernel: routes through a link that goes down are flushed without
            // a notification of their own.
            if (!up) std::erase_if(state.routes, [&](const HostRoute& r) { return r.oif == ifindex; });
            announce({.kind = Change::Kind::LinkChanged, .address = {}, .route = {}, .link = l});
        }
}

NetResult FakeNetlink::applyOne(const NetOp& op) {
    if (auto e = failWhen ? failWhen(describe(op)) : std::nullopt) return std::unexpected(*e);
    const IpAddress& ip = op.address;
    auto sameAddress = [&](const InterfaceAddress& x) {
        return x.ifindex == op.ifindex && x.address == ip && x.prefixlen == ip.hostPrefix();
    };
    auto& addrs = state.addresses;
    auto& routes = state.routes;
    switch (op.kind) {
        case NetOp::Kind::AddAddress: {
            if (std::any_of(addrs.begin(), addrs.end(), sameAddress)) return Effect::AlreadyDone;
            addAddress(op.ifindex, ip, ip.hostPrefix());
            return Effect::Changed;
        }
        case NetOp::Kind::DeleteAddress: {
            if (std::none_of(addrs.begin(), addrs.end(), sameAddress)) return Effect::AlreadyDone;
            removeAddress(op.ifindex, ip);
            return Effect::Changed;
        }
        case NetOp::Kind::AddRoute:
        case NetOp::Kind::AddLocalRoute: {
            const HostRoute mine = routeOf(op);
            if (std::any_of(routes.begin(), routes.end(), [&](const HostRoute& r) {
                    return r.dst == ip && r.length() == mine.length() && r.table == mine.table && r.metric == mine.metric;
                }))
                return std::unexpected(NetError{.code = 6, .err = EEXIST, .message = describe(op) + ": File exists"});
            addRoute(mine);
            return Effect::Changed;
        }
        case NetOp::Kind::DeleteRoute:
        case NetOp::Kind::DeleteLocalRoute: {
            const HostRoute mine = routeOf(op);
            const auto own = [&](const HostRoute& r) {
                return r.dst == ip && r.length() == mine.length() && r.table == mine.table && r.metric == mine.metric &&
                       r.oif == op.ifindex && r.protocol == kRouteProtocol;
            };
            if (std::none_of(routes.begin(), routes.end(), own)) return Effect::AlreadyDone;
            std::erase_if(routes, own);
            announce({.kind = Change::Kind::RouteRemoved, .address = {}, .route = mine, .link = {}});
            return Effect::Changed;
        }
        case NetOp::Kind::AddRule: {
            if (std::find(state.rules.begin(), state.rules.end(), op.rule) != state.rules.end()) return Effect::AlreadyDone;
            state.rules.push_back(op.rule);
            announce({.kind = Change::Kind::RuleAdded, .rule = op.rule});
            return Effect::Changed;
        }
        case NetOp::Kind::DeleteRule: {
            if (std::erase(state.rules, op.rule) == 0) return Effect::AlreadyDone;
            announce({.kind = Change::Kind::RuleRemoved, .rule = op.rule});
            return Effect::Changed;
        }
        case NetOp::Kind::AddGatewayRoute: {
            const GatewayRoute g = op.gatewayRoute();
            if (std::any_of(state.gatewayRoutes.begin(), state.gatewayRoutes.end(), [&](const GatewayRoute& r) {
                    return r.table == g.table && r.gateway.family == g.gateway.family;
                }))
                return std::unexpected(NetError{.code = 6, .err = EEXIST, .message = describe(op) + ": File exists"});
            state.gatewayRoutes.push_back(g);
            announce({.kind = Change::Kind::GatewayRouteAdded, .gatewayRoute = g});
            return Effect::Changed;
        }
        case NetOp::Kind::DeleteGatewayRoute: {
            if (std::erase(state.gatewayRoutes, op.gatewayRoute()) == 0) return Effect::AlreadyDone;
            announce({.kind = Change::Kind::GatewayRouteRemoved, .gatewayRoute = op.gatewayRoute()});
            return Effect::Changed;
        }
        case NetOp::Kind::LinkUp:
        case NetOp::Kind::LinkDown: {
            const bool up = op.kind == NetOp::Kind::LinkUp;
            for (const auto& l : state.links)
                if (l.ifindex == op.ifindex && l.up == up) return Effect::AlreadyDone;
            setLinkUp(op.ifindex, up);
            return Effect::Changed;
        }
    }
    return Effect::Changed;
}

}  // namespace netcfg
