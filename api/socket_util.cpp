#include "api/socket_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace api {

namespace {

// host:port as a socket address; 0 length when host is no IP address.
socklen_t addressOf(const std::string& host, int port, sockaddr_storage& ss) {
    ss = {};
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(static_cast<uint16_t>(port));
        return sizeof *sin;
    }
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(static_cast<uint16_t>(port));
        return sizeof *sin6;
    }
    return 0;
}

}  // namespace

std::expected<agent::UniqueFd, std::string> listenTcp(const std::string& host, int port, int backlog) {
    sockaddr_storage ss{};
    const socklen_t len = addressOf(host, port, ss);
    if (len == 0) return std::unexpected(host + " is not an IP address");
    agent::UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), backlog) != 0)
        return std::unexpected("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    return fd;
}

bool listensOn(int fd, const std::string& host, int port) {
    int accepting = 0, type = 0;
    socklen_t optlen = sizeof accepting;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &optlen) != 0 || !accepting) return false;
    optlen = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) != 0 || type != SOCK_STREAM) return false;
    sockaddr_storage want{}, have{};
    const socklen_t len = addressOf(host, port, want);
    socklen_t haveLen = sizeof have;
    if (len == 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&have), &haveLen) != 0 || have.ss_family != want.ss_family) return false;
    if (want.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&want);
        const auto* b = reinterpret_cast<const sockaddr_in*>(&have);
        return a->sin_addr.s_addr == b->sin_addr.s_addr && (port == 0 || a->sin_port == b->sin_port);
    }
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&want);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&have);
    return std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0 && (port == 0 || a->sin6_port == b->sin6_port);
}

int boundPort(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

void writeAll(int fd, const std::string& text) {
    std::size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::send(fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

}  // namespace api

namespace api {

std::vector<pollfd> serverPollSet(int stopFd, int listenFd) {
    return {{.fd = stopFd, .events = POLLIN, .revents = 0}, {.fd = listenFd, .events = POLLIN, .revents = 0}};
}

int soonerTimeout(int timeout, std::chrono::steady_clock::time_point deadline, std::chrono::steady_clock::time_point now) {
    const long long left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    return static_cast<int>(std::clamp<long long>(timeout < 0 ? left : std::min<long long>(timeout, left), 0, 1 << 30));
}

std::string canonicalAddress(const std::string& text) {
    if (text.empty() || text.size() > 45 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':'; }))
        return "";
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    for (int family : {AF_INET, AF_INET6})
        if (inet_pton(family, text.c_str(), buf) == 1 && inet_ntop(family, buf, out, sizeof out)) return out;
    return "";
}

std::string canonicalVipText(const std::string& text) {
    const auto slash = text.find('/');
    if (slash == std::string::npos) return canonicalAddress(text);
    const std::string address = canonicalAddress(text.substr(0, slash));
    const std::string len = text.substr(slash + 1);
    if (address.empty() || len.empty() || len.size() > 3 || !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return "";
    return address + "/" + std::to_string(std::stoi(len));
}

std::string printable(const std::string& text, std::size_t max) {
    std::string out;
    for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

}  // namespace api
