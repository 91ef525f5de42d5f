// libFuzzer harness: raw bytes as one client's HTTP stream through the API's engine
// (libmicrohttpd and the limits around it), in-process over a socketpair. Whatever comes
// in, what goes out must be a sequence of well-formed responses with known statuses, the
// connection must end, and nothing may drain without the token.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/http_api.h"

namespace {

constexpr const char* kToken = "fuzz-token-0123456789abcdef0123456789";

struct CountingControl : api::DrainControl {
    std::atomic<int> requests{0};
    void requestDrain(bool) override { ++requests; }
    void requestVipDrain(const std::vector<std::string>&, bool) override { ++requests; }
};

struct World {
    api::SnapshotStore store;
    CountingControl control;
    api::HttpApi api{store, control, api::HttpApiOptions{.host = "", .port = 0, .token = kToken, .healthyWithinMs = 60000}};
    World() {
        auto snap = std::make_shared<api::Snapshot>();
        snap->server = api::Readiness::readyNow();
        snap->setVips({{.vip = "198.51.100.1", .bound = true},
                       {.vip = "2001:db8::1", .bound = false, .routeWanted = true, .findings = {{.message = "2001:db8::1/128 is not bound on lo"}}}});
        snap->version = "fuzz";
        store.publish(std::move(snap));
        store.beat();
        if (!api.startWithoutListener()) __builtin_trap();
    }
};

bool knownStatus(int s) {
    switch (s) {
        case 100:  // "Continue", to a request with "Expect: 100-continue"
        case 200: case 400: case 401: case 403: case 404: case 405: case 413: case 414: case 429: case 431:
        case 500: case 501: case 503: case 505: return true;
        default: return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World* world = new World;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
    const int before = world->control.requests.load();
    world->api.addConnection(agent::UniqueFd(sv[0]));
    std::size_t off = 0;
    while (off < size) {
        const ssize_t n = ::send(sv[1], data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0) break;  // the engine closed early (a refused request): fine
        off += static_cast<std::size_t>(n);
    }
    ::shutdown(sv[1], SHUT_WR);
    timeval tv{.tv_sec = 20, .tv_usec = 0};  // beyond the engine's own deadlines
    ::setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[16384];
    ssize_t n;
    while ((n = ::recv(sv[1], buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) __builtin_trap();  // never ended the connection
    ::close(sv[1]);

    // Every response: a status line with a known code, headers, a Content-Length body (none
    // after HEAD).
    std::size_t pos = 0;
    while (pos < out.size()) {
        if (out.compare(pos, 9, "HTTP/1.1 ") != 0 && out.compare(pos, 9, "HTTP/1.0 ") != 0) __builtin_trap();
        const int status = std::atoi(out.c_str() + pos + 9);
        if (!knownStatus(status)) __builtin_trap();
        const auto end = out.find("\r\n\r\n", pos);
        if (end == std::string::npos) __builtin_trap();
        const std::string head = out.substr(pos, end - pos);
        const auto cl = head.find("Content-Length: ");
        const std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
        // The next response (or the end) follows the body, or directly the head when the
        // request was HEAD (its Content-Length is that of the GET).
        const auto nextAt = [&](std::size_t at) { return at == out.size() || (at < out.size() && out.compare(at, 7, "HTTP/1.") == 0); };
        if (nextAt(end + 4 + length)) pos = end + 4 + length;
        else if (length > 0 && nextAt(end + 4)) pos = end + 4;
        else __builtin_trap();
    }
    const std::string in(reinterpret_cast<const char*>(data), size);
    if (world->control.requests.load() != before && in.find(std::string("Bearer ") + kToken) == std::string::npos) __builtin_trap();
    return 0;
}
