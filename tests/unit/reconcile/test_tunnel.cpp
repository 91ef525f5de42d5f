// The tunnel's decapsulation as items of the reconciler, on FakeTunnelDriver: what is
// attached and where, what the agent owns (its filters, the clsact qdisc only where it
// made it), repairs, refusals, reloads that change only the maps, and the config.
#include <doctest/doctest.h>

#include "agent/config/config.h"
#include "agent/reconcile/reconciler.h"
#include "fake_world.h"
#include "support/fake_tunnel_driver.h"
#include "fixtures.h"

using namespace agent;
using namespace std::chrono_literals;
using fixtures::ip;

namespace {

const char* kConfig = R"({"vips": ["198.51.100.1", "2001:db8::1", {"prefix": "198.18.0.0/24"}],
    "tunnel": {"interfaces": ["eth0"], "encap": ["ipip", "gue"], "gue_port": 6080,
               "directors": ["198.51.100.50", "2001:db8::50"]}})";

Desired tunnelDesired(const char* text = kConfig) { return desiredFrom(parseConfig(text, "cfg.json")); }

struct World {
    fixtures::FakeWorld w;
    tunnel::FakeTunnelDriver driver;
    std::vector<std::string> log;
    LogLine logLine() {
        return [this](const std::string& l) { log.push_back(l); };
    }
    World() {
        driver.interfaces = {1, 2};
        w.nl.state.links[1].mtu = 1500;
    }
    Reconciler reconciler(Desired d, Owned owned = {}) {
        return Reconciler(w.nl, w.tree, w.state, std::move(owned), std::move(d), &driver);
    }
    Owned saved() const { return w.state.load().value(); }
};

bool hasFinding(const std::vector<Finding>& fs, FindingKind k) {
    for (const auto& f : fs)
        if (f.kind == k) return true;
    return false;
}

}  // namespace

