// libFuzzer harness for the rtnetlink notification parser: any datagram goes through
// ChangeEvents::parse (header filter, then libnl's parsers), and every change it yields
// must be well formed and must leave the mirror as it found it once undone.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "agent/reconcile/state_model.h"
#include "netcfg/events.h"

namespace {

netcfg::Change undo(netcfg::Change c) {
    using K = netcfg::Change::Kind;
    switch (c.kind) {
        case K::AddressAdded: c.kind = K::AddressRemoved; break;
        case K::AddressRemoved: c.kind = K::AddressAdded; break;
        case K::RouteAdded: c.kind = K::RouteRemoved; break;
        case K::RouteRemoved: c.kind = K::RouteAdded; break;
        case K::RuleAdded: c.kind = K::RuleRemoved; break;
        case K::RuleRemoved: c.kind = K::RuleAdded; break;
        case K::LinkChanged:
        case K::LinkRemoved:
        case K::GatewayRouteAdded:
        case K::GatewayRouteRemoved: break;
    }
    return c;
}

// One parse with `tables`: every change well formed, and the mirror as it found it once
// the changes are undone in reverse.
void check(const std::uint8_t* data, std::size_t size, const netcfg::RouteTables& tables) {
    netcfg::Drained d;
    netcfg::ChangeEvents::parse(reinterpret_cast<const char*>(data), size, d, tables);
    using K = netcfg::Change::Kind;
    for (const auto& c : d.changes) {
        if (c.kind == K::AddressAdded || c.kind == K::AddressRemoved)
            if (c.address.address.family != AF_INET && c.address.address.family != AF_INET6) __builtin_trap();
        if (c.kind == K::RouteAdded || c.kind == K::RouteRemoved) {
            const auto& r = c.route;
            if (!tables.wanted(r.table) || (r.dst.family != AF_INET && r.dst.family != AF_INET6)) __builtin_trap();
            if (r.length() < 0 || r.length() > r.dst.hostPrefix()) __builtin_trap();
            if (r.table == netcfg::kLocalTable && r.type != netcfg::kLocalType) __builtin_trap();
            if (r.table == netcfg::kMainTable && r.length() != r.dst.hostPrefix()) __builtin_trap();
            if (tables.nat != 0 && r.table == tables.nat) __builtin_trap();  // the NAT table's come as GatewayRoute
        }
        if ((c.kind == K::RuleAdded || c.kind == K::RuleRemoved) &&
            (tables.nat == 0 || (c.rule.table != tables.nat && c.rule.protocol != netcfg::kRouteProtocol)))
            __builtin_trap();
        if ((c.kind == K::GatewayRouteAdded || c.kind == K::GatewayRouteRemoved) && c.gatewayRoute.table != tables.nat) __builtin_trap();
    }
    // Address, route and rule changes, applied and then undone in reverse: nothing left. (A
    // NAT table's default route replaces the one before it, so it cannot be undone alone.)
    agent::KernelView view;
    std::vector<netcfg::Change> applied;
    for (const auto& c : d.changes)
        if (c.kind != K::LinkChanged && c.kind != K::LinkRemoved && c.kind != K::GatewayRouteAdded &&
            c.kind != K::GatewayRouteRemoved && view.apply(c))
            applied.push_back(c);
    for (auto it = applied.rbegin(); it != applied.rend(); ++it)
        if (!view.apply(undo(*it))) __builtin_trap();
    if (view.addressCount() != 0 || view.routeCount() != 0 || view.localRouteCount() != 0 || !view.rules().empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check(data, size, {});
    check(data, size, {.announce = 200, .ranges = true});  // ranges: table local, prefixes in the announce table
    check(data, size, {.announce = 0, .ranges = false, .nat = 201});  // NAT: rules, the table's default routes
    return 0;
}
