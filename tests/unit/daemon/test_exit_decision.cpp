#include <doctest/doctest.h>

#include <chrono>
#include <fstream>

#include "agent/daemon/exit_decision.h"
#include "agent/daemon/handover.h"
#include "temp_dir.h"

using namespace agent;

TEST_SUITE("exit_decision") {
    TEST_CASE("restart or stop, on every input, and a stop when unsure") {
        struct Row {
            std::optional<std::string> job;
            std::optional<double> marker;
            bool handOver;
            const char* why;
        };
        const std::vector<Row> rows{
            {"restart", std::nullopt, true, "systemd is restarting the unit (job restart)"},
            {"try-restart", std::nullopt, true, "systemd is restarting the unit (job try-restart)"},
            {"reload-or-restart", std::nullopt, true, "systemd is restarting the unit (job reload-or-restart)"},
            {"reload-or-try-restart", std::nullopt, true, "systemd is restarting the unit (job reload-or-try-restart)"},
            {"stop", std::nullopt, false, "systemd is stopping the unit (job stop)"},
            {"stop", 3.0, false, "systemd is stopping the unit (job stop)"},  // a known stop beats the marker
            {"", std::nullopt, false, "no job pending for the unit; no hand-over marker, so this is a stop"},
            {"", 3.0, true, "no job pending for the unit; a hand-over marker written 3 s ago"},
            {"start", std::nullopt, false, "job start; no hand-over marker, so this is a stop"},
            {std::nullopt, std::nullopt, false, "systemd's job unknown: no system bus: No such file or directory; no hand-over marker, so this is a stop"},
            {std::nullopt, 0.0, true, "systemd's job unknown: no system bus: No such file or directory; a hand-over marker written 0 s ago"},
            {std::nullopt, kMarkerFreshSeconds, true, "systemd's job unknown: no system bus: No such file or directory; a hand-over marker written 120 s ago"},
            {std::nullopt, kMarkerFreshSeconds + 1, false,
             "systemd's job unknown: no system bus: No such file or directory; the hand-over marker is stale (written 121 s ago), so this is a stop"},
            {std::nullopt, -3.0, true, "systemd's job unknown: no system bus: No such file or directory; a hand-over marker written -3 s ago"},
            {std::nullopt, -60.0, false,
             "systemd's job unknown: no system bus: No such file or directory; the hand-over marker is stale (written -60 s ago), so this is a stop"},
        };
        for (const auto& r : rows) {
            CAPTURE(r.why);
            ExitEvidence e{.jobType = r.job, .jobError = r.job ? "" : "no system bus: No such file or directory", .markerAgeSeconds = r.marker};
            const auto d = decideExit(e);
            CHECK(d.handOver == r.handOver);
            CHECK(d.why == r.why);
        }
        CHECK(decideExit({}).why == "systemd's job unknown: not asked; no hand-over marker, so this is a stop");
    }
}

TEST_SUITE("handover") {
    TEST_CASE("written, taken once, and refused when stale, damaged or of another format") {
        fixtures::TempDir dir{"lvs-handover-"};
        const Handover h{.writtenAtUnix = 1000, .servicesUp = {{"tcp 198.51.100.1:80", true}, {"tcp 198.51.100.2:80", false}},
                         .draining = true, .drainedVips = {"198.51.100.2"}};
        REQUIRE(parseHandover(toText(h)));
        CHECK(*parseHandover(toText(h)) == h);
        REQUIRE(writeHandover(dir.path, h));
        const auto taken = takeHandover(dir.path, 1010);
        REQUIRE(taken.value);
        CHECK(*taken.value == h);
        CHECK_FALSE(taken.warning);
        const auto again = takeHandover(dir.path, 1010);
        CHECK_FALSE(again.value);  // removed once read
        CHECK_FALSE(again.warning);

        REQUIRE(writeHandover(dir.path, h));
        const auto stale = takeHandover(dir.path, 1000 + kHandoverFreshSeconds + 1);
        CHECK_FALSE(stale.value);
        CHECK(stale.warning.value_or("").find("written 301 s ago; starting from the configuration") != std::string::npos);

        CHECK(parseHandover(R"({"format": 2})").error() == "format 2, this version reads 1");
        CHECK(parseHandover(R"({"written_at": 1})").error() == "format missing, this version reads 1");
        CHECK(parseHandover(R"({"format": 1, "written_at": "x", "services_up": {}, "draining": false, "drained_vips": []})").error() ==
              "a field is missing or of the wrong type");
        CHECK(parseHandover("[1]").error() == "not a JSON object");
        CHECK(parseHandover(std::string("{\0}", 3)).error() == "holds a NUL byte");
    }

    TEST_CASE("the restart marker: its age, and read once") {
        fixtures::TempDir dir{"lvs-marker-"};
        CHECK_FALSE(takeRestartMarker(dir.path, 0));
        std::ofstream(dir.path / kRestartMarker) << "";
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        const auto age = takeRestartMarker(dir.path, now + 30);
        REQUIRE(age);
        CHECK(*age > 25);
        CHECK(*age < 35);
        CHECK_FALSE(takeRestartMarker(dir.path, now));
    }
}
