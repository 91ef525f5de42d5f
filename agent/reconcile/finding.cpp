#include "agent/reconcile/finding.h"

#include <cerrno>

namespace agent {

std::string describe(const Subject& s) {
    switch (s.kind) {
        case Subject::Kind::Loopback: return "lo";
        case Subject::Kind::Sysctl: return sysctl::dotted(s.key);
        case Subject::Kind::Vip: return s.vip.str();
        case Subject::Kind::Announce: return s.vip.family == 0 ? "announce table" : "announce " + s.vip.str();
        case Subject::Kind::Tunnel: return s.iface.empty() ? "tunnel program" : "tunnel " + s.iface;
        case Subject::Kind::Nat: return s.vip.isV4() ? "nat reply path (IPv4)" : "nat reply path (IPv6)";
        case Subject::Kind::Marks: return "two-box marks";
    }
    return "?";
}

bool isConflict(FindingKind k) {
    // Unreadable counts: what cannot be read cannot be safely changed either.
    return k == FindingKind::OnRealInterface || k == FindingKind::RouteViaOtherDevice || k == FindingKind::Unreadable ||
           k == FindingKind::InterfaceMissing || k == FindingKind::NoLoopback || k == FindingKind::AnnounceBlocked ||
           k == FindingKind::AnnounceTableInUse || k == FindingKind::RangeCoversAddress || k == FindingKind::RangeCoversGateway ||
           k == FindingKind::TunnelNoInterface || k == FindingKind::TunnelUnsupported || k == FindingKind::NatNoPath ||
           k == FindingKind::NatTableInUse || k == FindingKind::NatPathElsewhere || k == FindingKind::MarksUnreadable ||
           k == FindingKind::PeerIsThisHost;
}

const char* name(FindingKind k) {
    switch (k) {
        case FindingKind::AddressMissing: return "address_missing";
        case FindingKind::RouteMissing: return "route_missing";
        case FindingKind::LinkDown: return "link_down";
        case FindingKind::WrongValue: return "wrong_value";
        case FindingKind::Unreadable: return "unreadable";
        case FindingKind::OnRealInterface: return "conflict_on_real_interface";
        case FindingKind::RouteViaOtherDevice: return "conflict_route_via_other_device";
        case FindingKind::InterfaceMissing: return "conflict_interface_missing";
        case FindingKind::NoLoopback: return "conflict_no_loopback";
        case FindingKind::CannotApply: return "cannot_apply";
        case FindingKind::NotAnnounced: return "not_announced";
        case FindingKind::AnnounceBlocked: return "conflict_announce_route";
        case FindingKind::AnnounceTableInUse: return "conflict_announce_table_in_use";
        case FindingKind::LocalRouteMissing: return "local_route_missing";
        case FindingKind::RangeCoversAddress: return "conflict_range_covers_address";
        case FindingKind::RangeCoversGateway: return "conflict_range_covers_gateway";
        case FindingKind::TunnelNotAttached: return "tunnel_not_attached";
        case FindingKind::TunnelMapsStale: return "tunnel_maps_stale";
        case FindingKind::TunnelNoInterface: return "conflict_tunnel_interface_missing";
        case FindingKind::TunnelUnsupported: return "conflict_tunnel_unsupported";
        case FindingKind::NatNoPath: return "conflict_nat_no_path";
        case FindingKind::NatRouteMissing: return "nat_route_missing";
        case FindingKind::NatRuleMissing: return "nat_rule_missing";
        case FindingKind::NatTableInUse: return "conflict_nat_table_in_use";
        case FindingKind::NatPathElsewhere: return "conflict_nat_path_elsewhere";
        case FindingKind::MarksMissing: return "marks_missing";
        case FindingKind::MarksChanged: return "marks_changed";
        case FindingKind::MarksUnreadable: return "conflict_marks_unreadable";
        case FindingKind::PeerMacUnknown: return "peer_mac_unknown";
        case FindingKind::PeerIsThisHost: return "conflict_peer_is_this_host";
    }
    return "?";
}

std::string describe(const Finding& f) {
    const std::string subject = describe(f.subject);
    const std::string cidr = f.subject.vip.cidr(f.prefixLen);
    switch (f.kind) {
        case FindingKind::AddressMissing: return f.subject.vip.hostCidr() + " is not bound on lo";
        case FindingKind::RouteMissing: return "host route " + f.subject.vip.hostCidr() + " dev lo is missing from table main";
        case FindingKind::LinkDown: return "lo is down";
        case FindingKind::WrongValue:
            return subject + " is " + std::to_string(f.actual) + ", expected " + std::to_string(f.expected);
        case FindingKind::Unreadable: return subject + " cannot be read: " + f.detail;
        case FindingKind::OnRealInterface:
            return subject + " is also an address of " + f.other +
                   ", which answers ARP for it: this host is a director, or the VIP is wrong";
        case FindingKind::RouteViaOtherDevice:
            return "table main has a route for " + f.subject.vip.hostCidr() + " via " + f.other + ", not lo: remove it first";
        case FindingKind::InterfaceMissing:
            return "interface " + f.subject.key.iface + " (arp.interfaces) does not exist: " + subject + " cannot be set";
        case FindingKind::NoLoopback: return "no loopback interface found in this network namespace";
        case FindingKind::CannotApply: return "cannot repair " + subject + ": " + f.detail;
        case FindingKind::NotAnnounced:
            return cidr + " is ready but not in the announce table " + std::to_string(f.expected);
        case FindingKind::AnnounceBlocked:
            return "the announce table has a route for " + cidr + " the agent did not add (" + f.other +
                   "): not announcing it";
        case FindingKind::AnnounceTableInUse:
            return "the announce table " + std::to_string(f.expected) + " holds " + std::to_string(f.actual) +
                   " route(s) the agent did not add (" + f.detail + "): another program uses it; choose a table of its own for announce.table";
        case FindingKind::LocalRouteMissing: return "local route " + cidr + " dev lo is missing from table local";
        case FindingKind::RangeCoversAddress:
            if (f.other == "lo")  // a range of one address, already bound as an address by someone else
                return cidr + " is bound on lo as an address the agent did not add; a range of one address is a local "
                              "route instead: remove the address (ip addr del " + cidr + " dev lo)";
            return "the range " + cidr + " holds " + f.detail + ", an address of " + f.other +
                   ": binding it would take that address's traffic too; narrow the range";
        case FindingKind::RangeCoversGateway:
            return "the range " + cidr + " holds the gateway " + f.detail +
                   " of table main: binding it would cut this host off; narrow the range";
        case FindingKind::TunnelNotAttached:
            return "the tunnel decapsulation is not attached on " + f.other + " (" + f.detail + " missing)";
        case FindingKind::TunnelMapsStale:
            return "the tunnel program's VIPs, directors or settings differ from the configuration";
        case FindingKind::TunnelNoInterface:
            return "interface " + f.other + " (tunnel.interfaces) does not exist: nothing is decapsulated there";
        case FindingKind::TunnelUnsupported:
            return "this kernel refuses the tunnel decapsulation: " + f.detail;
        case FindingKind::NatNoPath:
            return "no interface has an address on the NAT director " + f.detail +
                   "'s subnet: the replies have no way to it (nat.director must be on this server's network)";
        case FindingKind::NatRouteMissing: return "the NAT reply route (" + f.detail + ") is missing";
        case FindingKind::NatRuleMissing: return "the NAT reply rule (" + f.detail + ") is missing";
        case FindingKind::NatPathElsewhere:
            return "the kernel sends the replies of " + f.other + " " + f.detail +
                   ", not via the NAT director: a rule or route of another program comes first";
        case FindingKind::NatTableInUse:
            return "the NAT table " + std::to_string(f.expected) + " holds what the agent did not add (" + f.detail +
                   "): another program uses it; choose a table of its own for nat.table";
        case FindingKind::MarksMissing: return "the two-box marks' nftables table (inet lvs_rs_agent) is missing";
        case FindingKind::MarksChanged:
            return "the two-box marks' nftables table (inet lvs_rs_agent) differs from the configuration (" + f.detail + ")";
        case FindingKind::MarksUnreadable: return "nftables cannot be asked for the two-box marks' table: " + f.detail;
        case FindingKind::PeerMacUnknown:
            return "the peer director " + f.detail +
                   "'s MAC is not known yet: nothing is marked (marking without it would bring the forwarding loop back)";
        case FindingKind::PeerIsThisHost:
            return "the peer director " + f.detail + " is an address of this host: colocated.peer_directors names the other directors";
    }
    return subject + ": ?";
}

bool permissionDenied(const Finding& f) {
    return f.kind == FindingKind::Unreadable && (f.err == EACCES || f.err == EPERM);
}

bool concerns(const Finding& f, const netcfg::IpAddress& vip) {
    if (f.subject.kind == Subject::Kind::Announce) return false;
    return f.subject.kind != Subject::Kind::Vip || f.subject.vip == vip;
}

FindingView view(const Finding& f) {
    FindingView v{.subject = describe(f.subject), .kind = name(f.kind), .message = describe(f), .interface = f.other};
    if (f.kind == FindingKind::WrongValue) {
        v.expected = f.expected;
        v.actual = f.actual;
    }
    v.err = f.err;
    v.permissionDenied = permissionDenied(f);
    return v;
}

}  // namespace agent
