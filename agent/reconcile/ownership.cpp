#include "agent/reconcile/ownership.h"

#include <utility>

namespace agent {
namespace {

using K = netcfg::NetOp::Kind;

// Where an announce op puts (or takes) its route, as the state file records it.
AnnounceRecord recordOf(const netcfg::NetOp& op) { return {.table = op.table, .metric = op.metric, .len = op.prefixLen}; }

}  // namespace

bool record(Owned& owned, const Action& a, netcfg::Effect effect, Records which) {
    const bool made = effect == netcfg::Effect::Changed;  // an add the kernel answered "already there" is not the agent's
    const bool releases = which == Records::All;
    if (const auto* s = std::get_if<SetSysctl>(&a)) {
        if (s->restore) return releases && owned.sysctlOriginals.erase(s->key) > 0;
        return owned.sysctlOriginals.emplace(s->key, s->from).second;  // the first value found stays the original
    }
    if (const auto* t = std::get_if<TunnelOp>(&a)) {
        switch (t->kind) {
            case TunnelOp::Kind::Detach: return releases && owned.tunnelHooks.erase(t->iface) > 0;
            // The agent's filters are its own wherever it attached them; the clsact qdisc
            // only where it created it.
            case TunnelOp::Kind::Attach: return owned.tunnelHooks.emplace(t->iface, false).second;
            case TunnelOp::Kind::Clsact: return made && !std::exchange(owned.tunnelHooks[t->iface], true);
            case TunnelOp::Kind::Sync: return false;
        }
        return false;
    }
    if (const auto* m = std::get_if<MarksOp>(&a)) {
        // The table is the agent's by its name: written by it, it is recorded (before the
        // write, as every claim); removed, released.
        switch (m->kind) {
            case MarksOp::Kind::Apply: return !std::exchange(owned.markTable, true);
            case MarksOp::Kind::Remove: return releases && std::exchange(owned.markTable, false);
            case MarksOp::Kind::Peers: return false;
        }
        return false;
    }
    const auto& op = std::get<netcfg::NetOp>(a);
    switch (op.kind) {
        case K::AddAddress: return made && owned.addresses.insert(op.address).second;
        case K::AddLocalRoute: return made && owned.localRoutes.insert({op.address, op.prefixLen}).second;
        case K::AddRoute:
            if (!made) return false;
            if (op.announce()) {
                const AnnounceRecord rec = recordOf(op);
                auto [it, fresh] = owned.announced.emplace(op.address, rec);
                if (fresh || it->second == rec) return fresh;
                it->second = rec;
                return true;
            }
            return owned.routes.insert(op.address).second;
        case K::DeleteAddress: return releases && owned.addresses.erase(op.address) > 0;
        case K::DeleteLocalRoute: return releases && owned.localRoutes.erase({op.address, op.prefixLen}) > 0;
        case K::DeleteRoute:
            if (!releases) return false;
            if (op.announce()) {
                const auto it = owned.announced.find(op.address);
                if (it == owned.announced.end() || it->second != recordOf(op)) return false;
                owned.announced.erase(it);
                return true;
            }
            return owned.routes.erase(op.address) > 0;
        case K::AddRule: return made && owned.natRules.insert(op.rule).second;
        case K::DeleteRule: return releases && owned.natRules.erase(op.rule) > 0;
        case K::AddGatewayRoute: return made && owned.natRoutes.insert(op.gatewayRoute()).second;
        case K::DeleteGatewayRoute: return releases && owned.natRoutes.erase(op.gatewayRoute()) > 0;
        case K::LinkUp:
        case K::LinkDown: return false;
    }
    return false;
}

bool applyForget(Owned& owned, const Forget& f) {
    bool changed = false;
    for (const auto& ip : f.addresses) changed |= owned.addresses.erase(ip) > 0;
    for (const auto& ip : f.routes) changed |= owned.routes.erase(ip) > 0;
    for (const auto& [key, v] : f.sysctlOriginals) changed |= owned.sysctlOriginals.erase(key) > 0;
    for (const auto& [vip, a] : f.announced) changed |= owned.announced.erase(vip) > 0;
    for (const auto& r : f.localRoutes) changed |= owned.localRoutes.erase(r) > 0;
    for (const auto& [iface, created] : f.tunnelHooks) changed |= owned.tunnelHooks.erase(iface) > 0;
    for (const auto& r : f.natRules) changed |= owned.natRules.erase(r) > 0;
    for (const auto& r : f.natRoutes) changed |= owned.natRoutes.erase(r) > 0;
    if (f.markTable && owned.markTable) {
        owned.markTable = false;
        changed = true;
    }
    return changed;
}

Owned mayOwnAfter(Owned owned, const std::vector<Action>& actions) {
    for (const auto& a : actions) record(owned, a, netcfg::Effect::Changed, Records::ClaimsOnly);
    return owned;
}

}  // namespace agent
