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
