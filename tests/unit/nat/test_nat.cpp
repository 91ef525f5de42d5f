// VS/NAT real servers: the "nat" section, the reply path planned as items (a rule per port,
// a default route in the NAT table), what a reload changes, and how it is kept on disk.
#include <doctest/doctest.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/reconcile/state_file.h"
#include "fixtures.h"
#include "netcfg/events.h"
#include "temp_dir.h"

using namespace fixtures;
using namespace agent;

namespace {

constexpr const char* kNat = R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"],
                                         "ports": [{"port": 8080, "virtual_port": 80}, "udp/53", 443]}})";

std::string problems(const std::string& text) { return configProblems(text); }

Desired natDesired(const std::string& text = kNat) { return desiredFrom(parseConfig(text, "cfg.json")); }

netcfg::Rule rule(const char* src, int proto, int port, std::uint32_t table = 201, std::uint32_t prio = 1000) {
    return {.src = ip(src), .ipProto = proto, .sport = port, .table = table, .priority = prio, .protocol = netcfg::kRouteProtocol};
}
netcfg::GatewayRoute via(const char* gw, std::uint32_t table = 201, int ifindex = 2) {
    return {.gateway = ip(gw), .ifindex = ifindex, .table = table, .protocol = netcfg::kRouteProtocol};
}

// The kernel as the plan left it: every action applied to the view.
void applyAll(Observed& o, const Plan& p) {
    for (const auto& a : p.actions) {
        const auto& op = std::get<netcfg::NetOp>(a);
        using K = netcfg::NetOp::Kind;
        if (op.kind == K::AddRule) o.kernel.add(op.rule);
        if (op.kind == K::DeleteRule) o.kernel.remove(op.rule);
        if (op.kind == K::AddGatewayRoute) o.kernel.add(op.gatewayRoute());
        if (op.kind == K::DeleteGatewayRoute) o.kernel.remove(op.gatewayRoute());
    }
}

}  // namespace

