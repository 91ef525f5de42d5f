// The probes' common parts and the TCP probe (a connect within the deadline).
#include "agent/daemon/probe.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace agent {

ProbeCancel::ProbeCancel() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void ProbeCancel::cancel() {
    std::lock_guard lock(mu_);
    if (std::exchange(cancelled_, true)) return;
    const std::uint64_t one = 1;
    if (event_) (void)!::write(event_.get(), &one, sizeof one);
    if (fn_) fn_();
}

bool ProbeCancel::cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
}

void ProbeCancel::onCancel(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    if (cancelled_) fn();
    else fn_ = std::move(fn);
}

void ProbeCancel::clear() {
    std::lock_guard lock(mu_);
    fn_ = nullptr;
}

namespace probe_detail {

int remainingMs(Prober::Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Prober::Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 3600000));
}

int waitFor(int fd, short events, Prober::Clock::time_point deadline, ProbeCancel& cancel) {
    for (;;) {
        pollfd p[2] = {{.fd = fd, .events = events, .revents = 0}, {.fd = cancel.fd(), .events = POLLIN, .revents = 0}};
        const int n = ::poll(p, 2, remainingMs(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 0;
        if (p[1].revents != 0) return -1;
        if (n > 0) return 1;
        if (remainingMs(deadline) == 0) return 0;  // else woken a little early: wait the rest
    }
}

namespace {
socklen_t socketAddress(const netcfg::IpAddress& ip, int port, sockaddr_storage& ss) {
    ss = {};
    if (ip.isV4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(static_cast<uint16_t>(port));
        std::memcpy(&sin->sin_addr, ip.bytes.data(), 4);
        return sizeof *sin;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sin6->sin6_addr, ip.bytes.data(), 16);
    return sizeof *sin6;
}
}  // namespace

std::expected<netcfg::IpAddress, std::string> targetOf(const ServiceCheck& c) {
    if (!c.natDirector) return c.vip;
    const netcfg::IpAddress& d = *c.natDirector;
    sockaddr_storage ss{};
    const socklen_t len = socketAddress(d, 9, ss);
    UniqueFd fd(::socket(d.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        return std::unexpected("no route to the NAT director " + d.str() + ": " + std::strerror(errno));
    sockaddr_storage local{};
    socklen_t localLen = sizeof local;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &localLen) != 0)
        return std::unexpected(std::string("getsockname: ") + std::strerror(errno));
    netcfg::IpAddress ip;
    ip.family = d.family;
    if (d.isV4())
        std::memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, 4);
    else
        std::memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, 16);
    return ip;
}

std::expected<UniqueFd, std::string> connectTo(const ServiceCheck& c, Prober::Clock::time_point deadline, ProbeCancel& cancel) {
    const auto target = targetOf(c);
    if (!target) return std::unexpected(target.error());
    sockaddr_storage ss{};
    const socklen_t len = socketAddress(*target, c.port, ss);
    UniqueFd fd(::socket(target->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return fd;
    if (errno != EINPROGRESS) return std::unexpected(std::string("connect: ") + std::strerror(errno));
    const int r = waitFor(fd.get(), POLLOUT, deadline, cancel);
    if (r <= 0) return std::unexpected("connect: no answer within " + std::to_string(c.timeoutMs) + " ms");
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) return std::unexpected(std::string("connect: ") + std::strerror(err));
    return fd;
}

}  // namespace probe_detail

namespace {

class TcpProber final : public Prober {
public:
    explicit TcpProber(ServiceCheck c) : check_(std::move(c)) {}
    ProbeOutcome probe(Clock::time_point deadline, ProbeCancel& cancel) override {
        auto fd = probe_detail::connectTo(check_, deadline, cancel);
        if (!fd) return {.up = false, .reason = fd.error(), .timedOut = probe_detail::remainingMs(deadline) == 0};
        return {.up = true, .reason = {}};
    }

private:
    ServiceCheck check_;
};

}  // namespace

std::unique_ptr<Prober> makeProber(const ServiceCheck& check) {
    switch (check.type) {
        case ServiceCheck::Type::Tcp: return std::make_unique<TcpProber>(check);
        case ServiceCheck::Type::Http:
        case ServiceCheck::Type::Https: return makeHttpProber(check);
        case ServiceCheck::Type::Exec: return makeExecProber(check);
        case ServiceCheck::Type::Dns: return makeDnsProber(check);
    }
    return nullptr;
}

}  // namespace agent
