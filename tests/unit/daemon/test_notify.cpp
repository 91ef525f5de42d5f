#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "agent/daemon/notify.h"

using namespace agent;

namespace {

// A datagram socket bound at path, as systemd's $NOTIFY_SOCKET; reads time out after 1 s.
int notifySocket(const std::string& path) {
    ::unlink(path.c_str());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
    timeval tv{.tv_sec = 1, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

}  // namespace

TEST_SUITE("notify") {
    TEST_CASE("sd_notify datagrams reach $NOTIFY_SOCKET, the watchdog period follows WATCHDOG_USEC") {
        const std::string path = "/tmp/lvs-notify-" + std::to_string(::getpid());
        const int fd = notifySocket(path);
        REQUIRE(fd >= 0);
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

    TEST_CASE("FDSTORE=1 carries the descriptor with its name, FDSTOREREMOVE=1 names it") {
        const std::string path = "/tmp/lvs-notify-fd-" + std::to_string(::getpid());
        const int fd = notifySocket(path);
        REQUIRE(fd >= 0);
        CHECK_FALSE(SystemdNotifier().storeFd("http", 0));  // not under systemd: nothing sent
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        SystemdNotifier n;
        int pipeFds[2];
        REQUIRE(::pipe(pipeFds) == 0);
        REQUIRE(n.storeFd("http", pipeFds[0]));
        char buf[256];
        char control[CMSG_SPACE(sizeof(int) * 4)];
        iovec iov{.iov_base = buf, .iov_len = sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t r = ::recvmsg(fd, &msg, 0);
        REQUIRE(r > 0);
        CHECK(std::string(buf, static_cast<size_t>(r)) == "FDSTORE=1\nFDNAME=http");
        int passed = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
        REQUIRE(passed >= 0);
        // The same pipe: what is written to its other end is read from the passed copy.
        REQUIRE(::write(pipeFds[1], "x", 1) == 1);
        char got = 0;
        CHECK(::read(passed, &got, 1) == 1);
        CHECK(got == 'x');
        n.removeStoredFd("http");
        const ssize_t r2 = ::recv(fd, buf, sizeof buf, 0);
        REQUIRE(r2 > 0);
        CHECK(std::string(buf, static_cast<size_t>(r2)) == "FDSTOREREMOVE=1\nFDNAME=http");
        ::unsetenv("NOTIFY_SOCKET");
        for (int f : {passed, pipeFds[0], pipeFds[1], fd}) ::close(f);
        ::unlink(path.c_str());
    }

    TEST_CASE("a descriptor bundle: named descriptors through one socket, each still the same file, taken apart once") {
        int a[2], b[2];
        REQUIRE(::pipe(a) == 0);
        REQUIRE(::pipe(b) == 0);
        auto bundle = bundleFds({{"tunnel-lvs_decap", a[1]}, {"tunnel-lvs_vips", b[1]}});
        REQUIRE_MESSAGE(bundle.has_value(), (bundle ? std::string() : bundle.error()));
        ::close(a[1]);  // the bundle holds its own references
        ::close(b[1]);
        auto fds = unbundleFds(bundle->get());
        REQUIRE_MESSAGE(fds.has_value(), (fds ? std::string() : fds.error()));
        REQUIRE(fds->size() == 2);
        REQUIRE(fds->count("tunnel-lvs_decap") == 1);
        REQUIRE(fds->count("tunnel-lvs_vips") == 1);
        // each is the write end it was: bytes written through it come out of its pipe
        CHECK(::write(fds->find("tunnel-lvs_decap")->second.get(), "d", 1) == 1);
        CHECK(::write(fds->find("tunnel-lvs_vips")->second.get(), "v", 1) == 1);
        char c = 0;
        CHECK(::read(a[0], &c, 1) == 1);
        CHECK(c == 'd');
        CHECK(::read(b[0], &c, 1) == 1);
        CHECK(c == 'v');
        CHECK((::fcntl(fds->begin()->second.get(), F_GETFD) & FD_CLOEXEC) != 0);
        // read once: a second look finds nothing
        CHECK(unbundleFds(bundle->get()).error().rfind("reading a descriptor bundle: ", 0) == 0);
        CHECK(bundleFds({}).error() == "a bundle holds 1 to 64 descriptors");
        CHECK(bundleFds({{"a\nb", a[0]}}).error() == "a bundled descriptor's name has a newline");
        ::close(a[0]);
        ::close(b[0]);
    }
}
