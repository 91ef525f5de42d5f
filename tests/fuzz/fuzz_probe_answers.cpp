// libFuzzer harness: what a service sends back to a service check. The first byte picks:
//   0  an HTTP response, served on 127.0.0.1 to the http prober (cpp-httplib's parsing,
//      then the agent's status and body matching);
//   1  a DNS answer, sent over UDP on 127.0.0.1 to the dns prober with the question's ID
//      (c-ares, then the agent's check of the answer);
//   2  a DNS answer straight to probe_text::dnsAnswerProblem;
//   3  a command's output to probe_text::firstLine.
// Every probe must end within its deadline with a verdict; a reason is bounded and a
// down verdict has one; a command's line is valid UTF-8. Traffic stays on the loopback; each input is one connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/daemon/probe.h"
#include "agent/daemon/probe_text.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::milliseconds(100);  // short: a dropped answer waits for it

// A loopback socket of type on an ephemeral port; its port.
int bound(int type, int& port) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) __builtin_trap();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        __builtin_trap();
    if (type == SOCK_STREAM && ::listen(fd, 4) != 0) __builtin_trap();
    port = ntohs(a.sin_port);
    return fd;
}

bool readable(int fd) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, static_cast<int>(kDeadline.count())) == 1;
}

agent::ServiceCheck checkOf(agent::ServiceCheck::Type type, int port) {
    agent::ServiceCheck c;
    c.type = type;
    c.vip = *netcfg::IpAddress::parse("127.0.0.1");
    c.port = port;
    c.expectStatus = {200, 204};
    c.expectBody = "ok";
    c.query = "www.example.org";
    c.timeoutMs = static_cast<int>(kDeadline.count());
    return c;
}

void judge(const agent::ProbeOutcome& o, Clock::time_point started) {
    if (Clock::now() - started > kDeadline + std::chrono::milliseconds(400)) __builtin_trap();  // past its deadline
    if (!o.up && o.reason.empty()) __builtin_trap();
    if (o.up && !o.reason.empty()) __builtin_trap();
    if (o.reason.size() > 1024) __builtin_trap();
}

// One probe of type against the server thread on port; then the server and its socket go.
void probeAndJudge(agent::ServiceCheck::Type type, int port, std::thread& server, int fd) {
    const auto prober = agent::makeProber(checkOf(type, port));
    agent::ProbeCancel cancel;
    const auto t0 = Clock::now();
    const auto o = prober->probe(t0 + kDeadline, cancel);
    server.join();
    ::close(fd);
    judge(o, t0);
}

void http(std::span<const std::uint8_t> response) {
    int port = 0;
    const int listener = bound(SOCK_STREAM, port);
    std::thread server([&] {
        if (!readable(listener)) return;
        const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) return;
        char buf[4096];
        std::string request;
        while (request.find("\r\n\r\n") == std::string::npos && readable(conn)) {
            const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
            if (n <= 0) break;
            request.append(buf, static_cast<std::size_t>(n));
        }
        (void)::send(conn, response.data(), response.size(), MSG_NOSIGNAL);
        ::close(conn);
    });
    probeAndJudge(agent::ServiceCheck::Type::Http, port, server, listener);
}

void dns(std::span<const std::uint8_t> answer) {
    int port = 0;
    const int sock = bound(SOCK_DGRAM, port);
    std::thread server([&] {
        if (!readable(sock)) return;
        std::uint8_t q[512];
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        const ssize_t n = ::recvfrom(sock, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&peer), &len);
        if (n < 2) return;
        std::vector<std::uint8_t> a(answer.begin(), answer.end());
        if (a.size() >= 2) std::memcpy(a.data(), q, 2);  // the question's ID, or c-ares drops it unseen
        (void)::sendto(sock, a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
    });
    probeAndJudge(agent::ServiceCheck::Type::Dns, port, server, sock);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const std::uint8_t> rest(data + 1, size - 1);
    switch (data[0] % 4) {
        case 0: http(rest); break;
        case 1: dns(rest); break;
        case 2: {
            // our question, as c-ares makes it for www.example.org A
            static const std::vector<std::uint8_t> query = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm',
                                                            'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 1, 0, 1};
            const auto why = agent::probe_text::dnsAnswerProblem(query, rest);
            if (why && (why->empty() || why->size() > 1024)) __builtin_trap();
            break;
        }
        default: {
            const std::string line = agent::probe_text::firstLine(std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
            if (line.size() > 203 || line.find('\n') != std::string::npos) __builtin_trap();
            for (unsigned char c : line)
                if (c < 0x20 || c == 0x7f) __builtin_trap();
            (void)nlohmann::json(line).dump();  // valid UTF-8, or this throws
            break;
        }
    }
    return 0;
}
