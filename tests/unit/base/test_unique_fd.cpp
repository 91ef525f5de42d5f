#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "agent/base/unique_fd.h"

using agent::UniqueFd;

namespace {
bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_SUITE("unique_fd") {
    TEST_CASE("closed once, when the owner goes or takes another, moves hand it over") {
        int raw = -1;
        {
            UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            REQUIRE(a);
            raw = a.get();
            UniqueFd b(std::move(a));
            CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
            CHECK(b.get() == raw);
            std::vector<UniqueFd> kept;
            kept.push_back(std::move(b));
            CHECK(isOpen(raw));
        }
        CHECK_FALSE(isOpen(raw));
        UniqueFd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        const int first = c.get();
        CHECK(c.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC)) == 0);
        CHECK((first == c.get() || !isOpen(first)));  // the first one closed (its number may be reused)
        const int released = c.release();
        CHECK_FALSE(c);
        CHECK(isOpen(released));
        ::close(released);
        CHECK(UniqueFd().reset() == 0);
    }
}
