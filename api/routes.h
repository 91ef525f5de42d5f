#pragma once
// The readiness API's request handling, independent of the HTTP engine that parses the
// bytes: a request (method, path, headers, body) in, a response out. It reads only the
// published snapshot and may ask the loop to drain; it never blocks and never throws.
//   GET|HEAD /ready, /ready/<vip>, /healthz, /status, /metrics
//   POST /drain, /undrain, /drain/<vip>, /undrain/<vip> (bearer token; failures
//        throttled per client address)
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "api/auth_throttle.h"
#include "api/metrics.h"
#include "api/snapshot.h"

namespace api {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method;
    std::string path;  // without the query string
    HttpHeaders headers;
    std::string body;
    std::string client = "local";  // the client's address, for the failed-token throttle
    // The header's value (names compare case-insensitively), or nullptr.
    const std::string* header(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    HttpHeaders headers;  // beyond Content-Type and Content-Length
    bool close = false;   // the connection must not carry another request
};

struct RouteOptions {
    std::string token;           // empty: POST /drain and /undrain answer 403
    int healthyWithinMs = 5000;  // /healthz fails when the loop has not ticked for longer
    std::function<void(const std::string&)> warn{};  // failed drain attempts (rate-limited)
    std::function<HttpCounters()> engineCounters{};   // the HTTP engine's, for /metrics
};

inline constexpr std::size_t kMaxRequestBody = 1024;  // POST /drain and /undrain only

// Whether a request announces a body: Transfer-Encoding, or a Content-Length other than
// "0". The engine asks before the routes see the request; the routes refuse it or close.
inline bool announcesBody(bool transferEncoding, const std::string* contentLength) {
    return transferEncoding || (contentLength && *contentLength != "0");
}

class Routes {
public:
    Routes(const SnapshotStore& store, DrainControl& control, RouteOptions options);
    HttpResponse handle(const HttpRequest& req) const;
    void setToken(const std::string& token);

private:
    HttpResponse answer(const HttpRequest& req) const;
    bool authorized(const HttpRequest& req, HttpResponse& refusal) const;
    const SnapshotStore& store_;
    DrainControl& control_;
    RouteOptions options_;
    mutable std::mutex tokenMu_;
    mutable AuthThrottle throttle_;
};

// Constant-time comparison (the time does not depend on where the inputs differ).
bool tokensEqual(const std::string& a, const std::string& b);

}  // namespace api
