#include "api/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "api/socket_util.h"

namespace api {
namespace {

bool fillAddress(const std::filesystem::path& path, sockaddr_un& addr) {
    addr = {};
    addr.sun_family = AF_UNIX;
    const std::string p = path.string();
    if (p.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    return true;
}

std::string readLine(int fd) {
    std::string line;
    char c;
    while (line.size() < 256 && ::recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
    return line;
}

void setTimeout(int fd, int seconds) {
    timeval tv{.tv_sec = seconds, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

ControlServer::~ControlServer() { stop(); }

std::expected<void, std::string> ControlServer::start(const std::filesystem::path& socketPath) {
    auto bound = listen(socketPath);
    if (bound) serveInBackground();
    return bound;
}

std::expected<void, std::string> ControlServer::listen(const std::filesystem::path& socketPath) {
    path_ = socketPath;
    sockaddr_un addr;
    if (!fillAddress(path_, addr)) return std::unexpected("control socket path too long: " + path_.string());
    listenFd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0) return std::unexpected(std::string("control socket: ") + std::strerror(errno));
    ::unlink(path_.c_str());  // a socket left by a killed daemon; the state-dir lock says we are the only one
    const mode_t old = ::umask(0177);
    const int rc = ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0 || ::listen(listenFd_, kMaxClients) != 0)
        return std::unexpected("control socket " + path_.string() + ": " + std::strerror(errno));
    ::chmod(path_.c_str(), 0600);
    if (::pipe2(stopPipe_, O_CLOEXEC) != 0) return std::unexpected("control socket: pipe failed");
    return {};
}

void ControlServer::serveInBackground() { thread_ = std::thread([this] { serve(); }); }

std::expected<ControlCommand, std::string> parseControlCommand(const std::string& line) {
    if (line == "drain") return ControlCommand::Drain;
    if (line == "undrain") return ControlCommand::Undrain;
    if (line == "reload") return ControlCommand::Reload;
    return std::unexpected("error unknown command \"" + printable(line, 40) + "\" (drain, undrain, reload)\n");
}

std::string reloadDone(bool ok, const std::string& what) {
    std::string line = (ok ? "ok " : "error ") + what;
    std::replace(line.begin(), line.end(), '\n', ' ');  // one line, whatever a problem's text holds
    return line + "\n";
}

std::string controlDone(bool drain, bool already) {
    if (drain) return already ? "ok already draining: /ready answers 503, VIPs stay bound\n"
                              : "ok draining: /ready answers 503, VIPs stay bound\n";
    return already ? "ok not draining: /ready follows the checks\n" : "ok undrained: /ready follows the checks again\n";
}

namespace {

using Clock = std::chrono::steady_clock;

struct Client {
    int fd = -1;
    std::string line;
    Clock::time_point deadline;
    std::optional<ControlCommand> wanted;  // requested from the loop, awaiting its publication
    std::uint64_t ticket = 0;  // the reload it waits for
};

// The peer has closed its end entirely (a half-close after the command is fine: it still
// waits for the reply).
bool gone(int fd) {
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

}  // namespace

void ControlServer::serve() {
    std::vector<Client> clients;
    for (;;) {
        std::vector<pollfd> fds{{.fd = stopPipe_[0], .events = POLLIN, .revents = 0},
                                {.fd = listenFd_, .events = POLLIN, .revents = 0}};
        auto now = Clock::now();
        int timeout = -1;
        for (const auto& c : clients) {
            fds.push_back({.fd = c.fd, .events = static_cast<short>(c.wanted ? 0 : POLLIN), .revents = 0});
            const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count());
            timeout = std::max(0, timeout < 0 ? left : std::min(timeout, left));
            if (c.wanted) timeout = std::min(timeout, 5);  // watching for the loop's publication
        }
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
        if (fds[0].revents & POLLIN) break;
        now = Clock::now();
        for (std::size_t i = 0; i < clients.size(); ++i) {
            Client& c = clients[i];
            const short rev = fds[i + 2].revents;
            std::string reply;
            bool close = false;
            if (c.wanted == ControlCommand::Reload) {
                if (const auto snap = store_.get(); snap->reloadServed >= c.ticket) {
                    reply = reloadDone(snap->lastReloadOk, snap->lastReload);
                } else if (now >= c.deadline) {
                    reply = "error reload requested, but the agent's loop has not reported it within " +
                            std::to_string(kReloadDeadline.count() / 1000) + " s; see `lvs-rs-agent status`\n";
                }
            } else if (c.wanted) {
                if (const bool drain = c.wanted == ControlCommand::Drain; store_.get()->draining == drain) {
                    reply = controlDone(drain, false);
                } else if (now >= c.deadline) {
                    reply = "error requested, but the agent's loop has not published it within " +
                            std::to_string(kConfirmDeadline.count() / 1000) + " s; see `lvs-rs-agent status`\n";
                }
            } else if (rev & (POLLIN | POLLHUP | POLLERR)) {
                char buf[256];
                const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0) c.line.append(buf, static_cast<std::size_t>(n));
                const auto nl = c.line.find('\n');
                if (nl != std::string::npos) {
                    const auto cmd = parseControlCommand(c.line.substr(0, nl));
                    const auto snap = store_.get();
                    const bool drain = cmd && *cmd == ControlCommand::Drain;
                    if (!cmd) {
                        reply = cmd.error();
                    } else if (gone(c.fd)) {
                        close = true;  // its client left: not applied
                    } else if (*cmd == ControlCommand::Reload) {
                        c.ticket = control_.requestReload();
                        c.wanted = ControlCommand::Reload;
                        c.deadline = now + kReloadDeadline;
                    } else if (snap->draining == drain) {
                        reply = controlDone(drain, true);
                    } else if (!drain && snap->exiting) {
                        reply = "error undrain refused: the agent is exiting and drains before it does\n";
                    } else {
                        control_.requestDrain(drain);
                        c.wanted = *cmd;
                        c.deadline = now + kConfirmDeadline;
                    }
                } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    close = true;  // left without a whole command
                } else if (c.line.size() > 64) {
                    reply = "error command too long (drain, undrain, reload)\n";
                }
            }
            if (reply.empty() && !close && !c.wanted && now >= c.deadline)
                reply = "error no command within " + std::to_string(kLineDeadline.count() / 1000) + " s\n";
            if (!reply.empty()) {
                ::send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                close = true;
            }
            if (close) {
                ::close(c.fd);
                c.fd = -1;
            }
        }
        std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
        if (fds[1].revents & POLLIN) {
            const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0 && static_cast<int>(clients.size()) >= kMaxClients) {
                const std::string busy = "error busy: " + std::to_string(kMaxClients) + " control clients at once\n";
                ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                ::close(fd);
            } else if (fd >= 0) {
                clients.push_back({.fd = fd, .line = {}, .deadline = now + kLineDeadline, .wanted = {}});
            }
        }
    }
    for (auto& c : clients) ::close(c.fd);
}

void ControlServer::stop() {
    if (thread_.joinable()) {
        (void)!::write(stopPipe_[1], "x", 1);
        thread_.join();
        ::unlink(path_.c_str());
    }
    for (int* fd : {&listenFd_, &stopPipe_[0], &stopPipe_[1]})
        if (*fd >= 0) ::close(std::exchange(*fd, -1));
}

std::expected<std::string, std::string> controlRequest(const std::filesystem::path& socketPath, const std::string& command,
                                                       int timeoutSeconds) {
    sockaddr_un addr;
    if (!fillAddress(socketPath, addr)) return std::unexpected("control socket path too long");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    setTimeout(fd, timeoutSeconds);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        return std::unexpected("cannot reach the running agent at " + socketPath.string() + ": " + why +
                               " (is `lvs-rs-agent run` running with this --state-dir?)");
    }
    writeAll(fd, command + "\n");
    std::string reply = readLine(fd);
    ::close(fd);
    if (reply.empty()) return std::unexpected("no reply from the running agent");
    return reply;
}

}  // namespace api
