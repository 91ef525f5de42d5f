// Two-box clusters: the "colocated" section, the marks' table planned as an item (written
// whole, its peer set changed in place, nothing marked while a peer's MAC is unknown,
// removed when no longer configured), and how it is kept on disk.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "agent/config/config.h"
#include "agent/reconcile/state_file.h"
#include "fixtures.h"
#include "support/fake_marks_driver.h"
#include "temp_dir.h"

using namespace fixtures;
using namespace agent;

namespace {

constexpr const char* kTwoBox = R"({"vips": ["198.51.100.188"],
  "colocated": {"peer_directors": ["198.51.100.52"], "fwmark": 3, "ports": [80, "udp/53"]}})";

std::string problems(const std::string& text) { return configProblems(text); }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Desired twoBox() { return desiredFrom(parseConfig(kTwoBox, "cfg.json")); }

// The peer's MAC known (or not), the table as given.
Observed seen(const char* peerMac, std::optional<netcfg::MarkTableSeen> table = std::nullopt) {
    Observed o = observed();
    o.marks.peerMacs[ip("198.51.100.52")] = peerMac;
    o.marks.table = std::move(table);
    return o;
}

netcfg::MarkSpec specFor(std::set<std::string> macs, bool marking = true) {
    return {.mark = 3, .vips = {ip("198.51.100.188")}, .ports = {{6, 80}, {17, 53}}, .peerMacs = std::move(macs), .marking = marking};
}

const MarksOp* marksOp(const Plan& p) {
    for (const auto& a : p.actions)
        if (const auto* m = std::get_if<MarksOp>(&a)) return m;
    return nullptr;
}

// The marks' own findings (the VIP's, unbound in these observations, are not the point).
std::size_t marksFindings(const Plan& p) {
    return static_cast<std::size_t>(
        std::count_if(p.findings.begin(), p.findings.end(), [](const Finding& f) { return f.subject == Subject::marks(); }));
}

bool finds(const Plan& p, FindingKind k) {
    return std::any_of(p.findings.begin(), p.findings.end(), [&](const Finding& f) { return f.kind == k; });
}

}  // namespace

