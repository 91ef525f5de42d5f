#include <doctest/doctest.h>

#include "fixtures.h"

using namespace fixtures;
using namespace agent;

namespace {
// 198.51.100.1 and .2 bound and routed by the agent, the ARP settings in place.
std::pair<Observed, Owned> twoVipsOwned() {
    Observed o = observed();
    for (const char* v : {"198.51.100.1", "198.51.100.2"}) {
        bind(o, v);
        route(o, v);
    }
    arpDone(o);
    Owned owned;
    owned.addresses = {ip("198.51.100.1"), ip("198.51.100.2")};
    owned.routes = owned.addresses;
    return {o, owned};
}
}  // namespace

TEST_SUITE("plan") {
    TEST_CASE("start --vip adds to what the agent owns: nothing removed, ARP settings it changed held") {
        auto [o, owned] = twoVipsOwned();
        o.sysctls[{.iface = "eth0", .name = "arp_ignore"}] = 1;  // set by an earlier start -c
        owned.sysctlOriginals[{.iface = "eth0", .name = "arp_ignore"}] = 0;
        owned.sysctlOriginals[{.iface = "lo", .name = "arp_ignore"}] = 0;
        // Declarative (start -c with B alone): A and the eth0 setting would go.
        CHECK(described(plan(desired({"198.51.100.3"}), o, owned)) == std::vector<std::string>{
                  "add 198.51.100.3/32 to lo", "add route 198.51.100.3/32 dev lo table main",
                  "remove route 198.51.100.1/32 dev lo table main", "remove route 198.51.100.2/32 dev lo table main",
                  "remove 198.51.100.1/32 from lo", "remove 198.51.100.2/32 from lo",
                  "restore net.ipv4.conf.eth0.arp_ignore: 1 -> 0"});
        // Additive: B joins, the rest stays.
        const Desired more = addedTo(desired({"198.51.100.3"}), owned);
        CHECK(more.vips.size() == 3);
        CHECK(described(plan(more, o, owned)) ==
              std::vector<std::string>{"add 198.51.100.3/32 to lo", "add route 198.51.100.3/32 dev lo table main"});
        // A VIP named again is not listed twice.
        CHECK(addedTo(desired({"198.51.100.1"}), owned).vips.size() == 2);
    }

    TEST_CASE("a range is one local route in table local: added, kept, repaired, removed, with no address and no host route") {
        Observed o = observed();
        arpDone(o);
        Desired d = desired({"198.51.100.1"});
        d.vips.push_back(ip("198.18.0.0"));
        d.wanted.insert(ip("198.18.0.0"));
        d.ranges[ip("198.18.0.0")] = 16;
        const Plan first = plan(d, o, Owned{});
        CHECK(described(first) == std::vector<std::string>{"add 198.51.100.1/32 to lo", "add local route 198.18.0.0/16 dev lo table local",
                                                           "add route 198.51.100.1/32 dev lo table main"});
        CHECK(kinds(first.findings) == std::vector<FindingKind>{FindingKind::AddressMissing, FindingKind::RouteMissing,
                                                                 FindingKind::LocalRouteMissing});
        CHECK(describe(first.findings[2]) == "local route 198.18.0.0/16 dev lo is missing from table local");
        const Owned owned = ownedAfter(Owned{}, first);
        CHECK(owned.localRoutes == std::set<LocalRoute>{{ip("198.18.0.0"), 16}});
        // in place: nothing to do
        bind(o, "198.51.100.1");
        route(o, "198.51.100.1");
        const netcfg::HostRoute local{.dst = ip("198.18.0.0"), .table = netcfg::kLocalTable, .protocol = netcfg::kRouteProtocol,
                                      .oif = 1, .metric = 0, .dstLen = 16, .type = netcfg::kLocalType};
        o.kernel.add(local);
        CHECK(plan(d, o, owned).empty());
        // a local route of another length is not this range's
        o.kernel.remove(local);
        o.kernel.add(netcfg::HostRoute{.dst = ip("198.18.0.0"), .table = netcfg::kLocalTable, .protocol = 3, .oif = 1, .dstLen = 17,
                                       .type = netcfg::kLocalType});
        CHECK(described(plan(d, o, owned)) == std::vector<std::string>{"add local route 198.18.0.0/16 dev lo table local"});
        o.kernel.add(local);
        // no longer wanted: the agent's route goes, the other program's /17 stays
        const Plan gone = plan(desired({"198.51.100.1"}), o, owned);
        CHECK(described(gone) == std::vector<std::string>{"remove local route 198.18.0.0/16 dev lo table local"});
        CHECK(ownedAfter(owned, gone).localRoutes.empty());
        // gone already (someone removed it): the record is forgotten, nothing to do
        o.kernel.remove(local);
        const Plan forgotten = plan(desired({"198.51.100.1"}), o, owned);
        CHECK(forgotten.actions.empty());
        CHECK(forgotten.forget.localRoutes == std::set<LocalRoute>{{ip("198.18.0.0"), 16}});
    }

    TEST_CASE("a range resized, or turned into a VIP: the agent's old route goes once the new one is there") {
        Observed o = observed();
        arpDone(o);
        o.kernel.add(netcfg::HostRoute{.dst = ip("198.18.0.0"), .table = netcfg::kLocalTable, .protocol = netcfg::kRouteProtocol,
                                       .oif = 1, .dstLen = 24, .type = netcfg::kLocalType});
        Owned owned;
        owned.localRoutes = {{ip("198.18.0.0"), 24}};
        Desired wider = desired({});
        wider.vips = {ip("198.18.0.0")};
        wider.wanted = {ip("198.18.0.0")};
        wider.ranges[ip("198.18.0.0")] = 23;
        CHECK(described(plan(wider, o, owned)) == std::vector<std::string>{"add local route 198.18.0.0/23 dev lo table local",
                                                                           "remove local route 198.18.0.0/24 dev lo table local"});
        Desired single = desired({"198.18.0.1"});
        owned.localRoutes = {{ip("198.18.0.1"), 32}};
        o.kernel.add(netcfg::HostRoute{.dst = ip("198.18.0.1"), .table = netcfg::kLocalTable, .protocol = netcfg::kRouteProtocol,
                                       .oif = 1, .dstLen = -1, .type = netcfg::kLocalType});
        CHECK(described(plan(single, o, owned)) == std::vector<std::string>{
                  "add 198.18.0.1/32 to lo", "add route 198.18.0.1/32 dev lo table main", "remove local route 198.18.0.1/32 dev lo table local"});
    }

    TEST_CASE("a VIP becoming a range of one address: its address goes first, and another's address there is a conflict") {
        Observed o = observed();
        arpDone(o);
        bind(o, "198.51.100.188");
        route(o, "198.51.100.188");
        Owned owned;
        owned.addresses = {ip("198.51.100.188")};
        owned.routes = owned.addresses;
        Desired one = desired({"198.51.100.188"});
        one.ranges[ip("198.51.100.188")] = 32;
        const Plan p = plan(one, o, owned);
        CHECK(described(p) == std::vector<std::string>{"remove route 198.51.100.188/32 dev lo table main", "remove 198.51.100.188/32 from lo",
                                                       "add local route 198.51.100.188/32 dev lo table local"});
        CHECK_FALSE(p.hasConflicts());
        // the same address bound by someone else: left alone, a conflict that says what to do
        const Plan q = plan(one, o, Owned{});
        CHECK(q.actions.empty());
        REQUIRE(q.hasConflicts());
        CHECK(describe(q.conflicts()[0]) == "198.51.100.188/32 is bound on lo as an address the agent did not add; a range of one "
                                            "address is a local route instead: remove the address (ip addr del 198.51.100.188/32 dev lo)");
        // addresses on lo inside a wider range are no conflict (their own /32s are more specific)
        Desired wide = desired({});
        wide.vips = {ip("198.51.100.0")};
        wide.wanted = {ip("198.51.100.0")};
        wide.ranges[ip("198.51.100.0")] = 24;  // holds 198.51.100.188, bound on lo
        Observed w = o;
        w.kernel.remove(netcfg::InterfaceAddress{.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24});
        const Plan r = plan(wide, w, Owned{});
        CHECK_FALSE(r.hasConflicts());
        CHECK(described(r) == std::vector<std::string>{"add local route 198.51.100.0/24 dev lo table local"});
    }

    TEST_CASE("a range holding a real interface's address or a gateway is a conflict: nothing added") {
        Observed o = observed();  // eth0 has 198.51.100.60/24
        arpDone(o);
        Desired d = desired({});
        d.vips = {ip("198.51.100.0")};
        d.wanted = {ip("198.51.100.0")};
        d.ranges[ip("198.51.100.0")] = 24;
        const Plan p = plan(d, o, Owned{});
        CHECK(p.actions.empty());
        REQUIRE(p.hasConflicts());
        CHECK(describe(p.conflicts()[0]) == "the range 198.51.100.0/24 holds 198.51.100.60, an address of eth0: binding it would "
                                            "take that address's traffic too; narrow the range");
        netcfg::KernelState k;
        k.links = {{.ifindex = 1, .name = "lo", .up = true, .loopback = true}, {.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
        k.gateways = {ip("198.18.0.1")};
        Observed g{.kernel = KernelView(k), .tunnel = {}, .sysctls = o.sysctls, .sysctlErrors = {}};
        d.vips = {ip("198.18.0.0")};
        d.wanted = {ip("198.18.0.0")};
        d.ranges = {{ip("198.18.0.0"), 24}};
        const Plan q = plan(d, g, Owned{});
        CHECK(q.actions.empty());
        REQUIRE(q.hasConflicts());
        CHECK(q.conflicts()[0].kind == FindingKind::RangeCoversGateway);
        CHECK(describe(q.conflicts()[0]).find("holds the gateway 198.18.0.1 of table main") != std::string::npos);
    }

    TEST_CASE("a ready range is announced as its whole prefix, and withdrawn from where it was put") {
        Observed o = observed();
        arpDone(o);
        o.kernel.add(netcfg::HostRoute{.dst = ip("198.18.0.0"), .table = netcfg::kLocalTable, .protocol = netcfg::kRouteProtocol,
                                       .oif = 1, .dstLen = 16, .type = netcfg::kLocalType});
        Owned owned;
        owned.localRoutes = {{ip("198.18.0.0"), 16}};
        Desired d = desired({});
        d.vips = {ip("198.18.0.0")};
        d.wanted = {ip("198.18.0.0")};
        d.ranges[ip("198.18.0.0")] = 16;
        d.announceTable = 200;
        d.announceable = {ip("198.18.0.0")};
        d.announced = {ip("198.18.0.0")};
        d.holdAnnounced = false;
        const Plan p = plan(d, o, owned);
        CHECK(described(p) == std::vector<std::string>{"add route 198.18.0.0/16 dev lo table 200"});
        const Owned after = ownedAfter(owned, p);
        CHECK(after.announced.at(ip("198.18.0.0")) == AnnounceRecord{.table = 200, .metric = 0, .len = 16});
        o.kernel.add(netcfg::HostRoute{.dst = ip("198.18.0.0"), .table = 200, .protocol = netcfg::kRouteProtocol, .oif = 1, .dstLen = 16});
        CHECK(plan(d, o, after).empty());
        d.announced.clear();
        CHECK(described(plan(d, o, after)) == std::vector<std::string>{"remove route 198.18.0.0/16 dev lo table 200"});
    }

    TEST_CASE("sameSysctlKeys says whether a set is sysctlKeys(), without building it") {
        const Desired d = desired({"198.51.100.1"});
        Owned owned;
        CHECK(sameSysctlKeys(sysctlKeys(d, owned), d, owned));
        owned.sysctlOriginals[{.iface = "eth0", .name = "arp_ignore"}] = 0;  // owned, not desired
        CHECK_FALSE(sameSysctlKeys(sysctlKeys(d, Owned{}), d, owned));
        CHECK(sameSysctlKeys(sysctlKeys(d, owned), d, owned));
        auto more = sysctlKeys(d, owned);
        more.insert({.iface = "eth1", .name = "arp_ignore"});  // one key too many
        CHECK_FALSE(sameSysctlKeys(more, d, owned));
        CHECK(sameSysctlKeys(sysctlKeys(nothingDesired(), Owned{}), nothingDesired(), Owned{}));  // arp_* of all alone
        CHECK_FALSE(sameSysctlKeys({}, nothingDesired(), Owned{}));
    }

    TEST_CASE("stop --vip undoes that VIP alone, the ARP settings go back only with the last VIP") {
        auto [o, owned] = twoVipsOwned();
        owned.sysctlOriginals[{.iface = "lo", .name = "arp_ignore"}] = 0;
        const Plan one = plan(ownedWithout(owned, {ip("198.51.100.1")}), o, owned);
        CHECK(described(one) == std::vector<std::string>{"remove route 198.51.100.1/32 dev lo table main", "remove 198.51.100.1/32 from lo"});
        // A VIP the agent does not own changes nothing.
        CHECK(plan(ownedWithout(owned, {ip("203.0.113.9")}), o, owned).empty());
        // The last VIP: everything goes, the sysctl restored.
        Owned last = ownedAfter(owned, one);
        CHECK(last.addresses == std::set<netcfg::IpAddress>{ip("198.51.100.2")});
        const Desired none = ownedWithout(last, {ip("198.51.100.2")});
        CHECK(none.vips.empty());
        CHECK_FALSE(none.holdOwnedSysctls);
        CHECK(described(plan(none, o, last)) == std::vector<std::string>{
                  "remove route 198.51.100.2/32 dev lo table main", "remove 198.51.100.2/32 from lo",
                  "restore net.ipv4.conf.lo.arp_ignore: 1 -> 0"});
        // Owned without routes (host_routes off): stop --vip adds none.
        Owned noRoutes = owned;
        noRoutes.routes.clear();
        CHECK_FALSE(ownedWithout(noRoutes, {ip("198.51.100.1")}).hostRoutes);
    }

    TEST_CASE("fresh host: sysctls first, then lo up, addresses, routes") {
        const Plan p = plan(desired({"198.51.100.188", "2001:db8::10"}), observed(false), Owned{});
        CHECK_FALSE(p.hasConflicts());
        CHECK(described(p) == std::vector<std::string>{
                                  "set net.ipv4.conf.all.arp_announce: 0 -> 2",
                                  "set net.ipv4.conf.all.arp_ignore: 0 -> 1",
                                  "set net.ipv4.conf.lo.arp_announce: 0 -> 2",
                                  "set net.ipv4.conf.lo.arp_ignore: 0 -> 1",
                                  "bring lo up",
                                  "add 198.51.100.188/32 to lo",
                                  "add 2001:db8::10/128 to lo",
                                  "add route 198.51.100.188/32 dev lo table main",
                                  "add route 2001:db8::10/128 dev lo table main",
                              });
        const Owned after = ownedAfter(Owned{}, p);
        CHECK(after.addresses.size() == 2);
        CHECK(after.routes.size() == 2);
        CHECK(after.sysctlOriginals.size() == 4);
        CHECK(after.sysctlOriginals.at({.iface = "all", .name = "arp_ignore"}) == 0);
        // Every divergence is a finding of its subject.
        CHECK(p.findings.size() == 4 + 1 + 4);
        CHECK(p.findings[4].kind == FindingKind::LinkDown);
        CHECK(p.findings[5].subject == Subject::address(ip("198.51.100.188")));
        CHECK(p.findings[5].kind == FindingKind::AddressMissing);
        CHECK(p.findings[6].kind == FindingKind::RouteMissing);
    }

    TEST_CASE("everything in place: empty plan, ownership kept") {
        Observed o = observed();
        bind(o, "198.51.100.188");
        route(o, "198.51.100.188");
        arpDone(o);
        Owned owned;
        owned.addresses.insert(ip("198.51.100.188"));
        owned.routes.insert(ip("198.51.100.188"));
        owned.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 0;
        const Plan p = plan(desired({"198.51.100.188"}), o, owned);
        CHECK(p.empty());
        CHECK(p.findings.empty());
        CHECK(ownedAfter(owned, p) == owned);
    }

    TEST_CASE("a pre-existing address and route are used, never owned") {
        Observed o = observed();
        bind(o, "198.51.100.188");
        route(o, "198.51.100.188", /*protocol boot*/ 3);
        arpDone(o);
        const Plan p = plan(desired({"198.51.100.188"}), o, Owned{});
        CHECK(p.empty());
        CHECK(ownedAfter(Owned{}, p).empty());
    }

    TEST_CASE("drift: a removed VIP and route are re-added, a changed sysctl is reset, originals kept") {
        Observed o = observed();
        arpDone(o);
        o.sysctls[{.iface = "all", .name = "arp_ignore"}] = 0;
        Owned owned;
        owned.addresses.insert(ip("198.51.100.188"));
        owned.routes.insert(ip("198.51.100.188"));
        owned.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 0;
        owned.sysctlOriginals[{.iface = "lo", .name = "arp_ignore"}] = 3;
        const Plan p = plan(desired({"198.51.100.188"}), o, owned);
        CHECK(described(p) == std::vector<std::string>{"set net.ipv4.conf.all.arp_ignore: 0 -> 1",
                                                       "add 198.51.100.188/32 to lo",
                                                       "add route 198.51.100.188/32 dev lo table main"});
        const Owned after = ownedAfter(owned, p);
        CHECK(after.sysctlOriginals.at({.iface = "lo", .name = "arp_ignore"}) == 3);
        CHECK(after.sysctlOriginals.at({.iface = "all", .name = "arp_ignore"}) == 0);
    }

    TEST_CASE("stop (nothing desired) removes only what is owned and restores originals last") {
        Observed o = observed();
        arpDone(o);
        bind(o, "198.51.100.188");
        bind(o, "198.51.100.189");  // was there before: not owned
        route(o, "198.51.100.188");
        route(o, "198.51.100.189", 3);
        Owned owned;
        owned.addresses.insert(ip("198.51.100.188"));
        owned.routes.insert(ip("198.51.100.188"));
        owned.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 0;
        owned.sysctlOriginals[{.iface = "lo", .name = "arp_announce"}] = 1;
        const Plan p = plan(Desired{}, o, owned);
        CHECK(described(p) == std::vector<std::string>{
                                  "remove route 198.51.100.188/32 dev lo table main",
                                  "remove 198.51.100.188/32 from lo",
                                  "restore net.ipv4.conf.all.arp_ignore: 1 -> 0",
                                  "restore net.ipv4.conf.lo.arp_announce: 2 -> 1",
                              });
        CHECK(ownedAfter(owned, p).empty());
    }

    TEST_CASE("stop after everything is already undone: empty plan, ownership dropped") {
        Owned owned;
        owned.addresses.insert(ip("198.51.100.188"));
        owned.sysctlOriginals[{.iface = "all", .name = "arp_ignore"}] = 0;
        const Plan p = plan(Desired{}, observed(), owned);
        CHECK(p.actions.empty());
        CHECK(ownedAfter(owned, p).empty());
    }

    TEST_CASE("a route of the same destination that is not ours is never deleted") {
        Observed o = observed();
        route(o, "198.51.100.188", 4);
        Owned owned;
        owned.routes.insert(ip("198.51.100.188"));
        CHECK(plan(Desired{}, o, owned).actions.empty());
    }

    TEST_CASE("VIPs removed from the configuration are unbound, new ones bound") {
        Observed o = observed();
        arpDone(o);
        bind(o, "198.51.100.1");
        route(o, "198.51.100.1");
        Owned owned;
        owned.addresses.insert(ip("198.51.100.1"));
        owned.routes.insert(ip("198.51.100.1"));
        const Plan p = plan(desired({"198.51.100.2"}), o, owned);
        CHECK(described(p) == std::vector<std::string>{"add 198.51.100.2/32 to lo",
                                                       "add route 198.51.100.2/32 dev lo table main",
                                                       "remove route 198.51.100.1/32 dev lo table main",
                                                       "remove 198.51.100.1/32 from lo"});
        CHECK(ownedAfter(owned, p).addresses == std::set<netcfg::IpAddress>{ip("198.51.100.2")});
    }

    TEST_CASE("host_routes false: no route added, an owned one removed") {
        Observed o = observed();
        arpDone(o);
        bind(o, "198.51.100.1");
        route(o, "198.51.100.1");
        Owned owned;
        owned.routes.insert(ip("198.51.100.1"));
        const Plan p = plan(desired({"198.51.100.1"}, false), o, owned);
        CHECK(described(p) == std::vector<std::string>{"remove route 198.51.100.1/32 dev lo table main"});
    }

    TEST_CASE("interfaces no longer configured get their originals back") {
        Observed o = observed();
        arpDone(o);
        o.sysctls[{.iface = "eth0", .name = "arp_ignore"}] = 1;
        Owned owned;
        owned.sysctlOriginals[{.iface = "eth0", .name = "arp_ignore"}] = 0;
        const Plan p = plan(desired({}), o, owned);
        CHECK(described(p) == std::vector<std::string>{"restore net.ipv4.conf.eth0.arp_ignore: 1 -> 0"});
    }

    TEST_CASE("conflicts: VIP on a real interface, a route via another device, a missing interface") {
        Observed o = observed();
        bind(o, "198.51.100.50", 2);
        route(o, "198.51.100.70", 4, 2);
        o.sysctlErrors[{.iface = "eth9", .name = "arp_ignore"}] = {.err = ENOENT, .message = "reading net.ipv4.conf.eth9.arp_ignore: No such file or directory"};
        Desired d = desired({"198.51.100.50", "198.51.100.70"});
        d.sysctls[{.iface = "eth9", .name = "arp_ignore"}] = 1;
        Owned owned;
        owned.addresses.insert(ip("198.51.100.50"));  // bound by the agent earlier
        owned.sysctlOriginals[{.iface = "eth9", .name = "arp_ignore"}] = 0;
        const Plan p = plan(d, o, owned);
        // What the conflicts concern is left alone; the rest is planned.
        CHECK(described(p) == std::vector<std::string>{"set net.ipv4.conf.all.arp_announce: 0 -> 2",
                                                       "set net.ipv4.conf.all.arp_ignore: 0 -> 1",
                                                       "set net.ipv4.conf.lo.arp_announce: 0 -> 2",
                                                       "set net.ipv4.conf.lo.arp_ignore: 0 -> 1"});
        const Owned after = ownedAfter(owned, p);
        CHECK(after.addresses.contains(ip("198.51.100.50")));
        CHECK(after.sysctlOriginals.contains({.iface = "eth9", .name = "arp_ignore"}));
        const auto conflicts = p.conflicts();
        REQUIRE(conflicts.size() == 3);
        CHECK(conflicts[0].subject == Subject::setting({.iface = "eth9", .name = "arp_ignore"}));
        CHECK(conflicts[0].kind == FindingKind::InterfaceMissing);
        CHECK(describe(conflicts[0]).find("interface eth9 (arp.interfaces) does not exist") == 0);
        CHECK(conflicts[1].subject == Subject::address(ip("198.51.100.50")));
        CHECK(conflicts[1].kind == FindingKind::OnRealInterface);
        CHECK(conflicts[1].other == "eth0");
        CHECK(conflicts[2].subject == Subject::address(ip("198.51.100.70")));
        CHECK(conflicts[2].kind == FindingKind::RouteViaOtherDevice);
        CHECK(describe(conflicts[2]) == "table main has a route for 198.51.100.70/32 via eth0, not lo: remove it first");
    }

    TEST_CASE("the RIP itself as a VIP is a conflict (this host holds it on eth0)") {
        const Plan p = plan(desired({"198.51.100.60"}), observed(), Owned{});
        REQUIRE(p.conflicts().size() == 1);
        CHECK(describe(p.conflicts()[0]).find("is also an address of eth0") != std::string::npos);
    }

    TEST_CASE("a conflict concerns its own VIP only, settings and lo concern every VIP") {
        const auto a = ip("198.51.100.1"), b = ip("198.51.100.2");
        CHECK(concerns(Finding{.subject = Subject::address(a), .kind = FindingKind::OnRealInterface}, a));
        CHECK_FALSE(concerns(Finding{.subject = Subject::address(a), .kind = FindingKind::OnRealInterface}, b));
        CHECK(concerns(Finding{.subject = Subject::setting({.iface = "all", .name = "arp_ignore"}), .kind = FindingKind::WrongValue}, b));
        CHECK(concerns(Finding{.subject = Subject::loopback(), .kind = FindingKind::LinkDown}, b));
    }

    TEST_CASE("a scoped plan covers only the items asked for") {
        Observed o = observed();
        arpDone(o);
        o.sysctls[{.iface = "all", .name = "arp_announce"}] = 0;  // wrong, but not in scope
        bind(o, "198.51.100.1");
        const std::set<Subject> only{Subject::address(ip("198.51.100.2"))};
        const Plan p = plan(desired({"198.51.100.1", "198.51.100.2"}), o, Owned{}, &only);
        CHECK(described(p) == std::vector<std::string>{"add 198.51.100.2/32 to lo",
                                                       "add route 198.51.100.2/32 dev lo table main"});
        CHECK(kinds(p.findings) == std::vector<FindingKind>{FindingKind::AddressMissing, FindingKind::RouteMissing});
        // The whole plan sees the rest too.
        CHECK(plan(desired({"198.51.100.1", "198.51.100.2"}), o, Owned{}).actions.size() == 1 + 3);
    }

    TEST_CASE("an add the kernel found already done is not recorded as owned") {
        Owned owned;
        CHECK_FALSE(record(owned, addOp("198.51.100.1"), netcfg::Effect::AlreadyDone));
        CHECK(owned.addresses.empty());
        CHECK(record(owned, addOp("198.51.100.1"), netcfg::Effect::Changed));
        CHECK(owned.addresses.contains(ip("198.51.100.1")));
        // A later repair of an owned address changes nothing in the state file.
        CHECK_FALSE(record(owned, addOp("198.51.100.1"), netcfg::Effect::Changed));
    }

    TEST_CASE("inverse actions undo") {
        const Action add = addOp("198.51.100.1");
        CHECK(describe(inverse(add)) == "remove 198.51.100.1/32 from lo");
        const Action set = SetSysctl{.key = {.iface = "all", .name = "arp_ignore"}, .from = 0, .to = 1};
        CHECK(describe(inverse(set)) == "restore net.ipv4.conf.all.arp_ignore: 1 -> 0");
        CHECK(describe(inverse(netcfg::NetOp{.kind = netcfg::NetOp::Kind::LinkUp, .ifindex = 1, .address = {}, .ifname = "lo"})) ==
              "bring lo down");
        CHECK(pastTense(add) == "added 198.51.100.1/32 to lo");
    }

    TEST_CASE("announce: a ready VIP's route goes into the table last, a withdrawal comes first of all") {
        auto [o, owned] = twoVipsOwned();
        Desired d = desired({"198.51.100.1", "198.51.100.2"});
        d.announceTable = 200;
        d.announceMetric = 20;
        d.announceable = d.wanted;
        // Held (start, `start`): nothing is added.
        CHECK(plan(d, o, owned).empty());
        d.holdAnnounced = false;
        d.announced = {ip("198.51.100.1")};
        const Plan p = plan(d, o, owned);
        CHECK(described(p) == std::vector<std::string>{"add route 198.51.100.1/32 dev lo table 200 metric 20"});
        REQUIRE(p.findings.size() == 1);
        CHECK(p.findings[0].kind == FindingKind::NotAnnounced);
        CHECK_FALSE(concerns(p.findings[0], ip("198.51.100.1")));  // readiness does not wait for it
        Owned after = ownedAfter(owned, p);
        CHECK(after.announced.at(ip("198.51.100.1")) == AnnounceRecord{.table = 200, .metric = 20});
        // Not ready any more, and the whole configuration going: the withdrawal is first.
        Plan none = plan(nothingDesired(), o, after);
        REQUIRE_FALSE(none.actions.empty());
        CHECK(describe(none.actions.front()) == "remove route 198.51.100.1/32 dev lo table 200 metric 20");
        // stop --vip of the other VIP keeps it announced.
        CHECK(described(plan(ownedWithout(after, {ip("198.51.100.2")}), o, after)) ==
              std::vector<std::string>{"remove route 198.51.100.2/32 dev lo table main", "remove 198.51.100.2/32 from lo"});
    }

    TEST_CASE("announce: another program's route for the VIP, or in the table, is a conflict and nothing is added") {
        auto [o, owned] = twoVipsOwned();
        Desired d = desired({"198.51.100.1"});
        d.announceTable = 200;
        d.announceable = d.wanted;
        d.holdAnnounced = false;
        d.announced = d.wanted;
        netcfg::KernelState k;
        k.links = {netcfg::Link{.ifindex = 1, .name = "lo", .up = true, .loopback = true}};
        for (const auto& a : o.kernel.addressesOn(1)) k.addresses.push_back(a);
        for (const auto& r : o.kernel.routesTo(ip("198.51.100.1"))) k.routes.push_back(r);
        k.routes.push_back({.dst = ip("198.51.100.1"), .table = 200, .protocol = 4, .oif = 1, .metric = 0});
        o.kernel = KernelView(k);
        auto announces = [](const Plan& pl) {
            return std::count_if(pl.actions.begin(), pl.actions.end(), [](const Action& a) {
                return std::holds_alternative<netcfg::NetOp>(a) && std::get<netcfg::NetOp>(a).announce();
            });
        };
        Plan p = plan(d, o, owned);
        CHECK(announces(p) == 0);
        REQUIRE(p.hasConflicts());
        CHECK(describe(p.conflicts()[0]) == "the announce table has a route for 198.51.100.1/32 the agent did not add (proto 4): not announcing it");
        k.routes.pop_back();
        k.foreignInAnnounce = 3;
        k.foreignExample = "203.0.113.0/24 proto 4";
        o.kernel = KernelView(k);
        p = plan(d, o, owned);
        CHECK(announces(p) == 0);
        REQUIRE(p.hasConflicts());
        CHECK(describe(p.conflicts()[0]).find("the announce table 200 holds 3 route(s) the agent did not add (203.0.113.0/24 proto 4)") == 0);
    }
}
