// The HTTP API's engines: accept, admit (per-client and total limits, making room), hand
// each connection to libmicrohttpd, answer from the routes once a request's head is in.
#include "api/http_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

namespace api {

namespace {

std::pair<std::string, std::string> clientOf(const sockaddr_storage& ss) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss).sin_addr;
        inet_ntop(AF_INET, &a, text, sizeof text);
        return {std::string(reinterpret_cast<const char*>(&a), 4), text};
    }
    if (ss.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, a.s6_addr + 12, text, sizeof text);
            return {std::string(reinterpret_cast<const char*>(a.s6_addr + 12), 4), text};
        }
        inet_ntop(AF_INET6, &a, text, sizeof text);
        return {std::string(reinterpret_cast<const char*>(&a), 16), text};
    }
    return {"local", "local"};
}

// Paths are taken as sent: no %-decoding (no route needs it; it only widens what reaches
// the handlers).
std::size_t keepAsSent(void*, MHD_Connection*, char* s) { return std::strlen(s); }

// A request target with a NUL byte ("GET /ready\0x HTTP/1.1"): libmicrohttpd hands the
// handlers C strings, so it would arrive as "/ready". libmicrohttpd 0.9.75 calls this
// before it touches the target, with the version's space already made a NUL and the
// version ("HTTP/d.d", checked to be exactly that) after it: a target whose first NUL is
// not that one holds a NUL of its own. Every byte read lies within the request line.
char nulInTarget;
void* checkTarget(void*, const char* uri, MHD_Connection*) {
    if (!uri) return nullptr;
    const char* after = uri + std::strlen(uri) + 1;
    const bool clean = std::strncmp(after, "HTTP/", 5) == 0 && std::strlen(after) == 8;
    return clean ? nullptr : &nulInTarget;
}

MHD_Result collectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
    static_cast<HttpHeaders*>(cls)->emplace_back(key ? key : "", value ? value : "");
    return MHD_YES;
}

void deleteBody(void* body) { delete static_cast<std::string*>(body); }

struct DestroyResponse {
    void operator()(MHD_Response* r) const noexcept { MHD_destroy_response(r); }
};
using Response = std::unique_ptr<MHD_Response, DestroyResponse>;

}  // namespace

std::expected<void, std::string> HttpApi::Engine::start(int listenFd) {
    listenFd_ = listenFd;
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!epoll_ || !wake_) return std::unexpected(std::string("epoll: ") + std::strerror(errno));
    // libmicrohttpd never listens: the loop accepts and applies the per-client limit and
    // the room-making below, then hands the socket over. Its own connection limit only
    // has to cover those dropped but not yet reaped.
    const unsigned flags = MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    mhd_.reset(MHD_start_daemon(
        flags, 0, nullptr, nullptr, &Engine::onRequest, this,
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(2 * limits_.maxConnections + 64),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits_.connectionMemory,
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, static_cast<std::size_t>(1024),
        MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(limits_.idleTimeoutSeconds),
        MHD_OPTION_NOTIFY_COMPLETED, &Engine::onCompleted, this,
        MHD_OPTION_NOTIFY_CONNECTION, &Engine::onConnection, this,
        MHD_OPTION_UNESCAPE_CALLBACK, &keepAsSent, nullptr,
        MHD_OPTION_URI_LOG_CALLBACK, &checkTarget, nullptr,
        MHD_OPTION_EXTERNAL_LOGGER, +[](void*, const char*, va_list) {}, nullptr,
        MHD_OPTION_END));
    if (!mhd_) return std::unexpected("the HTTP engine (libmicrohttpd) did not start");
    const MHD_DaemonInfo* info = MHD_get_daemon_info(mhd_.get(), MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) return std::unexpected("the HTTP engine has no epoll descriptor");
    for (int fd : {listenFd_, info->epoll_fd, wake_.get()}) {
        if (fd < 0) continue;
        epoll_event ev{.events = EPOLLIN | (fd == listenFd_ ? EPOLLEXCLUSIVE : 0u), .data = {.fd = fd}};
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return std::unexpected(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    thread_ = std::thread([this] { loop(); });
    return {};
}

void HttpApi::Engine::stop() {
    if (thread_.joinable()) {
        stopping_ = true;
        const std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
        thread_.join();
    }
    mhd_.reset();  // closes its connections
    {
        std::lock_guard lock(admission_.mu);
        conns_.clear();
    }
    {
        std::lock_guard lock(handMu_);
        handedIn_.clear();
    }
    epoll_.reset();
    wake_.reset();
}

void HttpApi::Engine::add(agent::UniqueFd fd) {
    std::lock_guard lock(handMu_);
    handedIn_.push_back(std::move(fd));
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

void HttpApi::Engine::loop() {
    epoll_event events[8];
    while (!stopping_) {
        const int n = ::epoll_wait(epoll_.get(), events, 8, timeoutMs(Clock::now()));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == listenFd_) acceptSome();
            if (events[i].data.fd == wake_.get()) {
                std::uint64_t v;
                (void)!::read(wake_.get(), &v, sizeof v);
                std::vector<agent::UniqueFd> fds;
                {
                    std::lock_guard lock(handMu_);
                    fds.swap(handedIn_);
                }
                for (auto& fd : fds) {
                    sockaddr_storage ss{};
                    socklen_t len = sizeof ss;
                    if (::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0 || len == 0) {
                        ss = {};
                        ss.ss_family = AF_UNIX;
                        len = sizeof(sa_family_t);
                    }
                    admit(std::move(fd), ss, len);
                }
            }
        }
        if (stopping_) break;
        MHD_run(mhd_.get());
        sweep(Clock::now());
    }
}

