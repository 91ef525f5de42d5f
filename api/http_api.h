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

#include "agent/base/unique_fd.h"
#include "api/admission.h"
#include "api/routes.h"
#include "api/snapshot.h"

namespace api {


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

    // Binds (or takes `listening`, a socket already listening: one systemd kept across a
    // restart) and starts serving on threads of their own; returns the bound port.
    std::expected<int, std::string> start(agent::UniqueFd listening = {});
    int listenFd() const { return listen_.get(); }
    // Serves connections handed in by addConnection() only (fuzzing, tests): no socket.
    std::expected<void, std::string> startWithoutListener();
    // Hands over a connected socket (the engine owns and closes it).
    void addConnection(agent::UniqueFd fd);
    void stop();
    // Before a hand-over: accepts no more connections (they wait in the backlog of the
    // listening socket, kept by systemd for the next process) and waits, at most `within`,
    // until the open ones have been answered and closed.
    void quiesce(std::chrono::milliseconds within);
    void setToken(const std::string& token);
    HttpCounters counters() const;

    class Engine;
    struct Admission;

private:
    Routes routes_;
    HttpApiOptions options_;
    std::unique_ptr<Admission> admission_;
    std::vector<std::unique_ptr<Engine>> engines_;
    agent::UniqueFd listen_;
};

}  // namespace api
