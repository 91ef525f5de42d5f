#include "api/line_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "api/socket_util.h"

namespace api {

std::expected<void, std::string> LineServer::adopt(agent::UniqueFd listening) {
    int pipe[2];
    if (::pipe2(pipe, O_CLOEXEC) != 0) return std::unexpected("pipe failed");
    stopRead_.reset(pipe[0]);
    stopWrite_.reset(pipe[1]);
    listen_ = std::move(listening);
    return {};
}

void LineServer::serveInBackground() { thread_ = std::thread([this] { serve(); }); }

void LineServer::stop() {
    if (thread_.joinable()) {
        (void)!::write(stopWrite_.get(), "x", 1);
        thread_.join();
    }
    listen_.reset();
    stopRead_.reset();
    stopWrite_.reset();
}

bool LineServer::handle(Client& c, Event e, Clock::time_point now) {
    const auto reply = handler_(c, e, now);
    if (!reply) return false;
    if (!reply->empty()) {
        writeAll(c.fd.get(), *reply);
        ::shutdown(c.fd.get(), SHUT_WR);
    }
    c.fd.reset();
    return true;
}

void LineServer::serve() {
    std::vector<Client> clients;
    for (;;) {
        auto fds = serverPollSet(stopRead_.get(), listen_.get());
        auto now = Clock::now();
        int timeout = -1;
        for (const auto& c : clients) {
            fds.push_back({.fd = c.fd.get(), .events = static_cast<short>(c.waiting ? 0 : POLLIN), .revents = 0});
            timeout = soonerTimeout(timeout, c.deadline, now);
            if (c.waiting) timeout = std::min(timeout, 5);  // watching for what it waits for
        }
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
        if (fds[0].revents & POLLIN) break;
        now = Clock::now();
        for (std::size_t i = 0; i < clients.size(); ++i) {
            Client& c = clients[i];
            const short rev = fds[i + 2].revents;
            if (c.waiting) {
                if (!handle(c, now >= c.deadline ? Event::Deadline : Event::Poll, now)) continue;
            } else if (rev & (POLLIN | POLLHUP | POLLERR)) {
                char buf[4096];
                const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0) c.line.append(buf, static_cast<std::size_t>(n));
                if (const auto nl = c.line.find('\n'); nl != std::string::npos) {
                    c.line.resize(nl);
                    if (handle(c, Event::Line, now) || c.waiting) continue;
                } else if (c.line.size() > options_.maxLine) {
                    if (handle(c, Event::TooLong, now)) continue;
                } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    if (handle(c, Event::Closed, now)) continue;
                }
            }
            if (c.fd && !c.waiting && now >= c.deadline) handle(c, Event::Deadline, now);
        }
        std::erase_if(clients, [](const Client& c) { return !c.fd; });
        if (fds[1].revents & POLLIN) {
            agent::UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (!fd) continue;
            if (static_cast<int>(clients.size()) >= options_.maxClients) {
                if (options_.busyReply) {
                    writeAll(fd.get(), *options_.busyReply);
                    continue;  // refused: fd closes here
                }
                Client& oldest = clients.front();  // the one waiting longest makes room
                if (!handle(oldest, Event::Deadline, now)) oldest.fd.reset();
                clients.erase(clients.begin());
            }
            clients.push_back(Client{.fd = std::move(fd), .line = {}, .deadline = now + options_.lineDeadline, .waiting = false,
                                     .ticket = 0, .command = 0, .args = {}});
        }
    }
}

}  // namespace api