// No connection and nothing libmicrohttpd waits for: sleep until the listening socket or the
// wake eventfd (a handed-in connection, stop) says otherwise. An idle agent's API threads
// then cost nothing; a periodic wake of each engine was most of the idle CPU.
int HttpApi::Engine::timeoutMs(Clock::time_point now) {
    MHD_UNSIGNED_LONG_LONG mhd = 0;
    const bool mhdWaits = MHD_get_timeout(mhd_.get(), &mhd) == MHD_YES;
    if (conns_.empty() && !mhdWaits) return -1;
    long long ms = 1000;
    if (mhdWaits) ms = std::min<long long>(ms, static_cast<long long>(mhd));
    if (!conns_.empty()) {
        const auto untilSweep = std::chrono::duration_cast<std::chrono::milliseconds>(nextSweep_ - now).count();
        ms = std::min<long long>(ms, std::max<long long>(0, untilSweep));
    }
    return static_cast<int>(ms);
}

void HttpApi::Engine::acceptSome() {
    for (int i = 0; i < 64; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        agent::UniqueFd fd(::accept4(listenFd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) return;  // EAGAIN, or a client gone before accept
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        admit(std::move(fd), ss, len);
    }
}

void HttpApi::Engine::admit(agent::UniqueFd owned, const sockaddr_storage& ss, socklen_t len) {
    const auto now = Clock::now();
    const int fd = owned.get();
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    std::tie(conn->client, conn->clientText) = clientOf(ss);
    conn->waitingSince = now.time_since_epoch().count();
    Conn* c = conn.get();
    {
        std::lock_guard lock(admission_.mu);
        auto& counters = admission_.counters;
        int& fromClient = admission_.perClient[c->client];
        const Admit verdict = admitDecision(fromClient, static_cast<std::size_t>(counters.open), limits_);
        if (verdict == Admit::RefusedPerClient || (verdict == Admit::MakeRoom && !makeRoom())) {
            ++(verdict == Admit::RefusedPerClient ? counters.refusedPerClient : counters.refusedFull);
            if (fromClient == 0) admission_.perClient.erase(c->client);
            return;  // refused: owned closes it
        }
        ++fromClient;
        ++counters.open;
        ++counters.accepted;
        conns_[fd] = std::move(conn);
    }
    if (conns_.size() == 1) nextSweep_ = now + std::chrono::milliseconds(100);
    if (MHD_add_connection(mhd_.get(), owned.release(), reinterpret_cast<const sockaddr*>(&ss), len) != MHD_YES) {
        // libmicrohttpd closed it; it may or may not have announced it
        auto it = conns_.find(fd);
        if (it != conns_.end() && it->second.get() == c) forget(c);
    }
}

// At the connection limit: of this engine's connections, the one that has waited longest
// for a request head (or idled longest after an answer) is closed to let the new one in,
// so a crowd of slow or idle clients can never lock out a director's poll. False when
// every one is being answered. Called with the admission lock held.
bool HttpApi::Engine::makeRoom() {
    Conn* oldest = nullptr;
    ConnTimes oldestTimes;
    for (Engine* e : admission_.engines)
        for (auto& [fd, c] : e->conns_)
            if (const ConnTimes t = c->times(); makesRoomBefore(t, oldest ? &oldestTimes : nullptr)) {
                oldest = c.get();
                oldestTimes = t;
            }
    if (!oldest) return false;
    dropLocked(*oldest, &HttpCounters::evicted);
    return true;
}

void HttpApi::Engine::drop(Conn& c, std::uint64_t HttpCounters::*why) {
    std::lock_guard lock(admission_.mu);
    if (!c.dropped) dropLocked(c, why);  // else another loop made room with it meanwhile
}

// libmicrohttpd sees the end of the stream and closes and frees the connection in its
// next run; the fd stays open, and in its loop's table, until then.
void HttpApi::Engine::dropLocked(Conn& c, std::uint64_t HttpCounters::*why) {
    ::shutdown(c.fd, SHUT_RDWR);
    c.dropped = true;
    --admission_.counters.open;
    ++(admission_.counters.*why);
}

void HttpApi::Engine::sweep(Clock::time_point now) {
    if (now < nextSweep_) return;
    nextSweep_ = now + std::chrono::milliseconds(100);
    bool dropped = false;
    for (auto& [fd, c] : conns_) {
        if (const auto late = overdue(c->times(), now, limits_)) {
            drop(*c, *late == Overdue::HeadTimeout ? &HttpCounters::headTimeouts : &HttpCounters::exchangeTimeouts);
            dropped = true;
        }
    }
    if (dropped) MHD_run(mhd_.get());
}

void HttpApi::Engine::forget(Conn* c) {
    std::lock_guard lock(admission_.mu);
    if (!c->dropped) --admission_.counters.open;
    auto pc = admission_.perClient.find(c->client);
    if (pc != admission_.perClient.end() && --pc->second <= 0) admission_.perClient.erase(pc);
    conns_.erase(c->fd);
}

void HttpApi::Engine::onConnection(void* cls, MHD_Connection* connection, void** socketContext,
                                   MHD_ConnectionNotificationCode toe) {
    auto* self = static_cast<Engine*>(cls);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        auto it = info ? self->conns_.find(info->connect_fd) : self->conns_.end();
        *socketContext = it == self->conns_.end() ? nullptr : it->second.get();
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socketContext) {
        self->forget(static_cast<Conn*>(*socketContext));
        *socketContext = nullptr;
    }
}

