#include "agent/daemon/service_check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>

#include "agent/base/unique_fd.h"

namespace agent {
namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// Connects to VIP:port within the deadline; returns the socket or why not.
std::expected<UniqueFd, std::string> connectTo(const ServiceCheck& c, Clock::time_point deadline) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (c.vip.isV4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(static_cast<uint16_t>(c.port));
        std::memcpy(&sin->sin_addr, c.vip.bytes.data(), 4);
        len = sizeof *sin;
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(static_cast<uint16_t>(c.port));
        std::memcpy(&sin6->sin6_addr, c.vip.bytes.data(), 16);
        len = sizeof *sin6;
    }
    UniqueFd fd(::socket(c.vip.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return fd;
    if (errno != EINPROGRESS) return std::unexpected(std::string("connect: ") + std::strerror(errno));
    pollfd p{.fd = fd.get(), .events = POLLOUT, .revents = 0};
    const int r = ::poll(&p, 1, remainingMs(deadline));
    if (r == 0) return std::unexpected(std::string("connect: timed out"));
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) return std::unexpected(std::string("connect: ") + std::strerror(err));
    return fd;
}

std::optional<std::string> httpGet(const ServiceCheck& c, int fd, Clock::time_point deadline) {
    const std::string host = netcfg::bracketed(c.vip);
    const std::string req = "GET " + c.path + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: lvs-rs-agent\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
        return std::string("sending the request: ") + std::strerror(errno);
    std::string head;
    char buf[512];
    while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, remainingMs(deadline)) <= 0) return std::string("no response in time");
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return std::string("connection closed before a status line");
        head.append(buf, static_cast<std::size_t>(n));
    }
    // "HTTP/1.1 200 OK"
    const auto sp = head.find(' ');
    if (head.rfind("HTTP/", 0) != 0 || sp == std::string::npos || head.size() < sp + 4)
        return std::string("not an HTTP response");
    const int status = std::atoi(head.substr(sp + 1, 3).c_str());
    if (status != c.expectStatus)
        return "status " + std::to_string(status) + ", expected " + std::to_string(c.expectStatus);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> probeService(const ServiceCheck& check) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(check.timeoutMs);
    const auto fd = connectTo(check, deadline);
    if (!fd) return fd.error();
    if (check.type == ServiceCheck::Type::Tcp) return std::nullopt;
    return httpGet(check, fd->get(), deadline);
}

ServiceChecker::ServiceChecker(std::vector<ServiceCheck> checks, std::function<void()> onChange,
                               const std::map<std::string, ServiceStatus>& previous)
    : onChange_(std::move(onChange)) {
    for (auto& c : checks) {
        ServiceStatus s;
        if (auto it = previous.find(c.name()); it != previous.end()) s = it->second;  // its state, counters and all
        s.check = std::move(c);
        if (s.up) s.successes = std::max(s.successes, s.check.rise);  // up: as many successes as it takes
        statuses_.push_back(std::move(s));
    }
    if (!statuses_.empty()) thread_ = std::thread([this] { loop(); });
}

ServiceChecker::~ServiceChecker() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<ServiceStatus> ServiceChecker::statuses() const {
    std::lock_guard lock(mu_);
    return statuses_;
}

void ServiceChecker::loop() {
    std::vector<Clock::time_point> due(statuses_.size(), Clock::now());
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const auto next = *std::min_element(due.begin(), due.end());
        if (cv_.wait_until(lock, next, [&] { return stopping_; })) break;
        for (std::size_t i = 0; i < statuses_.size(); ++i) {
            if (due[i] > Clock::now()) continue;
            const ServiceCheck check = statuses_[i].check;
            lock.unlock();
            const auto err = probeService(check);
            lock.lock();
            if (stopping_) return;
            auto& s = statuses_[i];
            ++s.checks;
            s.checked = true;
            if (err) {
                s.lastError = *err;
                s.successes = 0;
                if (++s.failures >= check.fall) s.up = false;
            } else {
                s.lastError.clear();
                s.failures = 0;
                if (++s.successes >= check.rise) s.up = true;
            }
            due[i] = Clock::now() + std::chrono::milliseconds(check.intervalMs);
            if (onChange_) onChange_();
        }
    }
}

}  // namespace agent