TEST_SUITE("colocated") {
    TEST_CASE("the section: peers, the mark and the ports, into the desired marks") {
        const Config c = parseConfig(kTwoBox, "cfg.json");
        CHECK(c.colocated.enabled());
        CHECK(c.colocated.fwmark == 3);
        CHECK(c.colocated.peers == std::vector<netcfg::IpAddress>{ip("198.51.100.52")});
        REQUIRE(c.colocated.ports.size() == 2);
        CHECK(c.colocated.ports[1].ipProto == 17);
        const Desired d = desiredFrom(c);
        REQUIRE(d.colocated);
        CHECK(d.colocated->ports == std::vector<std::pair<int, int>>{{6, 80}, {17, 53}});
        CHECK(d.colocated->vips == std::vector<netcfg::IpAddress>{ip("198.51.100.188")});
    }

    TEST_CASE("the section refused, every problem named: a mark of 0, a peer twice or a VIP, a virtual port, no VIPs, an unmarked service port") {
        const std::string p = problems(R"({"vips": ["198.51.100.188"], "colocated": {"peer_directors": ["198.51.100.52", "198.51.100.52",
            "198.51.100.188"], "fwmark": 0, "ports": [{"port": 8080, "virtual_port": 80}], "extra": 1}})");
        CHECK(has(p, "colocated.fwmark: 0 is not a firewall mark"));
        CHECK(has(p, "colocated.peer_directors[1]: 198.51.100.52 is listed twice"));
        CHECK(has(p, "colocated.peer_directors[2]: 198.51.100.188 is one of the VIPs"));
        CHECK(has(p, "colocated.ports[0]: a virtual_port is for NAT"));
        CHECK(has(p, "extra"));
        CHECK(has(problems(R"({"vips": [], "nat": {"director": "198.51.100.50", "vips": ["203.0.113.1"], "ports": [80]},
            "colocated": {"peer_directors": ["198.51.100.52"], "fwmark": 3, "ports": [80]}})"), "colocated: needs \"vips\""));
        CHECK(has(problems(R"({"vips": ["198.51.100.188"], "colocated": {"peer_directors": ["198.51.100.52"], "fwmark": 3, "ports": [80]},
            "services": [{"vip": "198.51.100.188", "type": "tcp", "port": 443}]})"), "port 443 is not in colocated.ports"));
        CHECK(has(problems(R"({"vips": ["198.51.100.188"], "colocated": {"peer_directors": [], "fwmark": 3, "ports": [80]}})"),
                  "colocated.peer_directors: must be a non-empty list"));
    }

    TEST_CASE("no table yet, the peer's MAC known: the table written whole, marking, and the item not in place until then") {
        const Plan p = plan(twoBox(), seen("52:54:00:00:00:52"), Owned{});
        CHECK(finds(p, FindingKind::MarksMissing));
        const auto* m = marksOp(p);
        REQUIRE(m);
        CHECK(m->kind == MarksOp::Kind::Apply);
        CHECK(m->spec == specFor({"52:54:00:00:00:52"}));
        CHECK_FALSE(p.hasConflicts());
    }

    TEST_CASE("the peer's MAC unknown: written without any rule, and every VIP held back (not a conflict: start goes on)") {
        const Plan p = plan(twoBox(), seen(""), Owned{});
        CHECK(finds(p, FindingKind::PeerMacUnknown));
        CHECK_FALSE(p.hasConflicts());
        const auto* m = marksOp(p);
        REQUIRE(m);
        CHECK_FALSE(m->spec.marking);
        CHECK(m->spec.peerMacs.empty());
        CHECK(netcfg::markTableScript(m->spec).find("meta mark set") == std::string::npos);
        const Plan q = plan(twoBox(), seen("", netcfg::FakeMarksDriver::seenOf(specFor({}, false))), Owned{});
        CHECK(finds(q, FindingKind::PeerMacUnknown));  // in place as it can be, still not ready
        CHECK_FALSE(marksOp(q));
    }

    TEST_CASE("in place: nothing to do, a peer's new MAC: the set changed in place, no rule rewritten") {
        const auto table = netcfg::FakeMarksDriver::seenOf(specFor({"52:54:00:00:00:52"}));
        const Plan same = plan(twoBox(), seen("52:54:00:00:00:52", table), Owned{.markTable = true});
        CHECK(marksFindings(same) == 0);
        CHECK_FALSE(marksOp(same));
        const Plan moved = plan(twoBox(), seen("52:54:00:00:00:62", table), Owned{.markTable = true});
        const auto* m = marksOp(moved);
        REQUIRE(m);
        CHECK(m->kind == MarksOp::Kind::Peers);
        CHECK(m->remove == std::set<std::string>{"52:54:00:00:00:52"});
        CHECK(m->add == std::set<std::string>{"52:54:00:00:00:62"});
        CHECK(marksFindings(moved) == 0);  // following the neighbour table is not drift
    }

    TEST_CASE("a rule changed or the chain unhooked behind the agent: drift, the table written whole again") {
        auto table = netcfg::FakeMarksDriver::seenOf(specFor({"52:54:00:00:00:52"}));
        table.rules.clear();
        const Plan p = plan(twoBox(), seen("52:54:00:00:00:52", table), Owned{.markTable = true});
        CHECK(finds(p, FindingKind::MarksChanged));
        REQUIRE(marksOp(p));
        CHECK(marksOp(p)->kind == MarksOp::Kind::Apply);
        table = netcfg::FakeMarksDriver::seenOf(specFor({"52:54:00:00:00:52"}));
        table.hooked = false;
        CHECK(finds(plan(twoBox(), seen("52:54:00:00:00:52", table), Owned{.markTable = true}), FindingKind::MarksChanged));
    }

    TEST_CASE("no longer configured: the agent's table removed (a table already gone is only forgotten), a peer that is this host refused") {
        Observed o = observed();
        o.marks.table = netcfg::FakeMarksDriver::seenOf(specFor({"52:54:00:00:00:52"}));
        const Plan p = plan(desired({"198.51.100.188"}), o, Owned{.markTable = true});
        REQUIRE(marksOp(p));
        CHECK(marksOp(p)->kind == MarksOp::Kind::Remove);
        o.marks.table.reset();
        const Plan q = plan(desired({"198.51.100.188"}), o, Owned{.markTable = true});
        CHECK_FALSE(marksOp(q));
        CHECK(q.forget.markTable);

        Observed local = seen("52:54:00:00:00:52");
        local.kernel.add(netcfg::InterfaceAddress{.ifindex = 2, .address = ip("198.51.100.52"), .prefixlen = 24});
        const Plan r = plan(twoBox(), local, Owned{});
        CHECK(r.hasConflicts());
        CHECK(finds(r, FindingKind::PeerIsThisHost));
    }

    TEST_CASE("the state file keeps the table's ownership (format 6) and reads it back") {
        TempDir dir;
        StateFile f(dir.path);
        Owned o;
        o.markTable = true;
        o.addresses = {ip("198.51.100.188")};
        REQUIRE(f.save(o));
        std::ifstream in(f.path());
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(text.find("\"format\": 6") != std::string::npos);
        auto back = f.load();
        REQUIRE(back);
        CHECK(*back == o);
    }
}

