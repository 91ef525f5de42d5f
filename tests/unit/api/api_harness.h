#pragma once
// The HTTP API in-process on 127.0.0.1 (port 0), and what its tests share.
#include <doctest/doctest.h>

#include <future>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "api/agent_check.h"
#include "api/control_socket.h"
#include "api/http_api.h"
#include <mutex>

#include "snapshot_fixtures.h"
#include "support/http_client.h"
#include "unit/temp_dir.h"

using namespace api;
using testhttp::Connection;
using testhttp::request;

namespace apitest {

struct RecordingControl : DrainControl {
    std::vector<bool> requests;
    std::vector<std::pair<std::vector<std::string>, bool>> vipRequests;
    void requestDrain(bool d) override { requests.push_back(d); }
    void requestVipDrain(const std::vector<std::string>& vips, bool d) override { vipRequests.emplace_back(vips, d); }
    std::vector<std::string> logged;  // who asked (the API's threads call it; read after the request's answer)
    std::mutex loggedMu;
    void logRequest(const std::string& line) override {
        std::lock_guard lock(loggedMu);
        logged.push_back(line);
    }
};

inline constexpr const char* kToken = "s3cret-token-0123456789abcdef0123456789";

// The API in-process on 127.0.0.1, port 0.
struct Harness {
    SnapshotStore store;
    RecordingControl control;
    std::vector<std::string> warnings;
    std::mutex warnMu;
    HttpApi api;
    int port = 0;
    explicit Harness(std::string token = "", HttpLimits limits = {})
        : api(store, control, HttpApiOptions{.host = "127.0.0.1", .port = 0, .token = std::move(token), .healthyWithinMs = 5000,
                                             .limits = limits, .warn = [this](const std::string& l) {
                                                 std::lock_guard lock(warnMu);
                                                 warnings.push_back(l);
                                             }}) {
        auto sp = std::make_shared<Snapshot>();
        Snapshot& s = *sp;
        s.server = fixtures::notReady({"198.51.100.2/32 is not bound on lo"});
        s.setVips({{.vip = "198.51.100.1", .bound = true},
                   {.vip = "2001:db8::1", .bound = false, .routeWanted = true, .findings = {{.message = "2001:db8::1/128 is not bound on lo"}}}});
        s.version = "t";
        store.publish(std::move(sp));
        store.beat();
        port = api.start().value();
    }
    std::optional<testhttp::Reply> get(const std::string& path, const std::string& headers = "") {
        return testhttp::once(port, "GET", path, headers);
    }
    std::optional<testhttp::Reply> post(const std::string& path, const std::string& headers = "", const std::string& body = "") {
        return testhttp::once(port, "POST", path, headers, body);
    }
    // Sends raw bytes, returns everything the server answers until it closes or 1 s passes.
    std::string raw(const std::string& bytes) {
        Connection c("127.0.0.1", port, 1000);
        REQUIRE(c.ok());
        c.send(bytes);
        c.closedByPeer(1000);
        return c.pending();
    }
};

inline int countOf(const std::string& hay, const std::string& needle) {
    int n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

// Waits (polling) until the condition holds or the deadline passes.
template <class F>
bool eventually(F f, int withinMs = 5000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(withinMs);
    while (!f()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

inline const std::string kBearer = std::string("Authorization: Bearer ") + kToken + "\r\n";

}  // namespace apitest