void HttpApi::Engine::onCompleted(void* cls, MHD_Connection* connection, void**, MHD_RequestTerminationCode) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!info || !info->socket_context) return;
    auto* c = static_cast<Conn*>(info->socket_context);
    static_cast<Engine*>(cls)->admission_.largeInFlight -= std::exchange(c->largeAnswer, 0);
    c->waitingSince = Clock::now().time_since_epoch().count();
    c->inExchange = false;
}

// libmicrohttpd calls this when a request's head has arrived, then again once its body
// has (at once when it announces none), then with each piece of the body. A request
// that announces no body is answered on the second call, which keeps the connection
// open for the next request; one that announces a body is answered on the first, before
// any of the body is read, and libmicrohttpd closes the connection after the answer.
MHD_Result HttpApi::Engine::onRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                                      const char*, const char*, std::size_t* uploadSize, void** reqCls) {
    static char headIn, answered;
    auto* self = static_cast<Engine*>(cls);
    if (*reqCls == &answered) {
        *uploadSize = 0;  // a body offered after the answer went out: never kept
        return MHD_YES;
    }
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    auto* conn = info ? static_cast<Conn*>(info->socket_context) : nullptr;
    if (*reqCls == &nulInTarget) {  // refused at once, whatever else it holds
        *reqCls = &answered;
        *uploadSize = 0;
        return self->answer(connection, conn, std::string(url ? url : "") + '\0', method);
    }
    if (*reqCls == nullptr) {
        if (conn) {
            conn->inExchange = true;
            conn->exchangeSince = Clock::now().time_since_epoch().count();
        }
        const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const std::string lengthText = length ? length : "";
        if (!announcesBody(MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING),
                           length ? &lengthText : nullptr)) {
            *reqCls = &headIn;
            return MHD_YES;
        }
    }
    *reqCls = &answered;
    *uploadSize = 0;
    return self->answer(connection, conn, url ? url : "", method);
}

// The answer, from the routes; a body is never read (refused, or for POST /drain and
// /undrain taken as it stands, and the connection closed).
MHD_Result HttpApi::Engine::answer(MHD_Connection* connection, Conn* conn, std::string path, const char* method) {
    HttpResponse out;
    const MHD_ConnectionInfo* head = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (head && head->header_size > limits_.maxHead) {
        out = HttpResponse{.status = 431, .contentType = "application/json",
                           .body = "{\"error\":\"request head larger than " + std::to_string(limits_.maxHead) + " bytes\"}\n",
                           .headers = {}, .close = true};
    } else {
        HttpRequest req{.method = method ? method : "", .path = std::move(path), .headers = {}, .body = {},
                        .client = conn ? conn->clientText : "local"};
        MHD_get_connection_values(connection, MHD_HEADER_KIND, &collectHeader, &req.headers);
        out = routes_.handle(req);
    }
    if (const std::size_t size = out.body.size(); conn && isLarge(size, limits_)) {
        if (!largeAnswerFits(admission_.largeInFlight.fetch_add(size), size, limits_)) {
            admission_.largeInFlight -= size;
            out = HttpResponse{.status = 503, .contentType = "application/json",
                               .body = "{\"error\":\"busy: too many large answers are being taken; retry\"}\n",
                               .headers = {{"Retry-After", "1"}}, .close = true};
        } else {
            conn->largeAnswer = size;
        }
    }
    // The body is handed to libmicrohttpd without a copy (a /status of 10,000 VIPs is MiBs):
    // owned here until the response exists, then freed by it (deleteBody).
    auto body = std::make_unique<std::string>(std::move(out.body));
    const Response r(MHD_create_response_from_buffer_with_free_callback_cls(body->size(), body->data(), &deleteBody, body.get()));
    if (!r) return MHD_NO;
    body.release();
    MHD_add_response_header(r.get(), MHD_HTTP_HEADER_CONTENT_TYPE, out.contentType.c_str());
    for (const auto& [k, v] : out.headers) MHD_add_response_header(r.get(), k.c_str(), v.c_str());
    if (out.close) MHD_add_response_header(r.get(), MHD_HTTP_HEADER_CONNECTION, "close");
    return MHD_queue_response(connection, static_cast<unsigned>(out.status), r.get());  // it keeps its own reference
}

}  // namespace api
