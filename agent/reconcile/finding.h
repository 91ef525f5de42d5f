#pragma once
// What is wrong, as a value: a subject (a VIP, an ARP setting, the loopback link) and a
// kind. The planner and the executor produce findings once; status, /ready, /status,
// metrics and the log only render them. Nothing searches message text.
#include <compare>
#include <string>
#include <vector>

#include "agent/base/finding_view.h"
#include "netcfg/ip_address.h"
#include "sysctl/sysctl.h"

namespace agent {

struct Subject {
    // The order of a plan: settings, lo, the two-box marks (before the VIPs: what is wrong
    // with them holds every VIP back), VIPs, the tunnel's decapsulation, then the announce
    // table and each VIP's route in it (after the VIPs, so nothing there holds a VIP back).
    enum class Kind { Loopback, Sysctl, Marks, Vip, Tunnel, Announce, Nat };
    Kind kind = Kind::Vip;
    sysctl::ConfKey key;    // Sysctl
    netcfg::IpAddress vip;  // Vip, Announce (none: the announce table itself)
    std::string iface{};    // Tunnel: the interface whose hooks run the decapsulation (none: the program's maps)

    static Subject loopback() { return {.kind = Kind::Loopback, .key = {}, .vip = {}}; }
    static Subject setting(const sysctl::ConfKey& k) { return {.kind = Kind::Sysctl, .key = k, .vip = {}}; }
    static Subject address(const netcfg::IpAddress& ip) { return {.kind = Kind::Vip, .key = {}, .vip = ip}; }
    static Subject announce(const netcfg::IpAddress& ip) { return {.kind = Kind::Announce, .key = {}, .vip = ip}; }
    static Subject announceTable() { return {.kind = Kind::Announce, .key = {}, .vip = {}}; }
    static Subject tunnel(const std::string& iface) { return {.kind = Kind::Tunnel, .key = {}, .vip = {}, .iface = iface}; }
    static Subject tunnelMaps() { return tunnel(""); }
    // The NAT reply path of a family (AF_INET, AF_INET6): its rules and its table's route.
    static Subject nat(int family) { return {.kind = Kind::Nat, .key = {}, .vip = {.family = family, .bytes = {}}}; }
    // The two-box marks: the agent's nftables table and the peer directors' MACs in it.
    static Subject marks() { return {.kind = Kind::Marks, .key = {}, .vip = {}}; }

    auto operator<=>(const Subject&) const = default;
};

// "lo", "net.ipv4.conf.all.arp_ignore", "198.51.100.1", "announce 198.51.100.1", "announce table",
// "tunnel eth0", "tunnel program"
std::string describe(const Subject& s);

enum class FindingKind {
    AddressMissing,       // the VIP is not bound on lo
    RouteMissing,         // its host route via lo is missing from table main
    LinkDown,             // lo is down
    WrongValue,           // an ARP setting differs from the configured value
    Unreadable,           // an ARP setting cannot be read (err)
    OnRealInterface,      // conflict: the VIP is also an address of `other`
    RouteViaOtherDevice,  // conflict: table main routes the VIP via `other`
    InterfaceMissing,     // conflict: arp.interfaces names an interface that does not exist
    NoLoopback,           // conflict: no loopback link in this network namespace
    CannotApply,          // the repair failed (err, detail)
    NotAnnounced,         // a ready VIP's route is missing from the announce table (`expected`: the table)
    AnnounceBlocked,      // conflict: the announce table has another program's route for the VIP (`other`: its protocol)
    AnnounceTableInUse,   // conflict: the announce table holds other programs' routes (`actual`: how many, `detail`: one)
    LocalRouteMissing,    // a range's local route is missing from table local
    RangeCoversAddress,   // conflict: a range holds an address of `other` (`detail`: the address)
    RangeCoversGateway,   // conflict: a range holds a gateway of table main (`detail`: the gateway)
    TunnelNotAttached,    // the decapsulation is not on the interface's hooks (`detail`: which)
    TunnelMapsStale,      // the program's VIPs, directors or settings differ from the configuration
    TunnelNoInterface,    // conflict: tunnel.interfaces names an interface that does not exist
    TunnelUnsupported,    // conflict: the kernel refused the program (`detail`: its answer)
    NatNoPath,            // conflict: no interface address shares a subnet with the NAT director (`detail`: the director)
    NatRouteMissing,      // the NAT table's default route via the director is missing (`detail`: the route)
    NatRuleMissing,       // a NAT port's rule is missing (`detail`: the rule)
    NatTableInUse,        // conflict: the NAT table holds another program's route or rule (`detail`: one)
    NatPathElsewhere,     // conflict: the kernel sends a port's replies elsewhere than the director (`other`: the port, `detail`: where)
    MarksMissing,         // the two-box marks' nftables table is missing
    MarksChanged,         // the table differs from the configuration (`detail`: how)
    MarksUnreadable,      // conflict: nftables cannot be asked (`detail`: its answer)
    PeerMacUnknown,       // a peer director's MAC is not known yet: nothing is marked (`detail`: the peer)
    PeerIsThisHost,       // conflict: a peer director's address is this host's (`detail`: the address)
};

// A conflict is something the agent will not change by itself (an unreadable setting
// included): `start` refuses the whole plan for one, `run` leaves just that item alone.
bool isConflict(FindingKind k);
// "address_missing", ... for JSON and metrics labels.
const char* name(FindingKind k);

struct Finding {
    Subject subject;
    FindingKind kind = FindingKind::AddressMissing;
    std::string other{};  // OnRealInterface, RouteViaOtherDevice: the interface
    int expected = 0;   // WrongValue
    int actual = 0;     // WrongValue
    int err = 0;        // Unreadable, InterfaceMissing, CannotApply: errno when known
    std::string detail{};  // Unreadable, CannotApply: what failed and why
    int prefixLen = -1;    // a range's findings: its length (-1: a VIP, the host prefix)

    bool operator==(const Finding&) const = default;
};

// One sentence an operator can act on.
std::string describe(const Finding& f);

// A setting that could not be read for want of permission: the verdict is unknown.
bool permissionDenied(const Finding& f);

// Whether the finding keeps `vip` from being ready: its own findings, and those of what
// every VIP needs (the ARP settings, lo). Nothing about the announce table does: being
// announced follows readiness.
bool concerns(const Finding& f, const netcfg::IpAddress& vip);

// Its form in snapshots and JSON documents (agent/base/finding_view.h).
FindingView view(const Finding& f);

}  // namespace agent
