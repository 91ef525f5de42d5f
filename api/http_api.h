#pragma once
// The readiness API over HTTP: GNU libmicrohttpd parses, api/routes answers (reading only
// the published snapshot).
//
// Each of a few threads (limits.threads) runs one epoll loop: it accepts from the shared
// listening socket, hands each connection to its own libmicrohttpd daemon (external epoll
// mode) and enforces the limits below, counted across all loops. Every request is answered as soon
// as its head has arrived, from the snapshot, without reading a body, so a slow or
// hostile client holds at most its own connection: it can never delay another client's
// request. See README "The HTTP API's limits".
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/routes.h"
#include "api/snapshot.h"

namespace api {

struct HttpLimits {
    int maxConnections = 512;          // open at once; at the limit the longest-waiting idle one makes room
    int maxPerClient = 32;             // open at once from one client address; more are refused
    std::size_t maxHead = 8 * 1024;    // request line and headers; larger: 431, closed
    std::size_t connectionMemory = 16 * 1024;  // libmicrohttpd's buffer per connection
    std::chrono::milliseconds headDeadline{5000};       // a request head must arrive in full within this
                                                        // of the connection opening or the previous answer
    std::chrono::milliseconds exchangeDeadline{15000};  // an answer must be taken within this
    int idleTimeoutSeconds = 10;       // no byte either way for this long: closed
    int backlog = 1024;                // listen(2) backlog
    int threads = 2;                   // event loops, each serving its share of the connections
    // Answers of largeBody bytes or more (/status, /metrics with thousands of VIPs) held
    // for clients at once, all connections together; past it such a request gets 503 with
    // Retry-After, so slow readers cannot pile up copies. /ready answers are never large.
    std::size_t largeBody = 64 * 1024;
    std::size_t largeBodiesInFlight = 64 * 1024 * 1024;
};

struct HttpApiOptions {
    std::string host = "127.0.0.1";
    int port = 0;            // 0: any free port (tests)
    std::string token;       // empty: POST /drain and /undrain answer 403
    int healthyWithinMs = 5000;  // /healthz fails when the loop has not ticked for longer
    HttpLimits limits{};
    std::function<void(const std::string&)> warn{};  // failed drain attempts (rate-limited)
};

class HttpApi {
public:
    HttpApi(const SnapshotStore& store, DrainControl& control, HttpApiOptions options);
    ~HttpApi();
    HttpApi(const HttpApi&) = delete;
    HttpApi& operator=(const HttpApi&) = delete;

    // Binds and starts serving on a thread of its own; returns the bound port.
    std::expected<int, std::string> start();
    // Serves connections handed in by addConnection() only (fuzzing, tests): no socket.
    std::expected<void, std::string> startWithoutListener();
    // Hands over a connected socket (the engine owns and closes it).
    void addConnection(int fd);
    void stop();
    void setToken(const std::string& token);
    HttpCounters counters() const;

    class Engine;
    struct Admission;

private:
    Routes routes_;
    HttpApiOptions options_;
    std::unique_ptr<Admission> admission_;
    std::vector<std::unique_ptr<Engine>> engines_;
    int listenFd_ = -1;
};

}  // namespace api
