#include <doctest/doctest.h>

#include "agent/daemon/snapshot_board.h"
#include "api/readiness.h"
#include "agent/reconcile/reconciler.h"
#include "fake_world.h"
#include "fixtures.h"

using namespace agent;
using namespace std::chrono_literals;
using fixtures::ip;

namespace {

// A reconciler in incremental mode over a fake kernel, after a first converge.
struct Running {
    fixtures::FakeWorld w;
    Reconciler r;
    std::vector<std::string> log;
    Reconciler::Clock::time_point now = Reconciler::Clock::now();

    explicit Running(std::vector<const char*> vips)
        : r(w.nl, w.tree, w.state, Owned{}, fixtures::desired(std::move(vips))) {
        const auto first = r.converge([this](const std::string& l) { log.push_back(l); }, Reconciler::Verify::Acks);
        REQUIRE(first.ok());
        feed();  // the notifications of its own changes
    }
    // Hands the pending notifications to the reconciler, as the daemon's loop does.
    void feed() {
        auto d = w.events.drain();
        r.onChanges(d.changes);
    }
    Reconciler::Repaired repair(std::chrono::milliseconds later = 0ms) {
        now += later;
        return r.repair(now, true);
    }
};

}  // namespace

TEST_SUITE("reconciler") {
    TEST_CASE("the first pass applies everything, its own notifications cause no work") {
        Running x({"198.51.100.1", "198.51.100.2"});
        CHECK(x.w.bound("198.51.100.1"));
        CHECK(x.w.routed("198.51.100.2"));
        CHECK(x.w.sysctlValue("all", "arp_ignore") == 1);
        CHECK(x.w.nl.dumps == 1);  // verified by the acks, not a second dump
        CHECK_FALSE(x.r.hasDirty());
        CHECK(x.r.findings().empty());
    }

    TEST_CASE("a deleted address is repaired from its event alone: no dump, no other item planned") {
        Running x({"198.51.100.1", "198.51.100.2"});
        const int dumps = x.w.nl.dumps, applied = x.w.nl.applied;
        x.w.nl.removeAddress(1, ip("198.51.100.2"));
        x.feed();
        CHECK(x.r.dirtyCount() == 1);
        const auto out = x.repair();
        REQUIRE(out.changed.size() == 1);
        CHECK(describe(out.changed[0]) == "add 198.51.100.2/32 to lo");
        CHECK(x.w.bound("198.51.100.2"));
        CHECK(x.w.nl.dumps == dumps);
        CHECK(x.w.nl.applied == applied + 1);
        // The repair's own notification confirms it and marks nothing.
        x.feed();
        CHECK_FALSE(x.r.hasDirty());
    }

    TEST_CASE("unrelated changes are ignored cheaply") {
        Running x({"198.51.100.1"});
        x.w.nl.addRoute({.dst = ip("203.0.113.7"), .table = netcfg::kMainTable, .protocol = 4, .oif = 2});
        x.w.nl.addAddress(2, ip("203.0.113.8"), 24);
        x.feed();
        CHECK_FALSE(x.r.hasDirty());
    }

    TEST_CASE("one item that cannot be repaired does not undo or hold back the others") {
        Running x({"198.51.100.1", "2001:db8::10"});
        // IPv6 refused from now on (as with IPv6 disabled on lo).
        x.w.nl.failWhen = [](const std::string& what) -> std::optional<netcfg::NetError> {
            if (what == "add 2001:db8::10/128 to lo") return netcfg::NetError{.code = 11, .err = 13, .message = "add 2001:db8::10/128 to lo: Permission denied"};
            return std::nullopt;
        };
        x.w.nl.removeAddress(1, ip("2001:db8::10"));
        x.w.setSysctl("all", "arp_ignore", 0);
        x.feed();
        x.r.checkSysctls();
        const auto out = x.repair();
        REQUIRE(out.failed.size() == 1);
        CHECK(out.failed[0].second.err == 13);
        CHECK(x.w.sysctlValue("all", "arp_ignore") == 1);  // repaired and kept, not rolled back
        const auto& f = x.r.findings();
        REQUIRE(f.contains(Subject::address(ip("2001:db8::10"))));
        CHECK(fixtures::kinds(f.at(Subject::address(ip("2001:db8::10")))) ==
              std::vector<FindingKind>{FindingKind::AddressMissing, FindingKind::CannotApply});
        CHECK_FALSE(f.contains(Subject::address(ip("198.51.100.1"))));
        CHECK_FALSE(f.contains(Subject::setting({.iface = "all", .name = "arp_ignore"})));
        // It is retried after its own backoff, not before.
        CHECK(x.r.hasDirty());
        CHECK(*x.r.nextRepairAt() >= x.now + 1s);
        CHECK(x.repair(10ms).changed.empty());
        x.w.nl.failWhen = nullptr;
        const auto later = x.repair(1100ms);
        REQUIRE(later.changed.size() == 1);
        CHECK(x.r.findings().empty());
    }

    TEST_CASE("a conflict on one VIP is that VIP's finding only") {
        Running x({"198.51.100.1", "198.51.100.2"});
        x.w.nl.addAddress(2, ip("198.51.100.2"), 24);
        x.feed();
        const auto out = x.repair();
        CHECK(out.changed.empty());
        CHECK(out.findingsChanged == std::set<Subject>{Subject::address(ip("198.51.100.2"))});
        REQUIRE(x.r.findings().size() == 1);
        CHECK(x.r.findings().begin()->second[0].kind == FindingKind::OnRealInterface);

        ReadinessBoard board;
        Config cfg;
        cfg.vips = {{.address = ip("198.51.100.1")}, {.address = ip("198.51.100.2")}};
        DaemonState st;
        st.phase = Phase::Running;
        board.rebuild(cfg, x.r);
        const auto s = board.snapshot(cfg, x.r, {}, st, "t");
        REQUIRE(s->find("198.51.100.1"));
        CHECK(api::vipReady(*s, *s->find("198.51.100.1")));
        CHECK_FALSE(api::vipReady(*s, *s->find("198.51.100.2")));
        CHECK_FALSE(s->ready());  // the aggregate needs every VIP
        CHECK(s->server.reasons.size() == 1);

        // Removing the conflicting address clears the finding from its event.
        x.w.nl.removeAddress(2, ip("198.51.100.2"));
        x.feed();
        x.repair();
        CHECK(x.r.findings().empty());
    }

    TEST_CASE("lost notifications and a change of lo call for a full resync") {
        Running x({"198.51.100.1"});
        x.w.nl.setLinkUp(1, false);  // flushes the route without a notification of its own
        x.feed();
        CHECK(x.r.resyncDue());
        const int dumps = x.w.nl.dumps;
        REQUIRE(x.r.resync());
        CHECK(x.w.nl.dumps == dumps + 1);
        const auto out = x.repair();
        std::vector<std::string> done;
        for (const auto& a : out.changed) done.push_back(describe(a));
        CHECK(done == std::vector<std::string>{"bring lo up", "add route 198.51.100.1/32 dev lo table main"});
        CHECK(x.w.routed("198.51.100.1"));
    }

    TEST_CASE("one setting under dispute is backed off alone") {
        Running x({"198.51.100.1", "198.51.100.2"});
        for (int i = 0; i < 3; ++i) {
            x.w.setSysctl("all", "arp_announce", 0);
            x.r.checkSysctls();
            x.repair(1ms);
        }
        CHECK(x.r.damper().fighting());
        x.w.setSysctl("all", "arp_announce", 0);
        x.r.checkSysctls();
        x.w.nl.removeAddress(1, ip("198.51.100.1"));
        x.feed();
        const auto out = x.repair(1ms);
        REQUIRE(out.changed.size() == 1);  // the VIP at once, the setting later
        CHECK(describe(out.changed[0]) == "add 198.51.100.1/32 to lo");
        CHECK(x.w.sysctlValue("all", "arp_announce") == 0);
        CHECK(x.r.hasDirty());
        x.repair(200ms);
        CHECK(x.w.sysctlValue("all", "arp_announce") == 2);
    }

    TEST_CASE("repairs of owned items leave the state file alone, a new ownership is written") {
        Running x({"198.51.100.1"});
        const auto before = std::filesystem::last_write_time(x.w.state.path());
        std::filesystem::remove(x.w.state.path());
        x.w.nl.removeAddress(1, ip("198.51.100.1"));
        x.feed();
        x.repair();
        CHECK(x.w.bound("198.51.100.1"));
        CHECK_FALSE(std::filesystem::exists(x.w.state.path()));
        (void)before;
    }

    TEST_CASE("start refuses on a conflict and changes nothing, stop undoes only what is owned") {
        fixtures::FakeWorld w;
        w.nl.addAddress(2, ip("198.51.100.9"), 32);
        Reconciler start(w.nl, w.tree, w.state, Owned{}, fixtures::desired({"198.51.100.1", "198.51.100.9"}));
        const auto r = start.converge(nullptr, Reconciler::Verify::Dump);
        CHECK(r.outcome == Reconciler::PassResult::Outcome::Refused);
        REQUIRE(r.conflicts.size() == 1);
        CHECK(r.conflicts[0].subject == Subject::address(ip("198.51.100.9")));
        CHECK_FALSE(w.bound("198.51.100.1"));
        CHECK(w.sysctlValue("all", "arp_ignore") == 0);
    }
}
