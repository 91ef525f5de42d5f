#include <doctest/doctest.h>

#include "agent/reconcile/report.h"
#include "fixtures.h"

using namespace fixtures;
using namespace agent;

namespace {
// The report of what `status` sees: the plan's findings over the observed state.
ReadinessReport reportOf(const Desired& d, const Observed& o, const Owned& owned) {
    return buildReport(d, o, owned, plan(d, o, owned).findings);
}
std::vector<std::string> problems(const ReadinessReport& r) {
    std::vector<std::string> out;
    for (const auto& f : r.findings) out.push_back(describe(f));
    return out;
}
}  // namespace

TEST_SUITE("report") {
    TEST_CASE("in place") {
        Observed o = observed();
        bind(o, "198.51.100.188");
        route(o, "198.51.100.188");
        arpDone(o);
        Owned owned;
        owned.addresses.insert(ip("198.51.100.188"));
        const auto r = reportOf(desired({"198.51.100.188"}), o, owned);
        CHECK(r.inPlace());
        CHECK(r.vips[0].addressOwned);
        CHECK_FALSE(r.vips[0].routeOwned);
        const std::string text = renderText(r, false);
        CHECK(text.find("address 198.51.100.188/32 on lo: ok (added by the agent)") != std::string::npos);
        CHECK(text.find("result: everything in place") != std::string::npos);
        CHECK(toJson(r)["in_place"] == true);
    }

    TEST_CASE("each missing or wrong thing is named") {
        Observed o = observed(false);
        o.sysctls[{.iface = "all", .name = "arp_announce"}] = 2;
        o.sysctls[{.iface = "lo", .name = "arp_announce"}] = 0;
        const auto r = reportOf(desired({"198.51.100.188"}), o, Owned{});
        CHECK_FALSE(r.inPlace());
        const auto p = problems(r);
        auto has = [&](const std::string& s) { return std::find(p.begin(), p.end(), s) != p.end(); };
        CHECK(has("lo is down"));
        CHECK(has("198.51.100.188/32 is not bound on lo"));
        CHECK(has("host route 198.51.100.188/32 dev lo is missing from table main"));
        CHECK(has("net.ipv4.conf.all.arp_ignore is 0, expected 1"));
        CHECK(has("net.ipv4.conf.lo.arp_announce is 0, expected 2"));
        // lo's effective arp_announce is max(all=2, lo=0) = 2
        const auto lo = std::find_if(r.sysctls.begin(), r.sysctls.end(),
                                     [](const auto& s) { return s.key.iface == "lo" && s.key.name == "arp_announce"; });
        REQUIRE(lo != r.sysctls.end());
        REQUIRE(lo->effective.has_value());
        CHECK(*lo->effective == 2);
        CHECK(toJson(r)["problems"].size() == p.size());
    }

    TEST_CASE("a VIP also bound on a real interface is a problem, --all lists unmanaged addresses") {
        Observed o = observed();
        arpDone(o);
        bind(o, "198.51.100.188");
        route(o, "198.51.100.188");
        bind(o, "198.51.100.188", 2);
        bind(o, "203.0.113.9");
        const auto r = reportOf(desired({"198.51.100.188"}), o, Owned{});
        CHECK_FALSE(r.inPlace());
        REQUIRE(r.findings.size() == 1);
        CHECK(r.findings[0].kind == FindingKind::OnRealInterface);
        CHECK(r.vips[0].findings == r.findings);  // the VIP's own
        CHECK(describe(r.findings[0]).find("198.51.100.188 is also an address of eth0, which answers ARP for it") == 0);
        CHECK(r.unmanaged == std::vector<std::string>{"203.0.113.9/32"});
        CHECK(renderText(r, true).find("  203.0.113.9/32") != std::string::npos);
    }

    TEST_CASE("a permission error makes the verdict unknown") {
        Observed o = observed();
        o.sysctls.erase({.iface = "lo", .name = "arp_ignore"});
        o.sysctlErrors[{.iface = "lo", .name = "arp_ignore"}] = {.err = EACCES, .message = "reading net.ipv4.conf.lo.arp_ignore: Permission denied"};
        const auto r = reportOf(desired({"198.51.100.188"}), o, Owned{});
        CHECK(r.unknown);
        CHECK_FALSE(r.inPlace());
    }
}
