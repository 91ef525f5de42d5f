#include <doctest/doctest.h>

#include "agent/daemon/drain_set.h"
#include "fixtures.h"

using namespace agent;
using fixtures::ip;

namespace {

Config configOf(std::vector<const char*> vips, std::vector<const char*> drained = {}) {
    Config c;
    for (auto* v : vips) c.vips.push_back(ip(v));
    for (auto* v : drained) c.drained.insert(ip(v));
    return c;
}

std::set<netcfg::IpAddress> wanted(const Config& c) { return {c.vips.begin(), c.vips.end()}; }

}  // namespace

TEST_SUITE("drain_set") {
    TEST_CASE("the configuration's drains, then requests checked against the configuration") {
        const Config cfg = configOf({"198.51.100.1", "198.51.100.2", "2001:db8::1"}, {"198.51.100.2"});
        DrainSet d(cfg);
        CHECK(*d.shared() == std::set<std::string>{"198.51.100.2"});
        const auto before = d.shared();
        const auto lines = d.apply({{"198.51.100.1", true}, {"203.0.113.9", true}, {"198.51.100.2", false}, {"198.51.100.1", true}},
                                   wanted(cfg));
        CHECK(*d.shared() == std::set<std::string>{"198.51.100.1"});
        REQUIRE(lines.size() == 3);  // the repeat says nothing
        CHECK(lines[0].text == "draining VIP 198.51.100.1: /ready/198.51.100.1 answers 503, the VIP stays bound");
        CHECK(lines[1].priority == Priority::Warning);
        CHECK(lines[1].text == "drain of 203.0.113.9 ignored: not a VIP of the configuration (any more)");
        CHECK(lines[2].text == "undrained VIP 198.51.100.2: its readiness follows the checks again");
        // Replaced, never changed in place: a published snapshot keeps what it had.
        CHECK(*before == std::set<std::string>{"198.51.100.2"});
        // Not canonical text, or not an address at all: not a VIP.
        CHECK(d.apply({{"2001:0db8::1", true}, {"lo", true}}, wanted(cfg)).size() == 2);
        CHECK(*d.shared() == std::set<std::string>{"198.51.100.1"});
        CHECK(d.apply({}, wanted(cfg)).empty());
    }

    TEST_CASE("a reload: the file's changes applied, runtime drains kept, removed VIPs forgotten") {
        const Config before = configOf({"198.51.100.1", "198.51.100.2", "198.51.100.3"}, {"198.51.100.2"});
        DrainSet d(before);
        d.apply({{"198.51.100.3", true}, {"198.51.100.1", true}}, wanted(before));
        const Config next = configOf({"198.51.100.1", "198.51.100.2", "198.51.100.4"}, {"198.51.100.4"});
        const auto lines = d.carryOver(before, next);
        CHECK(*d.shared() == std::set<std::string>{"198.51.100.1", "198.51.100.4"});
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].text == "reload: VIP 198.51.100.4 drained by the configuration");
        CHECK(lines[1].text == "reload: VIP 198.51.100.2 no longer drained by the configuration");
    }
}
