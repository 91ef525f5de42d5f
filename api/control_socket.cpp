#include "api/control_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <utility>

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
    path_ = socketPath;
    sockaddr_un addr;
    if (!fillAddress(path_, addr)) return std::unexpected("control socket path too long: " + path_.string());
    listenFd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0) return std::unexpected(std::string("control socket: ") + std::strerror(errno));
    ::unlink(path_.c_str());  // a socket left by a killed daemon; the state-dir lock says we are the only one
    const mode_t old = ::umask(0177);
    const int rc = ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0 || ::listen(listenFd_, 8) != 0)
        return std::unexpected("control socket " + path_.string() + ": " + std::strerror(errno));
    ::chmod(path_.c_str(), 0600);
    if (::pipe2(stopPipe_, O_CLOEXEC) != 0) return std::unexpected("control socket: pipe failed");
    thread_ = std::thread([this] { serve(); });
    return {};
}

std::string controlReply(const std::string& line, DrainControl& control) {
    if (line == "drain") {
        control.requestDrain(true);
        return "ok draining: /ready answers 503, VIPs stay bound\n";
    }
    if (line == "undrain") {
        control.requestDrain(false);
        return "ok undrained: /ready follows the checks again\n";
    }
    return "error unknown command \"" + printable(line, 40) + "\" (drain, undrain)\n";
}

void ControlServer::serve() {
    while (waitForClient(listenFd_, stopPipe_[0])) {
        const int c = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        setTimeout(c, 1);
        writeAll(c, controlReply(readLine(c), control_));
        ::close(c);
    }
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

std::expected<std::string, std::string> controlRequest(const std::filesystem::path& socketPath, const std::string& command) {
    sockaddr_un addr;
    if (!fillAddress(socketPath, addr)) return std::unexpected("control socket path too long");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    setTimeout(fd, 5);
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
