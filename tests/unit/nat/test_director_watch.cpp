// The NAT director kept known: its neighbour entry managed, probed once nothing confirmed
// it for a second, unreachable after 3 s without an answer or when the entry fails, a new
// MAC logged and counted, static entries left alone, everything let go at exit.
#include <doctest/doctest.h>

#include <linux/neighbour.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "agent/reconcile/director_watch.h"
#include "api/readiness.h"
#include "fixtures.h"
#include "support/fake_netlink.h"

using namespace fixtures;
using namespace agent;
using namespace std::chrono_literals;

namespace {

Desired natTo(std::vector<const char*> directors) {
    Desired d;
    d.nat = NatDesired{.directors = {}, .ports = {{6, 8080}}, .table = 201, .priority = 1000};
    for (auto* s : directors) d.nat->directors.push_back(ip(s));
    return d;
}

KernelView facing() {
    KernelView k;
    k.setLink({.ifindex = 2, .name = "eth0", .up = true, .loopback = false});
    k.add(netcfg::InterfaceAddress{.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24});
    return k;
}

netcfg::Neighbour entry(int state, const char* mac, double confirmedAgo, bool managed = true) {
    return {.state = state, .mac = mac, .managed = managed, .confirmedAgo = confirmedAgo};
}

bool has(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

const auto kDir = ip("198.51.100.50");

// One director (198.51.100.50 on eth0) followed, its entry as given (none: no entry yet).
struct Watched {
    netcfg::FakeNetlink nl;
    DirectorWatch w;
    DirectorWatch::Clock::time_point t0 = DirectorWatch::Clock::now();
    explicit Watched(std::optional<netcfg::Neighbour> e = std::nullopt) {
        if (e) nl.neighbours[{2, kDir}] = *e;
        w.follow(nl, natTo({"198.51.100.50"}), facing());
    }
    std::vector<std::string> step(std::chrono::milliseconds at = 0ms) { return w.step(nl, t0 + at); }
    const DirectorStatus& st() const { return w.status()[0]; }
    netcfg::Neighbour& entry() { return nl.neighbours[{2, kDir}]; }
};

}  // namespace

TEST_SUITE("nat") {
    TEST_CASE("director watch: no entry yet -> managed (the kernel resolves it), unreachable once 3 s pass unresolved") {
        Watched x;
        CHECK(x.step().empty());
        CHECK(x.nl.neighbourChanges == std::vector<std::string>{"manage 198.51.100.50"});
        CHECK(x.st().reach == DirectorStatus::Reach::Unknown);
        CHECK(x.st().why.find("resolving its MAC on eth0") != std::string::npos);
        const auto lines = x.step(3100ms);
        CHECK(x.st().reach == DirectorStatus::Reach::Unreachable);
        CHECK(has(lines, "NAT director 198.51.100.50 is unreachable: it has not answered ARP on eth0"));
        CHECK(x.step(3200ms).empty());  // said once
    }

    TEST_CASE("director watch: confirmed recently -> reachable, nothing sent, a second without confirmation -> probed, then managed again") {
        Watched x(entry(NUD_REACHABLE, "52:54:00:00:00:50", 0.2));
        CHECK(has(x.step(), "NAT director 198.51.100.50 is reachable (MAC 52:54:00:00:00:50 on eth0, kept resolved by the kernel)"));
        CHECK(x.nl.neighbourChanges.empty());
        CHECK(x.st().reachable());

        x.entry().confirmedAgo = 1.5;
        x.entry().state = NUD_STALE;
        CHECK(x.step(1000ms).empty());
        // the probe cleared the flag: managed again
        CHECK(x.nl.neighbourChanges == std::vector<std::string>{"probe 198.51.100.50", "manage 198.51.100.50"});
        CHECK(x.entry().managed);
        CHECK(x.st().probes == 1);
        CHECK(x.st().reachable());  // 1.5 s: not yet suspicious
    }

    TEST_CASE("director watch: unanswered probes -> unreachable within the probe's 2 s, reachable again on an answer") {
        Watched x(entry(NUD_REACHABLE, "52:54:00:00:00:50", 1.2));
        x.step();  // probed
        CHECK(x.st().probes == 1);
        x.entry().confirmedAgo = 3.2;  // no answer since
        x.step(1000ms);
        CHECK(x.st().reach == DirectorStatus::Reach::Unknown);  // the probe has had 1 s only
        CHECK(x.st().why.find("verifying") != std::string::npos);
        const auto lines = x.step(2100ms);
        CHECK(x.st().reach == DirectorStatus::Reach::Unreachable);
        CHECK(has(lines, "is unreachable: it has not answered ARP for 3 s or more"));
        x.entry() = entry(NUD_REACHABLE, "52:54:00:00:00:50", 0.0);
        CHECK(has(x.step(2500ms), "is reachable again"));
    }

    TEST_CASE("director watch: a failed entry is unreachable at once and resolved again") {
        Watched x(entry(NUD_FAILED, "", 0, true));
        CHECK(has(x.step(), "it does not answer ARP on eth0"));
        CHECK(x.st().reach == DirectorStatus::Reach::Unreachable);
        CHECK(x.nl.neighbourChanges == std::vector<std::string>{"manage 198.51.100.50"});
    }

    TEST_CASE("director watch: a new MAC (a failover) is logged and counted") {
        Watched x(entry(NUD_REACHABLE, "52:54:00:00:00:50", 0.1));
        x.step();
        x.entry().mac = "52:54:00:00:00:51";
        CHECK(has(x.step(100ms), "answers from a new MAC: 52:54:00:00:00:50 -> 52:54:00:00:00:51"));
        CHECK(x.st().macChanges == 1);
        CHECK(x.st().mac == "52:54:00:00:00:51");
        CHECK(x.step(200ms).empty());
    }

    TEST_CASE("director watch: a static entry is reachable and never touched, release lets go of managed entries only") {
        netcfg::FakeNetlink nl;
        nl.neighbours[{2, kDir}] = entry(NUD_PERMANENT, "52:54:00:00:00:50", 600, false);
        nl.neighbours[{2, ip("2001:db8::50")}] = entry(NUD_REACHABLE, "52:54:00:00:00:50", 0.1, true);
        KernelView k = facing();
        k.add(netcfg::InterfaceAddress{.ifindex = 2, .address = ip("2001:db8::60"), .prefixlen = 64});
        DirectorWatch w;
        w.follow(nl, natTo({"198.51.100.50", "2001:db8::50"}), k);
        w.step(nl, DirectorWatch::Clock::now());
        CHECK(w.find(AF_INET)->reachable());
        CHECK(w.find(AF_INET)->isStatic);
        CHECK(nl.neighbourChanges.empty());
        w.release(nl);
        CHECK(nl.neighbourChanges == std::vector<std::string>{"release 2001:db8::50"});
        CHECK(nl.neighbours[{2, kDir}].state == NUD_PERMANENT);
        CHECK_FALSE(nl.neighbours[{2, ip("2001:db8::50")}].managed);
    }

    TEST_CASE("director watch: no address facing the director -> unreachable, said, a director no longer wanted is released") {
        netcfg::FakeNetlink nl;
        DirectorWatch w;
        w.follow(nl, natTo({"192.0.2.50"}), facing());
        w.step(nl, DirectorWatch::Clock::now());
        CHECK(w.status()[0].reach == DirectorStatus::Reach::Unreachable);
        CHECK(w.status()[0].why == "no address of this host is on its subnet");

        nl.neighbours[{2, kDir}] = entry(NUD_REACHABLE, "52:54:00:00:00:50", 0.1);
        w.follow(nl, natTo({"198.51.100.50"}), facing());
        w.step(nl, DirectorWatch::Clock::now());
        nl.neighbourChanges.clear();
        w.follow(nl, Desired{}, facing());  // NAT removed by a reload
        CHECK(w.status().empty());
        CHECK(nl.neighbourChanges == std::vector<std::string>{"release 198.51.100.50"});
    }

    TEST_CASE("readiness of a NAT VIP: its family's path and director, its services, not the other family's, not ARP settings") {
        api::Snapshot s;
        s.nat.enabled = true;
        s.nat.vips = {{.vip = "203.0.113.188", .family = AF_INET}, {.vip = "2001:db8:c::188", .family = AF_INET6}};
        s.nat.directors = {{.family = AF_INET, .address = "198.51.100.50", .reachable = false, .why = "it does not answer ARP on eth0"},
                           {.family = AF_INET6, .address = "2001:db8:5::50", .reachable = true}};
        s.commonFindings.push_back({.subject = "net.ipv4.conf.all.arp_ignore", .kind = "wrong_value", .message = "arp_ignore is 0"});
        const auto v4 = api::natVipReadiness(s, s.nat.vips[0]);
        CHECK_FALSE(v4.ready());
        REQUIRE(v4.reasons.size() == 1);
        CHECK(api::describe(v4.reasons[0]) == "NAT director 198.51.100.50 is not reachable: it does not answer ARP on eth0");
        CHECK(api::natVipReadiness(s, s.nat.vips[1]).ready());
        // The whole server: the DR part's finding and the NAT director both.
        const auto all = api::serverReadiness(s);
        CHECK(all.reasons.size() == 2);
        s.services.push_back({.name = "http 2001:db8:c::188:8080/", .vip = "2001:db8:c::188", .up = false, .lastError = "refused", .checked = true});
        CHECK_FALSE(api::natVipReadiness(s, s.nat.vips[1]).ready());
        s.nat.findings[AF_INET6].push_back({.subject = "nat ipv6", .kind = "nat_rule_missing", .message = "rule missing"});
        CHECK(api::natVipReadiness(s, s.nat.vips[1]).reasons.size() == 2);
        CHECK(api::natVipReadiness(s, s.nat.vips[0]).reasons.size() == 1);
    }
}
