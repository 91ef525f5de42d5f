#include "agent/reconcile/action.h"

namespace agent {
namespace {

using netcfg::NetOp;
using K = NetOp::Kind;

std::string sysctlLine(const SetSysctl& s) {
    return sysctl::dotted(s.key) + ": " + std::to_string(s.from) + " -> " + std::to_string(s.to);
}

}  // namespace

Subject subjectOf(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a)) return Subject::setting(s->key);
    if (const auto* t = std::get_if<TunnelOp>(&a)) return Subject::tunnel(t->iface);
    const auto& op = std::get<NetOp>(a);
    if (op.kind == K::LinkUp || op.kind == K::LinkDown) return Subject::loopback();
    if (op.kind == K::AddRule || op.kind == K::DeleteRule) return Subject::nat(op.rule.src.family);
    if (op.nat()) return Subject::nat(op.gateway.family);
    if (op.announce()) return Subject::announce(op.address);
    return Subject::address(op.address);
}

std::string describe(const TunnelOp& t) {
    switch (t.kind) {
        case TunnelOp::Kind::Sync:
            return "set the tunnel program's maps: " + std::to_string(t.maps.vips.size()) + " VIP(s), " +
                   std::to_string(t.maps.directors.size()) + " director(s), encap " +
                   (t.maps.settings.ipip && t.maps.settings.gue ? "ipip+gue" : t.maps.settings.gue ? "gue" : "ipip") +
                   (t.maps.settings.gue ? " port " + std::to_string(t.maps.settings.guePort) : "") + ", mss " +
                   std::to_string(t.maps.settings.mss);
        case TunnelOp::Kind::Clsact: return "add a clsact qdisc to " + t.iface;
        case TunnelOp::Kind::Attach: return "attach the tunnel decapsulation to " + t.iface + " (clsact ingress and egress)";
        case TunnelOp::Kind::Detach: return "detach the tunnel decapsulation from " + t.iface;
    }
    return "?";
}

std::string describe(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a)) return (s->restore ? "restore " : "set ") + sysctlLine(*s);
    if (const auto* t = std::get_if<TunnelOp>(&a)) return describe(*t);
    return netcfg::describe(std::get<NetOp>(a));
}

std::string pastTense(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a)) return sysctlLine(*s) + (s->restore ? " (restored)" : "");
    if (const auto* t = std::get_if<TunnelOp>(&a)) {
        switch (t->kind) {
            case TunnelOp::Kind::Sync: return "tunnel program's maps set (" + std::to_string(t->maps.vips.size()) + " VIP(s))";
            case TunnelOp::Kind::Clsact: return "added a clsact qdisc to " + t->iface;
            case TunnelOp::Kind::Attach: return "tunnel decapsulation attached to " + t->iface;
            case TunnelOp::Kind::Detach: return "tunnel decapsulation detached from " + t->iface;
        }
    }
    return netcfg::pastTense(std::get<NetOp>(a));
}

Action inverse(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a))
        return SetSysctl{.key = s->key, .from = s->to, .to = s->from, .restore = !s->restore};
    if (const auto* t = std::get_if<TunnelOp>(&a)) {
        TunnelOp back = *t;
        // The maps of a program nothing runs any more go with it (a Sync's inverse changes
        // nothing); a clsact qdisc this run made goes once nothing else is on it.
        if (t->kind == TunnelOp::Kind::Attach) back.kind = TunnelOp::Kind::Detach;
        if (t->kind == TunnelOp::Kind::Clsact) back = TunnelOp{.kind = TunnelOp::Kind::Detach, .iface = t->iface, .ifindex = t->ifindex,
                                                                .removeClsact = true};
        if (t->kind == TunnelOp::Kind::Detach) back.kind = TunnelOp::Kind::Attach;
        return back;
    }
    return netcfg::inverse(std::get<NetOp>(a));
}

}  // namespace agent
