// bench/drain's helper (and a check by hand): counts the connections on prefixes with
// the agent's own counter (netcfg/sock_diag), or holds connections open.
//
//   drain_tool count REPEAT PREFIX...     count REPEAT times; print the counts and the
//                                         microseconds per count (median, p99, max)
//   drain_tool hold N ADDR PORT [SRC]     open N TCP connections to ADDR:PORT (from SRC),
//                                         print "held N", keep them until SIGTERM
//   drain_tool serve ADDR PORT            accept and keep connections until SIGTERM
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netcfg/sock_diag.h"

namespace {

netcfg::LocalPrefix prefixOf(const std::string& text) {
    const auto slash = text.find('/');
    const auto ip = netcfg::IpAddress::parse(text.substr(0, slash));
    if (!ip) {
        std::fprintf(stderr, "not an address: %s\n", text.c_str());
        std::exit(2);
    }
    return {.address = *ip, .length = slash == std::string::npos ? ip->hostPrefix() : std::atoi(text.c_str() + slash + 1)};
}

sockaddr_storage endpoint(const char* addr, int port, socklen_t& len) {
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        len = sizeof *v6;
    } else {
        std::fprintf(stderr, "not an address: %s\n", addr);
        std::exit(2);
    }
    return ss;
}

void raiseFdLimit() {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

// SIGTERM and SIGINT arrive on this descriptor (blocked first, so they never kill us
// before the connections are closed in order).
int signalFd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    return ::signalfd(-1, &set, SFD_CLOEXEC);
}

int count(int repeat, const std::vector<std::string>& texts) {
    std::vector<netcfg::LocalPrefix> prefixes;
    for (const auto& t : texts) prefixes.push_back(prefixOf(t));
    auto counter = netcfg::makeKernelConnectionCounter();
    std::vector<double> us;
    netcfg::ConnectionCount last;
    for (int i = 0; i < repeat; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto c = counter->count(prefixes);
        const auto t1 = std::chrono::steady_clock::now();
        if (!c) {
            std::fprintf(stderr, "count: %s\n", c.error().message.c_str());
            return 1;
        }
        last = std::move(*c);
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < prefixes.size(); ++i) total += last.perPrefix[i];
    std::sort(us.begin(), us.end());
    std::printf("connections %llu\n", static_cast<unsigned long long>(total));
    for (std::size_t i = 0; i < prefixes.size() && i < 8; ++i)
        std::printf("  %s %llu\n", texts[i].c_str(), static_cast<unsigned long long>(last.perPrefix[i]));
    std::printf("count_us median %.1f p99 %.1f max %.1f (%d counts)\n", us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)],
                us.back(), repeat);
    return 0;
}

int hold(int n, const char* addr, int port, const char* src) {
    raiseFdLimit();
    const int sfd = signalFd();
    socklen_t len = 0;
    const sockaddr_storage to = endpoint(addr, port, len);
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        const int fd = ::socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) break;
        if (src) {
            socklen_t slen = 0;
            const sockaddr_storage from = endpoint(src, 0, slen);
            const int one = 1;
            ::setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), slen) != 0) {
                std::perror("bind");
                return 1;
            }
        }
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), len) != 0) {
            std::perror("connect");
            return 1;
        }
        fds.push_back(fd);
    }
    std::printf("held %zu\n", fds.size());
    std::fflush(stdout);
    signalfd_siginfo info{};
    (void)!::read(sfd, &info, sizeof info);
    for (int fd : fds) ::close(fd);
    return 0;
}

int serve(const char* addr, int port) {
    raiseFdLimit();
    const int sfd = signalFd();
    socklen_t len = 0;
    const sockaddr_storage at = endpoint(addr, port, len);
    const int lfd = ::socket(at.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(lfd, reinterpret_cast<const sockaddr*>(&at), len) != 0 || ::listen(lfd, 4096) != 0) {
        std::perror("listen");
        return 1;
    }
    std::printf("listening\n");
    std::fflush(stdout);
    std::vector<int> fds;
    for (;;) {
        pollfd p[2] = {{.fd = lfd, .events = POLLIN, .revents = 0}, {.fd = sfd, .events = POLLIN, .revents = 0}};
        if (::poll(p, 2, -1) < 0 || p[1].revents) break;
        if (p[0].revents)
            for (int fd; (fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;) {
                fds.push_back(fd);
                if (fds.size() % 1024 == 0) break;
            }
    }
    for (int fd : fds) ::close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "count" && argc >= 4) return count(std::atoi(argv[2]), std::vector<std::string>(argv + 3, argv + argc));
    if (cmd == "hold" && argc >= 5) return hold(std::atoi(argv[2]), argv[3], std::atoi(argv[4]), argc > 5 ? argv[5] : nullptr);
    if (cmd == "serve" && argc == 4) return serve(argv[2], std::atoi(argv[3]));
    std::fprintf(stderr, "usage: drain_tool count REPEAT PREFIX... | hold N ADDR PORT [SRC] | serve ADDR PORT\n");
    return 2;
}