TEST_SUITE("nat") {
    TEST_CASE("the nat section: directors per family, ports by protocol with their virtual port, defaults") {
        const Config c = parseConfig(kNat, "cfg.json");
        REQUIRE(c.nat.enabled());
        CHECK(c.vips.empty());  // no DR VIP needed beside it
        CHECK(c.nat.directors == std::vector{ip("198.51.100.50")});
        CHECK(c.nat.vips == std::vector{ip("203.0.113.188")});
        REQUIRE(c.nat.ports.size() == 3);
        CHECK(c.nat.ports[0] == NatPort{.ipProto = 6, .port = 8080, .virtualPort = 80});
        CHECK(c.nat.ports[1] == NatPort{.ipProto = 17, .port = 53, .virtualPort = 53});
        CHECK(c.nat.ports[2] == NatPort{.ipProto = 6, .port = 443, .virtualPort = 443});
        CHECK(c.nat.table == 201);
        CHECK(c.nat.priority == 1000);
        const Config both = parseConfig(R"({"vips": ["198.51.100.188"], "nat": {"director": ["198.51.100.50", "2001:db8::50"],
            "vips": ["203.0.113.188", "2001:db8:c::188"], "ports": ["tcp/80"], "table": 7, "priority": 99}})", "cfg.json");
        CHECK(both.nat.directors.size() == 2);
        CHECK(both.nat.table == 7);
        CHECK(both.nat.priority == 99);
        CHECK(both.vips.size() == 1);  // DR VIPs and NAT services side by side
    }

    TEST_CASE("every bad nat input is named, and nothing of the section is taken") {
        const std::vector<std::pair<const char*, const char*>> cases{
            {R"({"nat": 1})", "nat: must be an object"},
            {R"({"nat": {"vips": ["203.0.113.188"], "ports": [80]}})", "nat.director: missing"},
            {R"({"nat": {"director": "127.0.0.1", "vips": ["203.0.113.188"], "ports": [80]}})", "nat.director: 127.0.0.1 is a loopback address"},
            {R"({"nat": {"director": ["198.51.100.50", "198.51.100.51"], "vips": ["203.0.113.188"], "ports": [80]}})",
             "nat.director[1]: 198.51.100.51: a second IPv4 director"},
            {R"({"nat": {"director": "198.51.100.50", "ports": [80]}})", "nat.vips: missing"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["2001:db8::188"], "ports": [80]}})",
             "nat.vips[0]: 2001:db8::188 is IPv6 but nat.director has no IPv6 address"},
            {R"({"vips": ["198.51.100.188"], "nat": {"director": "198.51.100.50", "vips": ["198.51.100.188"], "ports": [80]}})",
             "nat.vips[0]: 198.51.100.188 is also a DR VIP"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"]}})", "nat.ports: missing"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [0]}})", "nat.ports[0]: 0 is not a port"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": ["sctp/80"]}})",
             "nat.ports[0]: \"sctp/80\" is not a port"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80, "tcp/80"]}})",
             "nat.ports[1]: tcp/80 duplicates nat.ports[0]"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80, {"port": 8080, "virtual_port": 80}]}})",
             "nat.ports[1]: virtual port 80 is also nat.ports[0]'s"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80], "table": 254}})",
             "nat.table: 254 is not a table for the agent"},
            {R"({"announce": {"table": 201}, "nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80]}})",
             "nat.table: 201 is also announce.table"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80], "priority": 32766}})",
             "nat.priority: 32766 is not a rule priority"},
            {R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80], "prio": 5}})",
             "nat.prio: unknown key"},
        };
        for (const auto& [text, want] : cases) {
            CAPTURE(text);
            const std::string got = problems(text);
            CAPTURE(got);
            CHECK(got.find(std::string("cfg.json: ") + want) != std::string::npos);
        }
        CHECK(problems(R"({"vips": []})").find("vips: is empty") != std::string::npos);  // without nat, vips still needed
    }

    TEST_CASE("a NAT-only server sets no ARP setting and binds nothing: it wants the reply path only") {
        const Desired d = natDesired();
        CHECK(d.sysctls.empty());
        CHECK(d.vips.empty());
        REQUIRE(d.nat);
        CHECK(d.tables().nat == 201);
        const Plan p = plan(d, observed(), Owned{});
        CHECK(described(p) == std::vector<std::string>{
                                  "add route default via 198.51.100.50 dev eth0 table 201",
                                  "add rule from 198.51.100.60 ipproto tcp sport 443 lookup 201 priority 1000",
                                  "add rule from 198.51.100.60 ipproto tcp sport 8080 lookup 201 priority 1000",
                                  "add rule from 198.51.100.60 ipproto udp sport 53 lookup 201 priority 1000",
                              });
        CHECK(kinds(p.findings) == std::vector{FindingKind::NatRouteMissing, FindingKind::NatRuleMissing, FindingKind::NatRuleMissing,
                                               FindingKind::NatRuleMissing});
        CHECK_FALSE(p.hasConflicts());
    }

    TEST_CASE("the reply path is items: kept, one deleted rule repaired alone, stop removes rules then the route") {
        const Desired d = natDesired();
        Observed o = observed();
        const Plan first = plan(d, o, Owned{});
        applyAll(o, first);
        const Owned owned = ownedAfter(Owned{}, first);
        CHECK(owned.natRules.size() == 3);
        CHECK(owned.natRoutes == std::set{via("198.51.100.50")});
        CHECK(plan(d, o, owned).empty());  // in place: nothing to do, no finding
        CHECK(plan(d, o, owned).findings.empty());

        o.kernel.remove(rule("198.51.100.60", 6, 8080));  // someone deletes one rule
        const std::set<Subject> only{Subject::nat(AF_INET)};
        const Plan repair = plan(d, o, owned, &only);
        CHECK(described(repair) == std::vector<std::string>{"add rule from 198.51.100.60 ipproto tcp sport 8080 lookup 201 priority 1000"});

        applyAll(o, repair);
        const Plan stop = plan(nothingDesired(), o, owned);
        CHECK(described(stop) == std::vector<std::string>{
                                     "remove rule from 198.51.100.60 ipproto tcp sport 443 lookup 201 priority 1000",
                                     "remove rule from 198.51.100.60 ipproto tcp sport 8080 lookup 201 priority 1000",
                                     "remove rule from 198.51.100.60 ipproto udp sport 53 lookup 201 priority 1000",
                                     "remove route default via 198.51.100.50 dev eth0 table 201",
                                 });
        CHECK(ownedAfter(owned, stop).empty());
        // What went by itself is only forgotten.
        Observed bare = observed();
        const Plan gone = plan(nothingDesired(), bare, owned);
        CHECK(gone.actions.empty());
        CHECK(ownedAfter(owned, gone).empty());
    }

    TEST_CASE("a reload: a port dropped takes its rule, a new table moves rules and route, a new priority replaces the rules") {
        Observed o = observed();
        const Plan first = plan(natDesired(), o, Owned{});
        applyAll(o, first);
        Owned owned = ownedAfter(Owned{}, first);

        const Desired fewer = natDesired(R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [443]}})");
        const Plan p1 = plan(fewer, o, owned);
        CHECK(described(p1) == std::vector<std::string>{
                                   "remove rule from 198.51.100.60 ipproto tcp sport 8080 lookup 201 priority 1000",
                                   "remove rule from 198.51.100.60 ipproto udp sport 53 lookup 201 priority 1000",
                               });

        const Desired moved = natDesired(R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [443], "table": 202,
                                                     "priority": 900}})");
        applyAll(o, p1);
        owned = ownedAfter(owned, p1);
        // As the kernel is read then: only the new table's routes (the old table's is not dumped).
        Observed readNow = o;
        readNow.kernel.remove(via("198.51.100.50"));
        CHECK(tablesFor(moved, owned).nat == 202);
        CHECK(described(plan(moved, readNow, owned)) == std::vector<std::string>{
                                                            "add route default via 198.51.100.50 dev eth0 table 202",
                                                            "add rule from 198.51.100.60 ipproto tcp sport 443 lookup 202 priority 900",
                                                            "remove rule from 198.51.100.60 ipproto tcp sport 443 lookup 201 priority 1000",
                                                            "remove route default via 198.51.100.50 dev eth0 table 201",
                                                        });
        const Plan p2 = plan(moved, o, owned);
        CHECK(described(p2) == std::vector<std::string>{
                                   "add route default via 198.51.100.50 dev eth0 table 202",
                                   "add rule from 198.51.100.60 ipproto tcp sport 443 lookup 202 priority 900",
                                   "remove rule from 198.51.100.60 ipproto tcp sport 443 lookup 201 priority 1000",
                                   "remove route default via 198.51.100.50 dev eth0 table 201",
                               });
    }

    TEST_CASE("no address on the director's subnet, or another program in the table: conflicts, nothing added") {
        Observed far = observed();
        const Desired d = natDesired(R"({"nat": {"director": "192.0.2.50", "vips": ["203.0.113.188"], "ports": [80]}})");
        const Plan p = plan(d, far, Owned{});
        CHECK(p.actions.empty());
        REQUIRE(p.conflicts().size() == 1);
        CHECK(describe(p.conflicts()[0]).find("no interface has an address on the NAT director 192.0.2.50's subnet") != std::string::npos);

        Observed taken = observed();
        taken.kernel.add(netcfg::GatewayRoute{.gateway = ip("198.51.100.1"), .ifindex = 2, .table = 201, .protocol = 4});
        const Plan q = plan(natDesired(), taken, Owned{});
        CHECK(q.actions.empty());
        REQUIRE(q.conflicts().size() == 1);
        CHECK(describe(q.conflicts()[0]).find("another program uses it") != std::string::npos);

        Observed ruled = observed();
        ruled.kernel.add(netcfg::Rule{.src = {}, .ipProto = 0, .sport = 0, .table = 201, .priority = 500, .protocol = 3});
        CHECK(plan(natDesired(), ruled, Owned{}).conflicts().size() == 1);
    }

    TEST_CASE("a replaced default route in the table replaces the view's (ip route replace announces only the new one)") {
        KernelView k;
        CHECK(k.add(via("198.51.100.50")));
        CHECK(k.add(netcfg::GatewayRoute{.gateway = ip("198.51.100.1"), .ifindex = 2, .table = 201, .protocol = 3}));
        CHECK(k.gatewayRoutes().size() == 1);
        CHECK(k.add(via("2001:db8::50")));  // another family: both kept
        CHECK(k.gatewayRoutes().size() == 2);
    }

    TEST_CASE("the state file keeps the reply path (format 5, refused by an older agent) and reads it back") {
        TempDir dir;
        StateFile f(dir.path);
        Owned o;
        o.natRules = {rule("198.51.100.60", 6, 8080), rule("2001:db8::60", 17, 53)};
        o.natRoutes = {via("198.51.100.50"), via("2001:db8::50", 201, 3)};
        REQUIRE(f.save(o));
        std::ifstream in(f.path());
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(text.find("\"format\": 5") != std::string::npos);
        auto back = f.load();
        REQUIRE(back);
        CHECK(*back == o);
        std::ofstream(dir.path / "state.json") << R"({"format": 5, "addresses": [], "routes": [], "sysctl_originals": [],
            "nat_rules": [{"from": "198.51.100.60", "ipproto": 1, "sport": 80, "table": 201, "priority": 1000}]})";
        CHECK_FALSE(f.load());  // ICMP is no port's protocol: damaged, refused
    }

    TEST_CASE("notifications: a rule message becomes a rule change, the NAT table's default routes pass the filter") {
        const netcfg::RouteTables tables{.announce = 0, .ranges = false, .nat = 201};
        // An RTM_NEWRULE as the kernel sends it: from 198.51.100.60 ipproto tcp sport 8080 lookup 201 proto 177.
        struct {
            nlmsghdr h;
            fib_rule_hdr r;
            char attrs[64];
        } m{};
        m.h.nlmsg_type = RTM_NEWRULE;
        m.r.family = AF_INET;
        m.r.src_len = 32;
        m.r.table = 201;
        m.r.action = FR_ACT_TO_TBL;
        char* a = m.attrs;
        auto put = [&](unsigned short type, const void* data, unsigned short len) {
            auto* rta = reinterpret_cast<rtattr*>(a);
            rta->rta_type = type;
            rta->rta_len = RTA_LENGTH(len);
            std::memcpy(RTA_DATA(rta), data, len);
            a += RTA_ALIGN(rta->rta_len);
        };
        const auto src = ip("198.51.100.60");
        put(FRA_SRC, src.bytes.data(), 4);
        const std::uint32_t prio = 1000, table = 201;
        put(FRA_PRIORITY, &prio, 4);
        put(FRA_TABLE, &table, 4);
        const std::uint8_t proto = 177, ipproto = 6;
        put(FRA_PROTOCOL, &proto, 1);
        put(FRA_IP_PROTO, &ipproto, 1);
        const fib_rule_port_range ports{.start = 8080, .end = 8080};
        put(FRA_SPORT_RANGE, &ports, sizeof ports);
        m.h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(sizeof(fib_rule_hdr)) + (a - m.attrs));
        netcfg::Drained d;
        netcfg::ChangeEvents::parse(reinterpret_cast<const char*>(&m), m.h.nlmsg_len, d, tables);
        REQUIRE(d.changes.size() == 1);
        CHECK(d.changes[0].kind == netcfg::Change::Kind::RuleAdded);
        CHECK(d.changes[0].rule == rule("198.51.100.60", 6, 8080));
        // Without a NAT table the agent does not follow rules.
        netcfg::Drained none;
        netcfg::ChangeEvents::parse(reinterpret_cast<const char*>(&m), m.h.nlmsg_len, none, {});
        CHECK(none.changes.empty());
    }
}

