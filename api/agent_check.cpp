#include "api/agent_check.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "api/socket_util.h"

namespace api {

namespace {

// HAProxy takes several words in one reply. "up" undoes an earlier "down" (the
// operational state) and "ready" undoes an earlier "drain" (the administrative state);
// each leaves the other alone, so ready and drain send both.
std::string upReady(const Snapshot& s) {
    if (s.agentCheckWeight >= 0) return "up ready " + std::to_string(s.agentCheckWeight) + "%\n";
    return "up ready\n";
}

}  // namespace

std::string agentCheckReply(const Snapshot& s) {
    if (s.draining || s.everyVipDrained()) return "up drain\n";
    if (!s.ready) return "down\n";
    return upReady(s);
}

std::string agentCheckReplyFor(const Snapshot& s, const std::string& request) {
    const auto first = request.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return agentCheckReply(s);
    const std::string text = request.substr(first, request.find_last_not_of(" \t\r\n") + 1 - first);
    const std::string vip = canonicalAddress(text);
    const VipReadiness* v = vip.empty() ? nullptr : s.find(vip);
    if (!v) return "down #" + printable(text, 64) + " is not a VIP of this agent\n";
    if (s.draining || s.vipDrained(vip)) return "up drain\n";
    if (!s.readyFor(*v)) return "down\n";
    return upReady(s);
}

AgentCheckResponder::~AgentCheckResponder() { stop(); }

std::expected<int, std::string> AgentCheckResponder::start(const std::string& host, int port) {
    std::string why;
    listenFd_ = listenTcp(host, port, why);
    if (listenFd_ < 0) return std::unexpected("agent-check: " + why);
    if (::pipe2(stopPipe_, O_CLOEXEC) != 0) return std::unexpected("agent-check: pipe failed");
    const int bound = boundPort(listenFd_);
    thread_ = std::thread([this] { serve(); });
    return bound;
}

void AgentCheckResponder::serve() {
    using Clock = std::chrono::steady_clock;
    struct Client {
        int fd;
        std::string line;
        Clock::time_point deadline;
    };
    std::vector<Client> clients;
    auto answer = [this](Client& c) {
        writeAll(c.fd, agentCheckReplyFor(*store_.get(), c.line));
        ::shutdown(c.fd, SHUT_WR);
        ::close(c.fd);
        c.fd = -1;
    };
    for (;;) {
        auto fds = serverPollSet(stopPipe_[0], listenFd_);
        auto now = Clock::now();
        int timeout = -1;
        for (const auto& c : clients) {
            fds.push_back({.fd = c.fd, .events = POLLIN, .revents = 0});
            timeout = soonerTimeout(timeout, c.deadline, now);
        }
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
        if (fds[0].revents & POLLIN) break;
        now = Clock::now();
        for (std::size_t i = 0; i < clients.size(); ++i) {
            Client& c = clients[i];
            if (fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) {
                char buf[256];
                const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0) c.line.append(buf, static_cast<std::size_t>(n));
                const auto nl = c.line.find('\n');
                if (nl != std::string::npos) {
                    c.line.resize(nl);
                    answer(c);
                } else if (c.line.size() > kMaxRequest) {
                    writeAll(c.fd, "down #request too long: send a VIP, such as \"198.51.100.188\\n\"\n");
                    ::close(std::exchange(c.fd, -1));
                } else if (n == 0) {
                    answer(c);  // closed its side: what it sent, if anything, is the request
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    ::close(std::exchange(c.fd, -1));
                }
            }
            if (c.fd >= 0 && now >= c.deadline) answer(c);  // agent-send without "\n", or none
        }
        std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
        if (fds[1].revents & POLLIN) {
            const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) {
                if (static_cast<int>(clients.size()) >= kMaxClients) {
                    answer(clients.front());  // the one waiting longest makes room
                    clients.erase(clients.begin());
                }
                clients.push_back({.fd = fd, .line = {}, .deadline = now + sendWait_});
            }
        }
    }
    for (auto& c : clients) ::close(c.fd);
}

void AgentCheckResponder::stop() {
    if (thread_.joinable()) {
        (void)!::write(stopPipe_[1], "x", 1);
        thread_.join();
    }
    for (int* fd : {&listenFd_, &stopPipe_[0], &stopPipe_[1]})
        if (*fd >= 0) ::close(std::exchange(*fd, -1));
}

}  // namespace api
