#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "agent/base/text_file.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using agent::readLimited;

using fixtures::TempDir;

TEST_SUITE("text_file") {
    TEST_CASE("a regular file within the limit is read whole") {
        TempDir dir;
        std::ofstream(dir.path / "a") << "hello\n";
        CHECK(readLimited((dir.path / "a").string()).value() == "hello\n");
        CHECK(readLimited((dir.path / "a").string(), {.maxBytes = 5}).error().message == "larger than 5 bytes");
        const auto missing = readLimited((dir.path / "missing").string());
        CHECK(missing.error().err == ENOENT);
        CHECK(missing.error().message == "No such file or directory");
        CHECK(readLimited(dir.path.string()).error().message == "is a directory, not a regular file");
        CHECK(readLimited(dir.path.string()).error().err == 0);
    }

    TEST_CASE("a file whose size the kernel does not tell is still bounded") {
        // /proc files report st_size 0; the limit applies to what is read.
        const auto r = readLimited("/proc/self/maps", {.maxBytes = 16});
        CHECK(r.error().message == "larger than 16 bytes");
    }

    TEST_CASE("devices are refused before any read") {
        CHECK(readLimited("/dev/zero").error().message == "is a character device, not a regular file");
        CHECK(readLimited("/dev/null").error().message == "is a character device, not a regular file");
    }

    TEST_CASE("a FIFO: refused unless allowed, allowed, bounded by the deadline") {
        TempDir dir;
        const auto fifo = (dir.path / "fifo").string();
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        CHECK(readLimited(fifo).error().message == "is a FIFO (named pipe), not a regular file");
        // A writer that holds the pipe open and never finishes.
        const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
        const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        REQUIRE(writer >= 0);
        REQUIRE(::write(writer, "{", 1) == 1);
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = readLimited(fifo, {.maxBytes = 1024, .deadline = std::chrono::milliseconds(200), .allowPipe = true});
        const auto took = std::chrono::steady_clock::now() - t0;
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("not read completely within 200 ms") == 0);
        CHECK(took < std::chrono::seconds(30));
        ::close(writer);
        ::close(reader);
    }

    TEST_CASE("quoteInput escapes and cuts") {
        CHECK(agent::quoteInput("abc") == "\"abc\"");
        CHECK(agent::quoteInput("a\"b\\c\n") == "\"a\\\"b\\\\c\\x0a\"");
        CHECK(agent::quoteInput(std::string(70, 'z')) == "\"" + std::string(64, 'z') + "...\" (70 bytes)");
        CHECK(agent::quoteInput("x", false) == "x");
    }

    TEST_CASE("sizeText and firstNul") {
        CHECK(agent::sizeText(1 << 20) == "1 MiB");
        CHECK(agent::sizeText(4096) == "4 KiB");
        CHECK(agent::sizeText(300) == "300 bytes");
        CHECK(agent::firstNul(std::string("ab\0c", 4)) == 2);
        CHECK_FALSE(agent::firstNul("abc"));
    }
}