#include "agent/tools/director_config.h"

TEST_SUITE("colocated") {
    TEST_CASE("director-config: a fwmark service with this node and each peer, no plain VIP:port service, the VRRP left to the operator") {
        const Config c = parseConfig(R"({"vips": ["198.51.100.188"], "api": {"listen": "198.51.100.51:9100"},
            "colocated": {"peer_directors": ["198.51.100.52"], "fwmark": 3, "ports": [80, "udp/53"]}})", "cfg.json");
        const auto t = directorTarget(c, "", {}, DirectorFormat::Keepalived);
        REQUIRE(t);
        const std::string k = renderDirectorConfig(c, DirectorFormat::Keepalived, *t);
        CHECK(k.find("virtual_server fwmark 3 {\n    delay_loop 2\n    lb_algo wlc\n    lb_kind DR\n    real_server 198.51.100.51 {  # this node\n") !=
              std::string::npos);
        CHECK(k.find("    real_server 198.51.100.52 {  # a peer director\n") != std::string::npos);
        CHECK(k.find("protocol TCP") == std::string::npos);  // a fwmark service has none
        CHECK(k.find("connect_ip 198.51.100.52\n") != std::string::npos);
        CHECK(k.find("inhibit_on_failure") != std::string::npos);
        CHECK(k.find("virtual_server 198.51.100.188 80") == std::string::npos);  // the loop's way back
        CHECK(k.find("vrrp_instance") != std::string::npos);  // named in the note, left to the operator
        const std::string i = renderDirectorConfig(c, DirectorFormat::Ipvsadm, *t);
        CHECK(i.find("ipvsadm -A -f 3 -s wlc\nipvsadm -a -f 3 -r 198.51.100.51 -g -w 100\nipvsadm -a -f 3 -r 198.51.100.52 -g -w 100\n") !=
              std::string::npos);
        CHECK(i.find("-t 198.51.100.188:80") == std::string::npos);
    }
}

#include <nlohmann/json.hpp>

#include "agent/reconcile/report.h"
#include "agent/tools/doctor.h"
#include "api/metrics.h"

namespace {
bool hasCheck(const std::vector<DoctorCheck>& f, const std::string& check, DoctorCheck::Verdict v, const std::string& needle) {
    return std::any_of(f.begin(), f.end(), [&](const DoctorCheck& x) {
        return x.check == check && x.verdict == v && (x.what + " / " + x.fix).find(needle) != std::string::npos;
    });
}
}  // namespace

