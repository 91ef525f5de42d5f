#pragma once
// A small blocking HTTP/1.1 client over a raw socket, for the tests and the benchmark:
// it sends exactly the bytes it is given (so a test can send what no library would) and
// reads one response at a time (status, headers, a Content-Length body).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace testhttp {

struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

class Connection {
public:
    Connection() = default;
    Connection(const std::string& host, int port, int timeoutMs = 2000, const std::string& from = "") {
        open(host, port, timeoutMs, from);
    }
    ~Connection() { close(); }
    Connection(Connection&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)), timeoutMs_(o.timeoutMs_) {}
    Connection& operator=(Connection&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
            buf_ = std::move(o.buf_);
            timeoutMs_ = o.timeoutMs_;
        }
        return *this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // from: the source address (another loopback address is another client)
    bool open(const std::string& host, int port, int timeoutMs = 2000, const std::string& from = "") {
        close();
        timeoutMs_ = timeoutMs;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) return false;
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{.tv_sec = timeoutMs / 1000, .tv_usec = (timeoutMs % 1000) * 1000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        if (!from.empty() && (inet_pton(AF_INET, from.c_str(), &src.sin_addr) != 1 ||
                              ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)) {
            close();
            return false;
        }
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            close();
            return false;
        }
        return true;
    }
    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
        buf_.clear();
    }

    bool send(const std::string& bytes) {
        std::size_t off = 0;
        while (off < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }

    // One response; nothing when the connection closed or timed out first. A reply to
    // HEAD has no body whatever its Content-Length says.
    std::optional<Reply> read(bool head = false) {
        std::size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill()) return std::nullopt;
        Reply r;
        const std::string top = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        std::size_t pos = top.find("\r\n");
        const std::string statusLine = top.substr(0, pos);
        if (statusLine.size() < 12 || statusLine.rfind("HTTP/1.", 0) != 0) return std::nullopt;
        r.status = std::stoi(statusLine.substr(9, 3));
        while (pos != std::string::npos) {
            const std::size_t next = top.find("\r\n", pos + 2);
            const std::string line = top.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            pos = next;
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            r.headers[name] = value;
        }
        const std::size_t length = head || r.header("content-length").empty() ? 0 : std::stoul(r.header("content-length"));
        while (buf_.size() < length)
            if (!fill()) return std::nullopt;
        r.body = buf_.substr(0, length);
        buf_.erase(0, length);
        return r;
    }

    // The peer closed the connection (read gives end of stream or a reset) within the time.
    bool closedByPeer(int withinMs = 2000) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(withinMs);
        while (std::chrono::steady_clock::now() < end) {
            pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
            if (::poll(&p, 1, 20) != 1) continue;
            char c[512];
            const ssize_t n = ::recv(fd_, c, sizeof c, 0);
            if (n <= 0) return true;
            buf_.append(c, static_cast<std::size_t>(n));
        }
        return false;
    }
    const std::string& pending() const { return buf_; }

private:
    bool fill() {
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buf_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
    int fd_ = -1;
    std::string buf_;
    int timeoutMs_ = 2000;
};

inline std::string request(const std::string& method, const std::string& path, const std::string& extraHeaders = "",
                           const std::string& body = "") {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: test\r\n" + extraHeaders;
    if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

// One request on a fresh connection.
inline std::optional<Reply> once(int port, const std::string& method, const std::string& path,
                                 const std::string& extraHeaders = "", const std::string& body = "", int timeoutMs = 2000) {
    Connection c("127.0.0.1", port, timeoutMs);
    if (!c.ok() || !c.send(request(method, path, extraHeaders, body))) return std::nullopt;
    return c.read(method == "HEAD");
}

}  // namespace testhttp
