#include <doctest/doctest.h>

#include "agent/daemon/drain_set.h"
#include "fixtures.h"

using namespace agent;
using fixtures::ip;

namespace {

Config configOf(std::vector<const char*> vips, std::vector<const char*> drained = {}) {
    Config c;
    for (auto* v : vips) c.vips.push_back({.address = ip(v)});
    for (auto* v : drained)
        for (auto& x : c.vips)
            if (x.address == ip(v)) x.drained = true;
    return c;
}

std::set<netcfg::IpAddress> wanted(const Config& c) {
    const auto a = c.addresses();
    return {a.begin(), a.end()};
}

// A drain as the daemon starts one (its timing is not what these tests look at).
api::Drain start(double now) { return {.sinceUnix = now}; }

std::set<std::string> names(const api::Snapshot::Drains& d) {
    std::set<std::string> out;
    for (const auto& [v, x] : d) out.insert(v);
    return out;
}

}  // namespace

TEST_SUITE("drain_set") {
    TEST_CASE("the configuration's drains, then requests checked against the configuration") {
        const Config cfg = configOf({"198.51.100.1", "198.51.100.2", "2001:db8::1"}, {"198.51.100.2"});
        DrainSet d(cfg, 0, start);
        CHECK(names(*d.shared()) == std::set<std::string>{"198.51.100.2"});
        const auto before = d.shared();
        const auto lines = d.apply({{"198.51.100.1", true}, {"203.0.113.9", true}, {"198.51.100.2", false}, {"198.51.100.1", true}},
                                   wanted(cfg), 0, start);
        CHECK(names(*d.shared()) == std::set<std::string>{"198.51.100.1"});
        REQUIRE(lines.size() == 3);  // the repeat says nothing
        CHECK(lines[0].text == "draining VIP 198.51.100.1: /ready/198.51.100.1 answers 503, the VIP stays bound");
        CHECK(lines[1].priority == Priority::Warning);
        CHECK(lines[1].text == "drain of 203.0.113.9 ignored: not a VIP of the configuration (any more)");
        CHECK(lines[2].text == "undrained VIP 198.51.100.2: its readiness follows the checks again");
        // Replaced, never changed in place: a published snapshot keeps what it had.
        CHECK(names(*before) == std::set<std::string>{"198.51.100.2"});
        // Not canonical text, or not an address at all: not a VIP.
        CHECK(d.apply({{"2001:0db8::1", true}, {"lo", true}}, wanted(cfg), 0, start).size() == 2);
        CHECK(names(*d.shared()) == std::set<std::string>{"198.51.100.1"});
        CHECK(d.apply({}, wanted(cfg), 0, start).empty());
    }

    TEST_CASE("a reload: the file's changes applied, runtime drains kept, removed VIPs forgotten") {
        const Config before = configOf({"198.51.100.1", "198.51.100.2", "198.51.100.3"}, {"198.51.100.2"});
        DrainSet d(before, 0, start);
        d.apply({{"198.51.100.3", true}, {"198.51.100.1", true}}, wanted(before), 0, start);
        const Config next = configOf({"198.51.100.1", "198.51.100.2", "198.51.100.4"}, {"198.51.100.4"});
        const auto lines = d.carryOver(before, next, 0, start);
        CHECK(names(*d.shared()) == std::set<std::string>{"198.51.100.1", "198.51.100.4"});
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].text == "reload: VIP 198.51.100.4 drained by the configuration");
        CHECK(lines[1].text == "reload: VIP 198.51.100.2 no longer drained by the configuration");
    }
}