#include "agent/tools/director_config.h"

TEST_SUITE("nat") {
    TEST_CASE("director-config: lb_kind NAT and ipvsadm -m to RIP:port from the virtual port, the check on /ready/<nat vip>") {
        const Config c = parseConfig(R"({"nat": {"director": ["198.51.100.50", "2001:db8:5::50"], "vips": ["203.0.113.188", "2001:db8:c::188"],
            "ports": [{"port": 8080, "virtual_port": 80}, "udp/53"]}, "api": {"listen": "198.51.100.60:9100"}})", "cfg.json");
        CHECK_FALSE(directorTarget(c, "", {}, DirectorFormat::Keepalived));  // the IPv6 VIP needs --rip
        const auto t = directorTarget(c, "", {"2001:db8:5::60"}, DirectorFormat::Keepalived);
        REQUIRE(t);
        const std::string k = renderDirectorConfig(c, DirectorFormat::Keepalived, *t);
        CHECK(k.find("virtual_server 203.0.113.188 80 {\n    delay_loop 2\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP\n"
                     "    real_server 198.51.100.60 8080 {") != std::string::npos);
        CHECK(k.find("virtual_server 2001:db8:c::188 53 {") != std::string::npos);
        CHECK(k.find("real_server 2001:db8:5::60 53 {") != std::string::npos);
        CHECK(k.find("path /ready/203.0.113.188\n") != std::string::npos);
        CHECK(k.find("path /ready/2001:db8:c::188\n") != std::string::npos);
        CHECK(k.find("Forwarding: direct routing") == std::string::npos);  // no DR VIP here
        const std::string i = renderDirectorConfig(c, DirectorFormat::Ipvsadm, *t);
        CHECK(i.find("ipvsadm -A -t 203.0.113.188:80 -s wlc\nipvsadm -a -t 203.0.113.188:80 -r 198.51.100.60:8080 -m -w 100\n") !=
              std::string::npos);
        CHECK(i.find("ipvsadm -A -u [2001:db8:c::188]:53 -s wlc\nipvsadm -a -u [2001:db8:c::188]:53 -r [2001:db8:5::60]:53 -m -w 100\n") !=
              std::string::npos);
        const std::string h = renderDirectorConfig(c, DirectorFormat::Haproxy, *t);
        CHECK(h.find("server rs_198_51_100_60 198.51.100.60:8080 check addr 198.51.100.60 port 9100") != std::string::npos);
        CHECK(h.find(":53 ") == std::string::npos);  // UDP is not HAProxy's
        CHECK(h.find("option httpchk GET /ready/203.0.113.188\n") != std::string::npos);
    }
}

