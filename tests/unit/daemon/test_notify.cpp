#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "agent/daemon/notify.h"

using namespace agent;

TEST_SUITE("notify") {
    TEST_CASE("sd_notify datagrams reach $NOTIFY_SOCKET, the watchdog period follows WATCHDOG_USEC") {
        const std::string path = "/tmp/lvs-notify-" + std::to_string(::getpid());
        ::unlink(path.c_str());
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        timeval tv{.tv_sec = 1, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        ::setenv("WATCHDOG_USEC", "2000000", 1);
        ::unsetenv("WATCHDOG_PID");
        SystemdNotifier n;
        auto next = [&] {
            char buf[512];
            const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            return r > 0 ? std::string(buf, static_cast<size_t>(r)) : std::string();
        };
        n.ready("ready: 1 VIP(s) in place");
        CHECK(next() == "READY=1\nSTATUS=ready: 1 VIP(s) in place");
        n.status("not ready: draining");
        CHECK(next() == "STATUS=not ready: draining");
        n.reloading();
        CHECK(next().rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
        n.stopping("bye");
        CHECK(next() == "STOPPING=1\nSTATUS=bye");
        REQUIRE(n.watchdogPeriod());
        CHECK(n.watchdogPeriod()->count() == 1000);
        n.watchdog(std::chrono::steady_clock::now());
        CHECK(next() == "WATCHDOG=1");
        ::setenv("WATCHDOG_PID", "1", 1);  // another process's watchdog
        CHECK_FALSE(SystemdNotifier().watchdogPeriod());
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
        ::close(fd);
        ::unlink(path.c_str());
    }
}
