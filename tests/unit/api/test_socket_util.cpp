#include <doctest/doctest.h>

#include <sys/socket.h>

#include "api/socket_util.h"

using namespace api;

TEST_SUITE("socket_util") {
    TEST_CASE("listensOn: a kept socket is used only when it listens where the configuration says") {
        const auto listening = listenTcp("127.0.0.1", 0);
        REQUIRE(listening);
        const auto& fd = *listening;
        const int port = boundPort(fd.get());
        CHECK(listensOn(fd.get(), "127.0.0.1", port));
        CHECK(listensOn(fd.get(), "127.0.0.1", 0));
        CHECK_FALSE(listensOn(fd.get(), "127.0.0.1", port == 65535 ? 65534 : port + 1));
        CHECK_FALSE(listensOn(fd.get(), "127.0.0.2", port));
        CHECK_FALSE(listensOn(fd.get(), "::1", port));
        CHECK_FALSE(listensOn(fd.get(), "not-an-address", port));
        const auto listening6 = listenTcp("::1", 0);
        REQUIRE(listening6);
        const auto& v6 = *listening6;
        CHECK(listensOn(v6.get(), "::1", boundPort(v6.get())));
        CHECK_FALSE(listensOn(v6.get(), "::", boundPort(v6.get())));
        // Not listening, not a stream, not a socket at all.
        const agent::UniqueFd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        CHECK_FALSE(listensOn(unbound.get(), "0.0.0.0", 0));
        const agent::UniqueFd dgram(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        CHECK_FALSE(listensOn(dgram.get(), "0.0.0.0", 0));
        CHECK_FALSE(listensOn(0, "127.0.0.1", 0));
        CHECK_FALSE(listensOn(-1, "127.0.0.1", 0));
    }
}