TEST_SUITE("nat") {
    TEST_CASE("in place, the kernel's own lookup decides: a port whose replies go elsewhere is a conflict naming where") {
        const Desired d = natDesired(R"({"nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [8080]}})");
        Observed o = observed();
        o.kernel.setLink({.ifindex = 2, .name = "eth0", .up = true, .loopback = false});
        const Plan first = plan(d, o, Owned{});
        applyAll(o, first);
        const Owned owned = ownedAfter(Owned{}, first);
        o.natPaths[{AF_INET, 6, 8080}] = {.src = ip("198.51.100.60"), .answer = {.gateway = ip("198.51.100.50"), .oif = 2, .table = 201}};
        CHECK(plan(d, o, owned).findings.empty());
        o.natPaths[{AF_INET, 6, 8080}].answer = {.gateway = ip("198.51.100.1"), .oif = 2, .table = 254};
        const Plan p = plan(d, o, owned);
        REQUIRE(p.conflicts().size() == 1);
        CHECK(describe(p.conflicts()[0]) == "the kernel sends the replies of tcp/8080 via 198.51.100.1 dev eth0 (table 254), not via the "
                                            "NAT director: a rule or route of another program comes first");
        CHECK(p.actions.empty());
        // An answer for an address the server no longer has is not taken for the new one.
        o.natPaths[{AF_INET, 6, 8080}].src = ip("198.51.100.61");
        CHECK(plan(d, o, owned).findings.empty());
    }
}

#include "agent/config/config_reload.h"

TEST_SUITE("nat") {
    TEST_CASE("a reload that adds NAT or moves its table changes the tables read (the events follow them)") {
        const Config dr = parseConfig(R"({"vips": ["198.51.100.188"]})", "cfg.json");
        const Config nat = parseConfig(R"({"vips": ["198.51.100.188"], "nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80]}})",
                                       "cfg.json");
        const Config moved = parseConfig(R"({"vips": ["198.51.100.188"], "nat": {"director": "198.51.100.50", "vips": ["203.0.113.188"], "ports": [80],
                                            "table": 202}})", "cfg.json");
        CHECK(planReload(dr, nat).tableChanged);
        CHECK(planReload(nat, moved).tableChanged);
        CHECK(planReload(moved, dr).tableChanged);
        CHECK_FALSE(planReload(nat, nat).tableChanged);
    }
}
