#include "agent/reconcile/action.h"

namespace agent {
namespace {

using netcfg::NetOp;
using K = NetOp::Kind;

std::string sysctlLine(const SetSysctl& s) {
    return sysctl::dotted(s.key) + ": " + std::to_string(s.from) + " -> " + std::to_string(s.to);
}

std::string macList(const std::set<std::string>& macs) {
    std::string out;
    for (const auto& m : macs) out += (out.empty() ? "" : ", ") + m;
    return out.empty() ? "none" : out;
}

// "mark 3 on 2 VIP(s), 2 port(s), not from 52:54:00:00:00:52" / "no mark (a peer's MAC unknown)"
std::string marksLine(const netcfg::MarkSpec& s) {
    if (!s.marking) return "no rule: a peer director's MAC is not known yet";
    return "mark " + std::to_string(s.mark) + " on " + std::to_string(s.vips.size()) + " VIP(s), " + std::to_string(s.ports.size()) +
           " port(s), not from " + macList(s.peerMacs);
}

// "-52:54:00:00:00:52 +02:00:5e:00:00:52"
std::string peersChange(const MarksOp& m) {
    return (m.remove.empty() ? "" : "-" + macList(m.remove) + (m.add.empty() ? "" : " ")) + (m.add.empty() ? "" : "+" + macList(m.add));
}

std::string describe(const MarksOp& m) {
    switch (m.kind) {
        case MarksOp::Kind::Apply: return "write nftables table inet lvs_rs_agent: " + marksLine(m.spec);
        case MarksOp::Kind::Peers: return "change the peer directors' MACs in inet lvs_rs_agent in place: " + peersChange(m);
        case MarksOp::Kind::Remove: return "delete nftables table inet lvs_rs_agent";
    }
    return "?";
}

}  // namespace

Subject subjectOf(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a)) return Subject::setting(s->key);
    if (const auto* t = std::get_if<TunnelOp>(&a)) return Subject::tunnel(t->iface);
    if (std::holds_alternative<MarksOp>(a)) return Subject::marks();
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
    if (const auto* m = std::get_if<MarksOp>(&a)) return describe(*m);
    return netcfg::describe(std::get<NetOp>(a));
}

std::string pastTense(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a)) return sysctlLine(*s) + (s->restore ? " (restored)" : "");
    if (const auto* m = std::get_if<MarksOp>(&a)) {
        switch (m->kind) {
            case MarksOp::Kind::Apply: return "nftables table inet lvs_rs_agent written: " + marksLine(m->spec);
            case MarksOp::Kind::Peers: return "peer directors' MACs changed in place: now " + peersChange(*m);
            case MarksOp::Kind::Remove: return "nftables table inet lvs_rs_agent deleted";
        }
    }
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
    if (const auto* m = std::get_if<MarksOp>(&a)) {
        // A table written by a run that failed goes; a peer change is changed back. (A
        // removed table comes back on the next pass from the configuration.)
        if (m->kind == MarksOp::Kind::Apply) return MarksOp{.kind = MarksOp::Kind::Remove};
        if (m->kind == MarksOp::Kind::Peers) return MarksOp{.kind = MarksOp::Kind::Peers, .spec = {}, .remove = m->add, .add = m->remove};
        return *m;
    }
    return netcfg::inverse(std::get<NetOp>(a));
}

}  // namespace agent
