#include <doctest/doctest.h>

#include "agent/tools/ini.h"

using namespace agent;

TEST_SUITE("ini") {
    TEST_CASE("sections, trimmed keys and values, line numbers, comments and junk skipped") {
        const auto lines = iniLines(
            "# a comment\n"
            "Top = level\n"
            "[Match]\n"
            "  Name = lo eth*  \r\n"
            "; another\n"
            "no equals sign\n"
            "\n"
            "[Network\n"
            "KeepConfiguration=static\n"
            "Empty=\n");
        REQUIRE(lines.size() == 4);
        CHECK(lines[0] == IniLine{.section = "", .key = "Top", .value = "level", .line = 2});
        CHECK(lines[1] == IniLine{.section = "Match", .key = "Name", .value = "lo eth*", .line = 4});
        CHECK(lines[2] == IniLine{.section = "Network", .key = "KeepConfiguration", .value = "static", .line = 9});
        CHECK(lines[3] == IniLine{.section = "Network", .key = "Empty", .value = "", .line = 10});
        CHECK(iniLines("").empty());
        CHECK(iniLines("[a]\n[b]\n").empty());
    }
}
