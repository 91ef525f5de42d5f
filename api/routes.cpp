#include "api/routes.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>

#include "agent/base/clock.h"
#include "api/metrics.h"
#include "api/readiness.h"
#include "api/socket_util.h"

namespace api {
namespace {

using nlohmann::json;

HttpResponse jsonResponse(int status, const json& body) {
    return {.status = status, .contentType = "application/json", .body = body.dump() + "\n", .headers = {}, .close = false};
}

HttpResponse refuse(int status, const std::string& why) {
    auto r = jsonResponse(status, {{"error", why}});
    r.close = true;
    return r;
}

using agent::nowUnix;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

enum class Route { Ready, ReadyVip, Healthz, Status, Metrics, Drain, Undrain, DrainVip, UndrainVip, None };

Route routeOf(const std::string& path) {
    if (path == "/ready") return Route::Ready;
    if (path.rfind("/ready/", 0) == 0) return Route::ReadyVip;
    if (path == "/healthz") return Route::Healthz;
    if (path == "/status") return Route::Status;
    if (path == "/metrics") return Route::Metrics;
    if (path == "/drain") return Route::Drain;
    if (path == "/undrain") return Route::Undrain;
    if (path.rfind("/drain/", 0) == 0) return Route::DrainVip;
    if (path.rfind("/undrain/", 0) == 0) return Route::UndrainVip;
    return Route::None;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return &v;
    return nullptr;
}

bool tokensEqual(const std::string& a, const std::string& b) {
    // Compare over the longer length so the time depends on neither content nor prefix.
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

Routes::Routes(const SnapshotStore& store, DrainControl& control, RouteOptions options)
    : store_(store), control_(control), options_(std::move(options)) {}

void Routes::setToken(const std::string& token) {
    std::lock_guard lock(tokenMu_);
    options_.token = token;
}

bool Routes::authorized(const HttpRequest& req, HttpResponse& refusal) const {
    std::string token;
    {
        std::lock_guard lock(tokenMu_);
        token = options_.token;
    }
    if (token.empty()) {
        refusal = refuse(403, "remote drain is disabled: configure api.token_file");
        return false;
    }
    const auto now = AuthThrottle::Clock::now();
    if (const auto wait = throttle_.refusedFor(req.client, now)) {
        refusal = refuse(429, "too many failed attempts from " + req.client + "; try again in " + std::to_string(*wait) + " s");
        refusal.headers.emplace_back("Retry-After", std::to_string(*wait));
        return false;
    }
    const std::string prefix = "Bearer ";
    const std::string* auth = req.header("Authorization");
    const bool present = auth && auth->rfind(prefix, 0) == 0;
    if (present && tokensEqual(auth->substr(prefix.size()), token)) return true;
    const char* why = present ? "wrong token" : "missing bearer token";
    refusal = refuse(401, why);
    refusal.headers.emplace_back("WWW-Authenticate", "Bearer");
    if (const std::string line = throttle_.failed(req.client, why, now); !line.empty() && options_.warn) options_.warn(line);
    return false;
}

HttpResponse Routes::handle(const HttpRequest& req) const {
    HttpResponse r = answer(req);
    // The engine hands over no body it has not read: whatever a request announces as
    // its body must never be taken for the next request on the connection.
    if (announcesBody(req.header("Transfer-Encoding"), req.header("Content-Length")) || !req.body.empty()) r.close = true;
    return r;
}

HttpResponse Routes::answer(const HttpRequest& req) const {
    // Refused before any route acts on the request (a drain must not happen first).
    for (const auto& [name, value] : req.headers)
        if (name.empty() || std::any_of(name.begin(), name.end(), [](char c) { return c <= ' ' || c == 0x7f; }))
            return refuse(400, "malformed header name \"" + printable(name, 40) + "\"");
    if (req.path.find('\0') != std::string::npos) return refuse(400, "malformed request target: it holds a NUL byte");
    const Route route = routeOf(req.path);
    if (route == Route::None) return jsonResponse(404, {{"error", "not found"}});
    const bool post = route == Route::Drain || route == Route::Undrain || route == Route::DrainVip || route == Route::UndrainVip;
    const bool read = req.method == "GET" || req.method == "HEAD";
    if ((post && req.method != "POST") || (!post && !read)) {
        const char* allow = post ? "POST" : "GET, HEAD";
        auto r = jsonResponse(405, {{"error", "method not allowed"}, {"allow", allow}});
        r.headers.emplace_back("Allow", allow);
        return r;
    }
    // A body where no route takes one could be a second request smuggled inside the
    // first: refused, and the connection closed.
    const std::string* length = req.header("Content-Length");
    if (req.header("Transfer-Encoding") || req.header("Content-Encoding") || req.header("Range"))
        return refuse(400, "Transfer-Encoding, Content-Encoding and Range are not accepted");
    if (read && (announcesBody(false, length) || !req.body.empty())) return refuse(400, "a GET request takes no body");
    const bool lengthOk = !length || (!length->empty() && length->size() <= 4 &&
                                      std::all_of(length->begin(), length->end(), ::isdigit) &&
                                      std::stoul(*length) <= kMaxRequestBody);
    if (post && (req.body.size() > kMaxRequestBody || !lengthOk)) return refuse(413, "payload too large");

    switch (route) {
        case Route::Drain:
        case Route::Undrain: {
            HttpResponse refusal;
            if (!authorized(req, refusal)) return refusal;
            const bool drain = route == Route::Drain;
            control_.logRequest(std::string(drain ? "drain" : "undrain") + " of the whole server requested by HTTP client " + printable(req.client, 64));
            control_.requestDrain(drain);
            auto r = jsonResponse(200, {{"draining", drain}});
            r.close = true;
            return r;
        }
        case Route::DrainVip:
        case Route::UndrainVip: {
            HttpResponse refusal;
            if (!authorized(req, refusal)) return refusal;
            const bool drain = route == Route::DrainVip;
            const std::string text = req.path.substr(drain ? 7 : 9);
            const std::string vip = canonicalAddress(text);
            if (vip.empty() || !store_.get()->findExact(vip))
                return refuse(404, printable(text, 64) + " is not a VIP managed by this agent; nothing changed");
            control_.logRequest(std::string(drain ? "drain" : "undrain") + " of " + vip + " requested by HTTP client " + printable(req.client, 64));
            control_.requestVipDrain({vip}, drain);
            auto r = jsonResponse(200, {{"vip", vip}, {"draining", drain}});
            r.close = true;
            return r;
        }
        case Route::Ready: {
            const auto snap = store_.get();
            return {.status = snap->ready() ? 200 : 503, .contentType = "application/json", .body = snap->readyBody, .headers = {}, .close = false};
        }
        case Route::ReadyVip: {
            // "/ready/VIP/" is the same VIP (a trailing slash is a common spelling).
            std::string text = req.path.substr(7);
            if (text.size() > 1 && text.back() == '/') text.pop_back();
            if (text.empty())
                return jsonResponse(404, {{"error", "no VIP named: ask /ready/<vip>, e.g. /ready/198.51.100.188, or /ready for the whole server"}});
            const std::string vip = canonicalVipText(text);
            const auto snap = store_.get();
            if (const auto* v = vip.empty() ? nullptr : snap->find(vip)) {
                static const std::string readyBody = renderReadyBody(Readiness::readyNow());
                if (vipReady(*snap, *v))
                    return {.status = 200, .contentType = "application/json", .body = readyBody, .headers = {}, .close = false};
                return {.status = 503, .contentType = "application/json", .body = renderReadyBody(vipReadiness(*snap, *v)), .headers = {},
                        .close = false};
            }
            // A NAT VIP: published on the director, never bound here; ready when its reply
            // path, its director and its services are.
            if (const auto* n = vip.empty() ? nullptr : snap->nat.find(vip)) {
                const auto r = natVipReadiness(*snap, *n);
                return {.status = r.ready() ? 200 : 503, .contentType = "application/json", .body = renderReadyBody(r), .headers = {},
                        .close = false};
            }
            return jsonResponse(404, {{"error", printable(text, 64) + " is not a VIP managed by this agent"}});
        }
        case Route::Healthz: {
            const auto since = store_.msSinceBeat();
            const bool alive = since <= options_.healthyWithinMs;
            return jsonResponse(alive ? 200 : 500, {{"alive", alive}, {"last_tick_ms_ago", since}});
        }
        case Route::Status: {
            // The document is rendered once per snapshot; the uptime goes in as its
            // first member without parsing it again.
            control_.wantConnectionCounts();
            const auto snap = store_.get();
            const std::string& doc = snap->statusBody();
            const double uptime = snap->startedAtUnix > 0 ? nowUnix() - snap->startedAtUnix : 0.0;
            std::string body = "{\"uptime_seconds\":" + json(uptime).dump();
            body += doc.size() > 2 ? "," + doc.substr(1) : "}";
            return {.status = 200, .contentType = "application/json", .body = body + "\n", .headers = {}, .close = false};
        }
        case Route::Metrics: {
            control_.wantConnectionCounts();
            const auto snap = store_.get();
            std::string body = renderMetrics(*snap, nowUnix()) + renderProcessMetrics(snap->startedAtUnix);
            if (options_.engineCounters) {
                HttpCounters c = options_.engineCounters();
                c.authFailures = throttle_.failures();
                body += renderApiMetrics(c);
            }
            return {.status = 200, .contentType = "text/plain; version=0.0.4; charset=utf-8", .body = std::move(body),
                    .headers = {}, .close = false};
        }
        case Route::None: break;
    }
    return jsonResponse(404, {{"error", "not found"}});
}

}  // namespace api
