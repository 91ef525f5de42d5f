#include "api/agent_check.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "api/socket_util.h"

namespace api {

// HAProxy takes several words in one reply. "up" undoes an earlier "down" (the
// operational state) and "ready" undoes an earlier "drain" (the administrative state);
// each leaves the other alone, so ready and drain send both.
std::string agentCheckReply(const Snapshot& s) {
    if (s.draining) return "up drain\n";
    if (!s.ready) return "down\n";
    if (s.agentCheckWeight >= 0) return "up ready " + std::to_string(s.agentCheckWeight) + "%\n";
    return "up ready\n";
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
    while (waitForClient(listenFd_, stopPipe_[0])) {
        const int c = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        writeAll(c, agentCheckReply(*store_.get()));
        ::shutdown(c, SHUT_WR);
        ::close(c);
    }
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