TEST_SUITE("tunnel") {
    TEST_CASE("config: the tunnel section, with IPIP by default and the MSS left to the MTU") {
        const auto cfg = parseConfig(kConfig, "cfg.json");
        REQUIRE(cfg.tunnel.enabled());
        CHECK(cfg.tunnel.interfaces == std::vector<std::string>{"eth0"});
        CHECK(cfg.tunnel.ipip);
        CHECK(cfg.tunnel.gue);
        CHECK(cfg.tunnel.guePort == 6080);
        CHECK(cfg.tunnel.directors.size() == 2);
        CHECK(cfg.tunnel.mss == 0);
        const auto plain = parseConfig(R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "directors": ["198.51.100.50"]}})", "c");
        CHECK(plain.tunnel.ipip);
        CHECK_FALSE(plain.tunnel.gue);
        CHECK_FALSE(parseConfig(R"({"vips": ["198.51.100.1"]})", "c").tunnel.enabled());
        // The derived MSS: IPv4 IPIP 1500 - 60; GUE adds 8 + 4 (UDP, GUE header); IPv6 directors 40 + 40 + 20.
        CHECK(tunnelMss(plain.tunnel, 1500) == 1440);
        CHECK(tunnelMss(cfg.tunnel, 1500) == 1388);
        CHECK(tunnelMss(plain.tunnel, 9000) == 8940);
        CHECK(tunnelMss(plain.tunnel, 0) == 1440);  // not known: 1500
    }

    TEST_CASE("desired: the exact VIPs and the directors in the maps, ranges are not (served as DR)") {
        const Desired d = tunnelDesired();
        REQUIRE(d.tunnel);
        CHECK(d.tunnel->maps.vips == std::set<netcfg::IpAddress>{ip("198.51.100.1"), ip("2001:db8::1")});
        CHECK(d.tunnel->maps.directors == std::set<netcfg::IpAddress>{ip("198.51.100.50"), ip("2001:db8::50")});
        CHECK(d.tunnel->maps.settings.guePort == 6080);
        CHECK(d.tunnel->mssOverhead == 112);
    }

    TEST_CASE("start: maps set, then both hooks attached, the agent owns its filters and the clsact it created") {
        World t;
        auto r = t.reconciler(tunnelDesired());
        const auto result = r.converge(t.logLine(), Reconciler::Verify::Dump);
        REQUIRE(result.ok());
        CHECK(t.driver.attaches == 1);
        CHECK(t.driver.syncs == 1);
        CHECK(t.driver.hooks[2].ours[0]);
        CHECK(t.driver.hooks[2].ours[1]);
        REQUIRE(t.driver.program);
        CHECK(t.driver.program->vips.size() == 2);
        CHECK(t.driver.program->settings.mss == 1388);  // from eth0's MTU
        CHECK(t.saved().tunnelHooks == std::map<std::string, bool>{{"eth0", true}});
        CHECK(t.w.bound("198.51.100.1"));
        // The order: the VIP bound before anything is decapsulated for it.
        std::size_t bind = 99, attach = 99;
        for (std::size_t i = 0; i < t.log.size(); ++i) {
            if (t.log[i].find("198.51.100.1/32") != std::string::npos && bind == 99) bind = i;
            if (t.log[i].find("attached to eth0") != std::string::npos) attach = i;
        }
        CHECK(bind < attach);
        CHECK(r.allFindings().empty());
        // A second start changes nothing.
        auto again = t.reconciler(tunnelDesired(), t.saved());
        REQUIRE(again.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        CHECK(t.driver.attaches == 1);
    }

    TEST_CASE("stop: only the agent's filters go, a clsact qdisc it found, and others' filters on it, stay") {
        World t;
        t.driver.hooks[2] = {.clsact = true, .others = 1};
        auto r = t.reconciler(tunnelDesired());
        REQUIRE(r.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        CHECK(t.saved().tunnelHooks == std::map<std::string, bool>{{"eth0", false}});
        auto stop = t.reconciler(nothingDesired(), t.saved());
        REQUIRE(stop.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        REQUIRE(t.driver.hooks.contains(2));
        CHECK(t.driver.hooks[2].clsact);
        CHECK(t.driver.hooks[2].others == 1);
        CHECK_FALSE(t.driver.hooks[2].ours[0]);
        CHECK_FALSE(t.driver.hooks[2].ours[1]);
        CHECK_FALSE(std::filesystem::exists(t.w.state.path()));  // nothing owned any more
    }

    TEST_CASE("stop: the clsact qdisc the agent created goes with its filters") {
        World t;
        auto r = t.reconciler(tunnelDesired());
        REQUIRE(r.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        auto stop = t.reconciler(nothingDesired(), t.saved());
        REQUIRE(stop.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        CHECK_FALSE(t.driver.hooks.contains(2));
    }

    TEST_CASE("a kernel that refuses the program: start refuses before changing anything") {
        World t;
        t.driver.loadError = "loading the tunnel program into the kernel: Operation not permitted";
        auto r = t.reconciler(tunnelDesired());
        const auto result = r.converge(t.logLine(), Reconciler::Verify::Dump);
        REQUIRE(result.outcome == Reconciler::PassResult::Outcome::Refused);
        REQUIRE(hasFinding(result.conflicts, FindingKind::TunnelUnsupported));
        CHECK(describe(result.conflicts[0]).find("Operation not permitted") != std::string::npos);
        CHECK_FALSE(t.w.bound("198.51.100.1"));
        CHECK(t.driver.attaches == 0);
        CHECK(t.w.sysctlValue("all", "arp_ignore") == 0);
    }

    TEST_CASE("an interface that does not exist is a conflict naming it") {
        World t;
        auto r = t.reconciler(tunnelDesired(R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth9"], "directors": ["198.51.100.50"]}})"));
        const auto result = r.converge(t.logLine(), Reconciler::Verify::Dump);
        REQUIRE(result.outcome == Reconciler::PassResult::Outcome::Refused);
        REQUIRE(hasFinding(result.conflicts, FindingKind::TunnelNoInterface));
        CHECK(describe(result.conflicts[0]) == "interface eth9 (tunnel.interfaces) does not exist: nothing is decapsulated there");
    }

    TEST_CASE("a failing attach rolls the whole start back") {
        World t;
        t.driver.attachError = "attaching lvs_decap (clsact ingress) on eth0: Invalid argument";
        auto r = t.reconciler(tunnelDesired());
        const auto result = r.converge(t.logLine(), Reconciler::Verify::Dump);
        REQUIRE(result.outcome == Reconciler::PassResult::Outcome::Failed);
        CHECK(result.error.find("Invalid argument") != std::string::npos);
        CHECK_FALSE(t.w.bound("198.51.100.1"));
        CHECK(t.saved().empty());
    }

    TEST_CASE("run: a removed filter is seen on the next check, keeps the VIPs from ready, and is attached again") {
        World t;
        auto r = t.reconciler(tunnelDesired());
        REQUIRE(r.converge(t.logLine(), Reconciler::Verify::Acks).ok());
        r.checkTunnel();
        CHECK_FALSE(r.hasDirty());  // nothing changed
        t.driver.hooks[2].ours[0] = false;  // `tc filter del dev eth0 ingress ...`
        r.checkTunnel();
        REQUIRE(r.hasDirty());
        const auto done = r.repair(Reconciler::Clock::now(), true);
        REQUIRE(done.changed.size() == 1);
        CHECK(describe(done.changed[0]) == "attach the tunnel decapsulation to eth0 (clsact ingress and egress)");
        CHECK(t.driver.hooks[2].ours[0]);
        CHECK(t.driver.attaches == 2);
        // While it was missing, the finding concerned every VIP.
        const Finding f{.subject = Subject::tunnel("eth0"), .kind = FindingKind::TunnelNotAttached, .other = "eth0"};
        CHECK(concerns(f, ip("198.51.100.1")));
        CHECK(describe(f).find("not attached on eth0") != std::string::npos);
        CHECK_FALSE(isConflict(f.kind));
    }

    TEST_CASE("reload: VIPs and directors change in the maps only, nothing is attached again") {
        World t;
        auto r = t.reconciler(tunnelDesired());
        REQUIRE(r.converge(t.logLine(), Reconciler::Verify::Acks).ok());
        r.setDesired(tunnelDesired(R"({"vips": ["198.51.100.1", "198.51.100.2"],
            "tunnel": {"interfaces": ["eth0"], "directors": ["198.51.100.51"], "mss": 1300}})"));
        r.repair(Reconciler::Clock::now(), false);
        CHECK(t.driver.attaches == 1);
        REQUIRE(t.driver.program);
        CHECK(t.driver.program->vips == std::set<netcfg::IpAddress>{ip("198.51.100.1"), ip("198.51.100.2")});
        CHECK(t.driver.program->directors == std::set<netcfg::IpAddress>{ip("198.51.100.51")});
        CHECK(t.driver.program->settings.mss == 1300);
        CHECK_FALSE(t.driver.program->settings.gue);
        // A reload that drops the tunnel detaches it.
        r.setDesired(tunnelDesired(R"({"vips": ["198.51.100.1"]})"));
        r.repair(Reconciler::Clock::now(), false);
        CHECK_FALSE(t.driver.hooks.contains(2));
        CHECK(r.owned().tunnelHooks.empty());
    }

    TEST_CASE("an older run's filters are taken up with their program, not attached again") {
        World t;
        t.driver.hooks[2] = {.clsact = true, .ours = {true, true}};
        t.driver.attachedProgram = tunnelDesired().tunnel->maps;  // what that run set
        t.driver.attachedProgram->settings.mss = 1388;
        Owned owned;
        owned.tunnelHooks = {{"eth0", true}};
        auto r = t.reconciler(tunnelDesired(), owned);
        REQUIRE(r.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        CHECK(t.driver.attaches == 0);
        CHECK(t.driver.syncs == 0);
    }

    TEST_CASE("stop --vip and start --vip leave the tunnel as it is") {
        World t;
        auto r = t.reconciler(tunnelDesired());
        REQUIRE(r.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        auto dropOne = t.reconciler(ownedWithout(t.saved(), {ip("198.51.100.1")}), t.saved());
        REQUIRE(dropOne.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        CHECK(t.driver.hooks[2].ours[0]);
        CHECK(t.driver.detaches == 0);
        CHECK(t.saved().tunnelHooks.contains("eth0"));
        auto addOne = t.reconciler(addedTo(fixtures::desired({"198.51.100.9"}), t.saved()), t.saved());
        REQUIRE(addOne.converge(t.logLine(), Reconciler::Verify::Dump).ok());
        CHECK(t.driver.detaches == 0);
        CHECK(t.driver.attaches == 1);
    }

    TEST_CASE("the state file keeps the hooks (format 4) and reads them back") {
        fixtures::FakeWorld w;
        Owned o;
        o.tunnelHooks = {{"eth0", true}, {"eth1", false}};
        o.addresses.insert(ip("198.51.100.1"));
        REQUIRE(w.state.save(o));
        const auto back = w.state.load();
        REQUIRE(back);
        CHECK(*back == o);
        std::ifstream in(w.state.path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::erase_if(text, [](char c) { return c == ' ' || c == '\n'; });
        CHECK(text.find("\"format\":4") != std::string::npos);
        CHECK(text.find("\"created_clsact\":true") != std::string::npos);
    }
}