TEST_SUITE("colocated") {
    TEST_CASE("report: the table against the configuration and the peers' MACs, the role from the VIP on a real interface") {
        const Desired d = twoBox();
        const auto spec = specFor({"52:54:00:00:00:52"});
        Observed o = seen("52:54:00:00:00:52", netcfg::FakeMarksDriver::seenOf(spec));
        auto r = colocatedReport(d, o);
        CHECK(r.enabled);
        CHECK(r.tableInPlace);
        CHECK(r.marking);
        CHECK(r.activeOn.empty());
        bind(o, "198.51.100.188", 2);  // keepalived's master holds it on eth0
        r = colocatedReport(d, o);
        CHECK(r.activeOn == std::vector<std::string>{"198.51.100.188 on eth0"});
        o = seen("52:54:00:00:00:99", netcfg::FakeMarksDriver::seenOf(spec));  // the peer's MAC moved on
        CHECK_FALSE(colocatedReport(d, o).tableInPlace);
        CHECK_FALSE(colocatedReport(desiredFrom(parseConfig(R"({"vips": ["198.51.100.188"]})", "c")), o).enabled);
    }

    TEST_CASE("doctor: a plain IPVS service for a VIP fails (the loop), the fwmark service, the table, each peer's MAC") {
        using V = DoctorCheck::Verdict;
        DoctorInput in;
        in.config = parseConfig(kTwoBox, "cfg.json");
        in.kernel.links = {{.ifindex = 1, .name = "lo", .up = true, .loopback = true}, {.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
        in.kernel.addresses = {{.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24}};
        in.ipvs = "IP Virtual Server version 1.2.1 (size=4096)\n"
                  "Prot LocalAddress:Port Scheduler Flags\n"
                  "TCP  C63364BC:0050 wlc\n"
                  "FWM  00000003 wlc\n";
        in.colocated = colocatedReport(twoBox(), seen(""));
        auto f = diagnose(in);
        CHECK(hasCheck(f, "colocated-ipvs", V::Fail, "TCP 198.51.100.188:80 is a plain IPVS virtual service"));
        CHECK(hasCheck(f, "colocated-ipvs", V::Fail, "virtual_server fwmark 3"));
        CHECK(std::none_of(f.begin(), f.end(), [](const DoctorCheck& c) { return c.check == "ipvs-director"; }));  // by design here
        CHECK(hasCheck(f, "colocated-marks", V::Fail, "is missing or not as configured"));
        CHECK(hasCheck(f, "colocated-peer", V::Fail, "the peer director 198.51.100.52's MAC is not in the neighbour table"));

        in.ipvs = "FWM  00000003 wlc\n";
        const auto spec = specFor({"52:54:00:00:00:52"});
        in.colocated = colocatedReport(twoBox(), seen("52:54:00:00:00:52", netcfg::FakeMarksDriver::seenOf(spec)));
        f = diagnose(in);
        CHECK(hasCheck(f, "colocated-ipvs", V::Ok, "the fwmark 3 virtual service and no plain one"));
        CHECK(hasCheck(f, "colocated-marks", V::Ok, "marks 3 on the VIPs' packets"));
        CHECK(hasCheck(f, "colocated-peer", V::Ok, "198.51.100.52 is at MAC 52:54:00:00:00:52"));

        in.ipvs.clear();
        in.colocated.error = "Operation not permitted";
        in.config = parseConfig(R"({"vips": ["198.51.100.188"],
            "colocated": {"peer_directors": ["203.0.113.52"], "fwmark": 3, "ports": [80]}})", "cfg.json");
        in.colocated.peers = {{"203.0.113.52", ""}};
        f = diagnose(in);
        CHECK(hasCheck(f, "colocated-ipvs", V::Warn, "IPVS is not loaded on this host"));
        CHECK(hasCheck(f, "colocated-marks", V::Warn, "Operation not permitted"));
        CHECK(hasCheck(f, "colocated-peer", V::Fail, "no address of this host is on the peer director 203.0.113.52's subnet"));
    }

    TEST_CASE("/proc/net/ip_vs: fwmark services, ports, and lines that are not services") {
        const auto s = parseIpvsServices("FWM  0000000A rr\nTCP  C63364BC:01BB wlc\nUDP  [2001:0db8:0000:0000:0000:0000:0000:0188]:0035 rr\n"
                                         "TCP  ZZ:0050 rr\nFWM  00000000 rr\nTCP  C63364BC:FFFFFF rr\n  -> C663643C:0050 Route 1 0 0\n");
        REQUIRE(s.size() == 3);
        CHECK(s[0].fwmark == 10);
        CHECK(s[1].address == ip("198.51.100.188"));
        CHECK(s[1].port == 443);
        CHECK(s[2].address == ip("2001:db8::188"));
        CHECK(s[2].protocol == "UDP");
        CHECK(parseIpvsVirtualAddresses("FWM  00000003 rr\n").empty());
    }

    TEST_CASE("metrics and /status: the table, marking, the role, each peer's MAC and its changes") {
        api::Snapshot s;
        s.server = api::Readiness::readyNow();
        s.colocated = {.enabled = true, .mark = 3, .tableInPlace = true, .marking = false, .error = "",
                       .peers = {{.address = "198.51.100.52", .iface = "eth0", .mac = "", .macChanges = 2, .probes = 5}},
                       .activeOn = {"198.51.100.188 on eth0"}};
        const std::string m = api::renderMetrics(s, 0);
        for (const char* needle : {"lvs_rs_agent_marks_in_place{fwmark=\"3\"} 1\n", "lvs_rs_agent_marks_marking{fwmark=\"3\"} 0\n",
                                   "lvs_rs_agent_active_director 1\n", "lvs_rs_agent_peer_director_mac_known{peer=\"198.51.100.52\"} 0\n",
                                   "# TYPE lvs_rs_agent_peer_director_mac_changes_total counter\n",
                                   "lvs_rs_agent_peer_director_mac_changes_total{peer=\"198.51.100.52\"} 2\n"}) {
            CAPTURE(needle);
            CHECK(m.find(needle) != std::string::npos);
        }
        const auto j = nlohmann::json::parse(s.statusBody());
        CHECK(j["colocated"]["fwmark"] == 3);
        CHECK(j["colocated"]["marking"] == false);
        CHECK(j["colocated"]["active_director"] == true);
        CHECK(j["colocated"]["peers"][0]["mac"].is_null());
        CHECK(j["colocated"]["peers"][0]["mac_changes"] == 2);
        api::Snapshot plain;
        CHECK(api::renderMetrics(plain, 0).find("marks_in_place") == std::string::npos);
        CHECK(nlohmann::json::parse(plain.statusBody())["colocated"].is_null());
    }

    TEST_CASE("VIP ranges: a range is marked as a prefix, the others as addresses") {
        const Config c = parseConfig(R"({"vips": ["198.51.100.188", {"prefix": "203.0.113.0/28"}],
            "colocated": {"peer_directors": ["198.51.100.52"], "fwmark": 3, "ports": [80]}})", "cfg.json");
        const Desired d = desiredFrom(c);
        REQUIRE(d.colocated);
        CHECK(d.colocated->vips == std::vector<netcfg::IpAddress>{ip("198.51.100.188")});
        CHECK(d.colocated->ranges == std::vector<std::pair<netcfg::IpAddress, int>>{{ip("203.0.113.0"), 28}});
        Observed o = seen("52:54:00:00:00:52");
        const Plan p = plan(d, o, Owned{});
        const auto* m = marksOp(p);
        REQUIRE(m);
        CHECK(m->spec.ranges == d.colocated->ranges);
        o.marks.table = netcfg::FakeMarksDriver::seenOf(m->spec);
        CHECK_FALSE(marksOp(plan(d, o, Owned{.markTable = true})));  // in place: nothing to do
    }
}
