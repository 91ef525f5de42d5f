#include <doctest/doctest.h>

#include <future>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "agent/daemon/service_check.h"
#include "api/agent_check.h"
#include "api/control_socket.h"
#include "api/http_api.h"
#include "support/http_client.h"
#include "unit/temp_dir.h"

using namespace api;
using testhttp::Connection;
using testhttp::request;

namespace {

struct RecordingControl : DrainControl {
    std::vector<bool> requests;
    std::vector<std::pair<std::vector<std::string>, bool>> vipRequests;
    void requestDrain(bool d) override { requests.push_back(d); }
    void requestVipDrain(const std::vector<std::string>& vips, bool d) override { vipRequests.emplace_back(vips, d); }
};

constexpr const char* kToken = "s3cret-token-0123456789abcdef0123456789";

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
        s.ready = false;
        s.reasons = {"198.51.100.2/32 is not bound on lo"};
        s.setVips({{.vip = "198.51.100.1", .bound = true},
                   {.vip = "2001:db8::1", .bound = false, .routeWanted = true, .reasons = {"2001:db8::1/128 is not bound on lo"}}});
        s.status = {{"version", "t"}};
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

int countOf(const std::string& hay, const std::string& needle) {
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

const std::string kBearer = std::string("Authorization: Bearer ") + kToken + "\r\n";

}  // namespace

TEST_SUITE("http_api") {
    TEST_CASE("/ready and /ready/<vip>") {
        Harness h;
        auto all = h.get("/ready");
        REQUIRE(all);
        CHECK(all->status == 503);
        CHECK(all->header("content-type") == "application/json");
        CHECK(nlohmann::json::parse(all->body)["reasons"][0] == "198.51.100.2/32 is not bound on lo");
        auto one = h.get("/ready/198.51.100.1");
        REQUIRE(one);
        CHECK(one->status == 200);
        CHECK(nlohmann::json::parse(one->body)["ready"] == true);
        auto other = h.get("/ready/2001:db8::1");
        CHECK(other->status == 503);
        CHECK(nlohmann::json::parse(other->body)["reasons"][0] == "2001:db8::1/128 is not bound on lo");
        CHECK(h.get("/ready/2001:0db8:0::1")->status == 503);  // any spelling of the address
        auto missing = h.get("/ready/203.0.113.9");
        CHECK(missing->status == 404);
        CHECK(nlohmann::json::parse(missing->body)["error"] == "203.0.113.9 is not a VIP managed by this agent");
        CHECK(h.get("/ready/not-an-address")->status == 404);
        auto query = h.get("/ready/198.51.100.1?x=1");  // the query string is not part of the path
        CHECK(query->status == 200);
        auto head = testhttp::once(h.port, "HEAD", "/ready/198.51.100.1");
        REQUIRE(head);
        CHECK(head->status == 200);
        CHECK(head->body.empty());
        // A trailing slash names the same VIP; no VIP at all says how to ask.
        CHECK(h.get("/ready/198.51.100.1/")->status == 200);
        CHECK(h.get("/ready/2001:db8::1/")->status == 503);
        auto none = h.get("/ready/");
        CHECK(none->status == 404);
        CHECK(nlohmann::json::parse(none->body)["error"].get<std::string>().rfind("no VIP named: ask /ready/<vip>", 0) == 0);
        CHECK(h.get("/ready//")->status == 404);
    }

    TEST_CASE("a request target holding a NUL byte is refused (400), not cut short") {
        Harness h;
        for (const std::string target : {std::string("/ready\0x", 8), std::string("/ready/198.51.100.1\0", 20),
                                          std::string("/\0/ready", 8), std::string("/ready\0HTTP/1.1 x", 17)}) {
            const std::string reply = h.raw("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
            CHECK_MESSAGE(reply.rfind("HTTP/1.1 400", 0) == 0, reply);
            CHECK(reply.find("malformed request target: it holds a NUL byte") != std::string::npos);
        }
        // The same requests without the NUL, with a query, or over HTTP/1.0 still answer.
        CHECK(h.raw("GET /ready/198.51.100.1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
        CHECK(h.raw("GET /ready/198.51.100.1?a=b&c HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
        // The routes refuse it too, whatever the engine hands them.
        RecordingControl control;
        SnapshotStore store;
        Routes routes(store, control, RouteOptions{});
        CHECK(routes.handle(HttpRequest{.method = "GET", .path = std::string("/ready\0x", 8), .headers = {}, .body = {}, .client = "t"}).status == 400);
    }

    TEST_CASE("/healthz follows the loop's heartbeat") {
        SnapshotStore store;
        RecordingControl control;
        // The window is wide and the stale beat is set, not waited for: no timing race.
        HttpApi api(store, control, HttpApiOptions{.host = "127.0.0.1", .port = 0, .token = "", .healthyWithinMs = 60000});
        const int port = api.start().value();
        store.beat();
        CHECK(testhttp::once(port, "GET", "/healthz")->status == 200);
        store.beatAt(SnapshotStore::nowMs() - 120000);
        auto stale = testhttp::once(port, "GET", "/healthz");
        REQUIRE(stale);
        CHECK(stale->status == 500);
        CHECK(nlohmann::json::parse(stale->body)["alive"] == false);
    }

    TEST_CASE("/status and /metrics") {
        Harness h;
        auto st = h.get("/status");
        CHECK(st->status == 200);
        CHECK(nlohmann::json::parse(st->body).contains("uptime_seconds"));
        auto m = h.get("/metrics");
        CHECK(m->status == 200);
        CHECK(m->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
        CHECK(m->body.find("lvs_rs_agent_ready 0") != std::string::npos);
        CHECK(m->body.find("# TYPE lvs_rs_agent_api_connections gauge\nlvs_rs_agent_api_connections ") != std::string::npos);
        CHECK(m->body.find("lvs_rs_agent_api_connections_closed_total{reason=\"head_timeout\"} 0\n") != std::string::npos);
        CHECK(h.post("/drain")->status == 403);  // no token configured: not a failed guess
        CHECK(h.get("/metrics")->body.find("lvs_rs_agent_api_auth_failures_total 0\n") != std::string::npos);
        Harness t(kToken);
        CHECK(t.post("/drain", "Authorization: Bearer guess\r\n")->status == 401);
        CHECK(t.get("/metrics")->body.find("lvs_rs_agent_api_auth_failures_total 1\n") != std::string::npos);
    }

    TEST_CASE("drain needs a configured token: none 403, missing or wrong 401, right 200") {
        Harness none;
        CHECK(none.post("/drain")->status == 403);
        CHECK(none.control.requests.empty());

        Harness h(kToken);
        auto missing = h.post("/drain");
        CHECK(missing->status == 401);
        CHECK(missing->header("www-authenticate") == "Bearer");
        CHECK(h.post("/drain", "Authorization: Bearer s3cret-token-0123456789abcdef012345678X\r\n")->status == 401);
        CHECK(h.control.requests.empty());
        CHECK(h.post("/drain", kBearer)->status == 200);
        CHECK(h.post("/undrain", kBearer, "{}")->status == 200);  // a small body is allowed, and ignored
        CHECK(h.control.requests == std::vector<bool>{true, false});
    }

    TEST_CASE("POST /drain/<vip> and /undrain/<vip>: the same token rules, a configured VIP only") {
        Harness none;
        CHECK(none.post("/drain/198.51.100.1")->status == 403);
        Harness h(kToken);
        CHECK(h.post("/drain/198.51.100.1")->status == 401);
        CHECK(h.post("/drain/198.51.100.1", "Authorization: Bearer guess\r\n")->status == 401);
        CHECK(h.get("/drain/198.51.100.1")->status == 405);
        auto unknown = h.post("/drain/203.0.113.9", kBearer);
        CHECK(unknown->status == 404);
        CHECK(unknown->body.find("203.0.113.9 is not a VIP managed by this agent; nothing changed") != std::string::npos);
        CHECK(h.post("/drain/lo", kBearer)->status == 404);
        CHECK(h.post("/drain/", kBearer)->status == 404);
        CHECK(h.control.vipRequests.empty());
        auto ok = h.post("/drain/2001:DB8:0::1", kBearer);
        CHECK(ok->status == 200);
        CHECK(ok->body == "{\"draining\":true,\"vip\":\"2001:db8::1\"}\n");
        CHECK(h.post("/undrain/198.51.100.1", kBearer)->status == 200);
        REQUIRE(h.control.vipRequests.size() == 2);
        CHECK(h.control.vipRequests[0] == std::pair<std::vector<std::string>, bool>{{"2001:db8::1"}, true});
        CHECK(h.control.vipRequests[1] == std::pair<std::vector<std::string>, bool>{{"198.51.100.1"}, false});
        CHECK(h.control.requests.empty());  // the whole server's drain is not touched
    }

    TEST_CASE("/ready/<vip> of a drained VIP: 503 with reason draining; the others unchanged") {
        Harness h;
        auto sp = std::make_shared<Snapshot>();
        sp->setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "198.51.100.2", .bound = true}});
        sp->drainedVips = std::make_shared<const std::set<std::string>>(std::set<std::string>{"198.51.100.2"});
        h.store.publish(sp);
        auto drained = h.get("/ready/198.51.100.2");
        CHECK(drained->status == 503);
        CHECK(drained->body == "{\"ready\":false,\"reasons\":[\"draining\"]}\n");
        CHECK(h.get("/ready/198.51.100.1")->status == 200);
    }

    TEST_CASE("agent-check: a VIP sent by agent-send gets that VIP's state; a silent client holds nobody up") {
        SnapshotStore store;
        auto sp = std::make_shared<Snapshot>();
        sp->ready = true;
        sp->setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "198.51.100.2", .bound = true},
                     {.vip = "2001:db8::1", .bound = false, .reasons = {"2001:db8::1/128 is not bound on lo"}}});
        sp->drainedVips = std::make_shared<const std::set<std::string>>(std::set<std::string>{"198.51.100.2"});
        store.publish(sp);
        // A long wait here, so that "answered before it" proves no waiting on the silent one
        // even on a slow machine.
        constexpr std::chrono::milliseconds kWait{2000};
        AgentCheckResponder responder(store, kWait);
        const int port = responder.start("127.0.0.1", 0).value();
        auto ask = [&](const std::string& line) {
            Connection c("127.0.0.1", port, 3000);
            REQUIRE(c.ok());
            c.send(line);
            CHECK(c.closedByPeer(3000));
            return c.pending();
        };
        Connection silent("127.0.0.1", port, 5000);  // sends nothing
        REQUIRE(silent.ok());
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(ask("198.51.100.1\n") == "up ready\n");
        CHECK(std::chrono::steady_clock::now() - t0 < kWait);  // not behind the silent one
        CHECK(ask("198.51.100.2\r\n") == "up drain\n");
        CHECK(ask("2001:DB8::1\n") == "down\n");
        CHECK(ask("203.0.113.9\n") == "down #203.0.113.9 is not a VIP of this agent\n");
        CHECK(ask("\x01\xff\n") == "down #?? is not a VIP of this agent\n");
        CHECK(ask(std::string(200, 'x')).rfind("down #request too long", 0) == 0);
        // agent-send without a newline: what arrived by the deadline is the request.
        CHECK(ask("198.51.100.2") == "up drain\n");
        // A client that closes its side at once gets the whole server's state at once.
        {
            Connection c("127.0.0.1", port, 3000);
            REQUIRE(c.ok());
            const auto t1 = std::chrono::steady_clock::now();
            ::shutdown(c.fd(), SHUT_WR);
            CHECK(c.closedByPeer(3000));
            CHECK(c.pending() == "up ready\n");
            CHECK(std::chrono::steady_clock::now() - t1 < kWait);
        }
        // The silent client: the whole server's state after the wait (HAProxy without agent-send).
        CHECK(silent.closedByPeer(5000));
        CHECK(silent.pending() == "up ready\n");
        CHECK(std::chrono::steady_clock::now() - t0 >= kWait);
    }

    TEST_CASE("failed attempts: logged rate-limited, then the client is refused (429) without a token check") {
        Harness h(kToken);
        for (int i = 0; i < AuthThrottle::kMaxFailures; ++i) CHECK(h.post("/drain", "Authorization: Bearer guess\r\n")->status == 401);
        auto blocked = h.post("/drain", kBearer);  // even the right token, until the minute is over
        REQUIRE(blocked);
        CHECK(blocked->status == 429);
        CHECK(std::stoi(blocked->header("retry-after")) > 0);
        CHECK(h.control.requests.empty());
        for (int i = 0; i < 50; ++i) h.post("/drain", "Authorization: Bearer guess\r\n");
        std::lock_guard lock(h.warnMu);
        REQUIRE(!h.warnings.empty());
        CHECK(h.warnings.size() <= 5);  // a burst of 5 lines, then at most one a second
        CHECK(h.warnings[0].find("refused a drain request from 127.0.0.1: wrong token") != std::string::npos);
        CHECK(h.warnings.back().find("refused (429)") != std::string::npos);
    }

    TEST_CASE("the throttle: per client, for the window, bounded") {
        AuthThrottle t;
        const auto t0 = AuthThrottle::Clock::now();
        for (int i = 0; i < AuthThrottle::kMaxFailures; ++i) t.failed("192.0.2.1", "wrong token", t0);
        CHECK(t.refusedFor("192.0.2.1", t0).has_value());
        CHECK_FALSE(t.refusedFor("192.0.2.2", t0).has_value());
        CHECK_FALSE(t.refusedFor("192.0.2.1", t0 + AuthThrottle::kWindow).has_value());
        // more clients than the table holds share one entry: still throttled, never unbounded
        for (std::size_t i = 0; i < AuthThrottle::kMaxClients + 10; ++i)
            t.failed("c" + std::to_string(i), "wrong token", t0 + std::chrono::seconds(1));
        for (int i = 0; i < AuthThrottle::kMaxFailures; ++i) t.failed("late", "wrong token", t0 + std::chrono::seconds(1));
        CHECK(t.refusedFor("late", t0 + std::chrono::seconds(2)).has_value());
    }

    TEST_CASE("errors are JSON: 404, 405 with Allow; a malformed request is refused") {
        Harness h;
        auto nf = h.get("/nope");
        CHECK(nf->status == 404);
        CHECK(nlohmann::json::parse(nf->body)["error"] == "not found");
        auto na = testhttp::once(h.port, "DELETE", "/ready");
        CHECK(na->status == 405);
        CHECK(na->header("allow") == "GET, HEAD");
        CHECK(h.get("/drain")->status == 405);
        CHECK(testhttp::once(h.port, "BREW", "/ready")->status == 405);
        const std::string bad = h.raw("GET /ready HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n");
        CHECK(bad.rfind("HTTP/1.1 400", 0) == 0);
        Harness t(kToken);  // refused before the route acts: no drain
        CHECK(t.post("/drain", kBearer + "Bad Header: x\r\n")->status == 400);
        CHECK(t.control.requests.empty());
    }

    TEST_CASE("a GET with a body or Transfer-Encoding is refused and cannot smuggle a second request") {
        Harness h;
        const std::string smuggled = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        const std::string out = h.raw("GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
                                      "\r\n\r\n" + smuggled);
        CHECK(out.rfind("HTTP/1.1 400", 0) == 0);
        CHECK(countOf(out, "HTTP/1.1 ") == 1);
        CHECK(out.find("lvs_rs_agent_ready") == std::string::npos);
        const std::string te = h.raw("GET /ready HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        CHECK(te.rfind("HTTP/1.1 400", 0) == 0);
        for (const char* hdr : {"Content-Encoding: gzip", "Range: bytes=0-1,0-1,0-1"})
            CHECK(h.raw("GET /ready HTTP/1.1\r\nHost: x\r\n" + std::string(hdr) + "\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
    }

    TEST_CASE("smuggling with the body in a later segment: answered once, then closed") {
        Harness h;
        Connection c("127.0.0.1", h.port);
        REQUIRE(c.send("GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n"));
        auto first = c.read();
        REQUIRE(first);
        CHECK(first->status == 400);
        c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");  // may fail: the server has closed
        CHECK(c.closedByPeer());
        CHECK(c.pending().find("HTTP/1.1") == std::string::npos);
    }

    TEST_CASE("pipelined requests are answered, in order") {
        Harness h;
        Connection c("127.0.0.1", h.port);
        std::string burst;
        const std::vector<std::string> paths = {"/ready/198.51.100.1", "/nope", "/ready/2001:db8::1", "/healthz", "/ready"};
        for (int round = 0; round < 4; ++round)
            for (const auto& p : paths) burst += request("GET", p);
        REQUIRE(c.send(burst));
        const std::vector<int> want = {200, 404, 503, 200, 503};
        for (int round = 0; round < 4; ++round)
            for (int w : want) {
                auto r = c.read();
                REQUIRE(r);
                CHECK(r->status == w);
            }
    }

    TEST_CASE("payload limit: a large POST body is refused") {
        Harness h(kToken);
        Connection c("127.0.0.1", h.port);
        REQUIRE(c.send("POST /drain HTTP/1.1\r\nHost: x\r\n" + kBearer + "Content-Length: 100000\r\n\r\n"));
        auto big = c.read();
        REQUIRE(big);
        CHECK(big->status == 413);
        CHECK(c.closedByPeer());
        CHECK(h.control.requests.empty());
        auto wrongMethod = h.post("/ready", kBearer, std::string(100000, 'x'));
        REQUIRE(wrongMethod);
        CHECK(wrongMethod->status == 405);
        CHECK(wrongMethod->header("connection") == "close");
    }

    TEST_CASE("a request head over 8 KiB: 431, closed; a head of many small headers too") {
        Harness h;
        CHECK(testhttp::once(h.port, "GET", "/ready", "X-Big: " + std::string(8000, 'a') + "\r\n")->status == 503);
        Connection one("127.0.0.1", h.port);
        one.send(request("GET", "/ready", "X-Big: " + std::string(9000, 'a') + "\r\n"));
        auto big = one.read();
        REQUIRE(big);
        CHECK(big->status == 431);
        CHECK(nlohmann::json::parse(big->body)["error"] == "request head larger than 8192 bytes");
        CHECK(one.closedByPeer());
        std::string many;
        for (int i = 0; i < 1000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
        Connection c("127.0.0.1", h.port);
        c.send(request("GET", "/ready", many));
        auto r = c.read();  // past the engine's 16 KiB buffer (about 300 headers): its own 431
        REQUIRE(r);
        CHECK(r->status == 431);
        CHECK(c.closedByPeer());
        CHECK(h.get("/ready")->status == 503);  // and the server serves on
    }

    TEST_CASE("limits: a client past its connection limit is refused; at the total limit an idle one makes room") {
        HttpLimits limits;
        limits.maxPerClient = 3;
        limits.maxConnections = 4;
        Harness h("", limits);
        std::vector<Connection> idle;
        for (int i = 0; i < 3; ++i) {
            idle.emplace_back("127.0.0.1", h.port);
            REQUIRE(idle.back().ok());
        }
        REQUIRE(eventually([&] { return h.api.counters().open == 3; }));
        Connection fourth("127.0.0.1", h.port);  // the kernel accepts; the engine closes it
        CHECK(fourth.closedByPeer());
        CHECK(h.api.counters().refusedPerClient >= 1);
        // from another address: admitted up to the total, then the longest-waiting idle one goes
        Connection other;
        REQUIRE(other.open("127.0.0.1", h.port, 2000, "127.0.0.2"));
        REQUIRE(eventually([&] { return h.api.counters().open == 4; }));
        idle.erase(idle.begin() + 1);  // frees a per-client slot
        REQUIRE(eventually([&] { return h.api.counters().open == 3; }));
        Connection late("127.0.0.1", h.port, 2000, "127.0.0.2");
        REQUIRE(late.send(request("GET", "/ready")));
        Connection later("127.0.0.1", h.port, 2000, "127.0.0.2");
        REQUIRE(later.send(request("GET", "/ready")));
        auto r = later.read();
        REQUIRE(r);
        CHECK(r->status == 503);
        CHECK(idle[0].closedByPeer());  // the oldest idle one made room
        CHECK(h.api.counters().evicted >= 1);
    }

    TEST_CASE("a head that does not arrive in time is dropped; meanwhile others are answered at once") {
        HttpLimits limits;
        limits.headDeadline = std::chrono::milliseconds(2000);
        Harness h("", limits);
        std::vector<Connection> slow;
        for (int i = 0; i < 20; ++i) {
            slow.emplace_back("127.0.0.1", h.port, 2000, "127.0.0.3");
            REQUIRE(slow.back().send("GET /ready HTTP/1.1\r\nHost: x\r\nX-Slow: "));
        }
        const auto t0 = std::chrono::steady_clock::now();
        auto r = h.get("/ready/198.51.100.1");
        REQUIRE(r);
        CHECK(r->status == 200);
        // well before the slow ones are dropped: it did not wait behind them
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000));
        for (auto& c : slow) CHECK(c.closedByPeer(5000));
        CHECK(h.api.counters().headTimeouts == 20);
    }

    TEST_CASE("large answers held for slow readers are bounded; /ready is never held back by them") {
        // This harness only measures the answer's size. Its first /status renders 60,000
        // entries in the event loop: over 10 s under TSan on a loaded machine, so its
        // connection must not be cut for idleness meanwhile.
        HttpLimits limits;
        limits.idleTimeoutSeconds = 300;
        limits.exchangeDeadline = std::chrono::milliseconds(300000);
        Harness h("", limits);
        auto big = std::make_shared<Snapshot>();
        std::vector<VipReadiness> many;
        for (int i = 0; i < 60000; ++i)
            many.push_back({.vip = "198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), .bound = true});
        big->setVips(std::move(many));
        big->ready = true;
        h.store.publish(big);
        // (the first /status renders 60,000 entries: seconds under a sanitizer)
        const auto first = testhttp::once(h.port, "GET", "/status", "", "", 60000);
        REQUIRE(first);
        const std::size_t size = first->body.size();
        REQUIRE(size > 4 * 1024 * 1024);  // more than loopback buffers take in
        // a budget for one such answer, not two
        HttpLimits tight;
        tight.largeBodiesInFlight = size + size / 2;
        Harness t("", tight);
        t.store.publish(big);
        Connection slow("127.0.0.1", t.port);
        const int small = 4096;
        ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        REQUIRE(slow.send(request("GET", "/status")));  // and never reads
        // its answer has started (peeked at, not taken) before the next one is asked:
        // sent together, either could be answered first
        char head[12] = {};
        REQUIRE(eventually([&] { return ::recv(slow.fd(), head, sizeof head, MSG_PEEK | MSG_DONTWAIT) == sizeof head; }, 60000));
        CHECK(std::string(head, sizeof head) == "HTTP/1.1 200");
        const auto second = testhttp::once(t.port, "GET", "/status", "", "", 30000);
        REQUIRE(second);
        CHECK(second->status == 503);
        CHECK(second->header("retry-after") == "1");
        CHECK(t.get("/ready")->status == 200);
        slow.close();  // its answer is released when libmicrohttpd notices
        REQUIRE(eventually([&] {
            auto again = testhttp::once(t.port, "GET", "/status", "", "", 30000);
            return again && again->status == 200;
        }, 60000));
    }

    TEST_CASE("connections handed in without a listener (the fuzzer's path)") {
        SnapshotStore store;
        RecordingControl control;
        HttpApi api(store, control, HttpApiOptions{.host = "", .port = 0, .token = "", .healthyWithinMs = 60000});
        store.beat();
        REQUIRE(api.startWithoutListener());
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        api.addConnection(sv[0]);
        const std::string req = request("GET", "/healthz");
        REQUIRE(::send(sv[1], req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
        ::shutdown(sv[1], SHUT_WR);
        std::string out;
        char buf[4096];
        timeval tv{.tv_sec = 5, .tv_usec = 0};
        ::setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n;
        while ((n = ::recv(sv[1], buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
        ::close(sv[1]);
        CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    }

    TEST_CASE("constant-time token comparison") {
        CHECK(tokensEqual("abc", "abc"));
        CHECK_FALSE(tokensEqual("abc", "abd"));
        CHECK_FALSE(tokensEqual("abc", "abcd"));
        CHECK_FALSE(tokensEqual("", "a"));
    }

    TEST_CASE("service probes: tcp and http against a local listener") {
        Harness web;  // /healthz answers 200, /ready 503
        agent::ServiceCheck c;
        c.vip = *netcfg::IpAddress::parse("127.0.0.1");
        c.port = web.port;
        c.timeoutMs = 500;
        CHECK_FALSE(agent::probeService(c));
        c.type = agent::ServiceCheck::Type::Http;
        c.path = "/healthz";
        CHECK_FALSE(agent::probeService(c));
        c.path = "/ready";
        CHECK(agent::probeService(c).value() == "status 503, expected 200");
        web.api.stop();
        c.type = agent::ServiceCheck::Type::Tcp;
        CHECK(agent::probeService(c).value().find("Connection refused") != std::string::npos);
    }
}

namespace {

// The loop, as the control socket sees it: a drain request is published at once. Its
// configuration has two VIPs.
struct PublishingControl : DrainControl {
    SnapshotStore& store;
    std::atomic<int> requests{0};
    std::atomic<int> vipRequests{0};
    explicit PublishingControl(SnapshotStore& s) : store(s) {}
    static std::shared_ptr<Snapshot> make(bool draining, std::set<std::string> drained) {
        auto next = std::make_shared<Snapshot>();
        next->setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "2001:db8::1", .bound = true}});
        next->draining = draining;
        next->drainedVips = std::make_shared<const std::set<std::string>>(std::move(drained));
        return next;
    }
    void requestDrain(bool d) override {
        ++requests;
        store.publish(make(d, *store.get()->drainedVips));
    }
    void requestVipDrain(const std::vector<std::string>& vips, bool d) override {
        ++vipRequests;
        auto drained = *store.get()->drainedVips;
        for (const auto& v : vips) d ? (void)drained.insert(v) : (void)drained.erase(v);
        store.publish(make(store.get()->draining, std::move(drained)));
    }
    // a reload: accepted or rejected, as the test sets it
    std::atomic<bool> reloadOk{true};
    std::uint64_t tickets = 0;
    std::uint64_t requestReload() override {
        auto next = std::make_shared<Snapshot>();
        next->draining = store.get()->draining;
        next->reloads = store.get()->reloads + 1;
        next->reloadServed = ++tickets;
        next->lastReloadOk = reloadOk;
        next->lastReload = reloadOk ? "reloaded /etc/x.json: 2 VIP(s)" : "reload rejected, the previous configuration stays in force: vips: bad\nline";
        store.publish(std::move(next));
        return tickets;
    }
};

struct ControlHarness {
    fixtures::TempDir dir{"lvs-control-"};
    SnapshotStore store;
    PublishingControl control{store};
    ControlServer server{control, store};
    std::filesystem::path sock = dir.path / "control.sock";
    ControlHarness() { store.publish(PublishingControl::make(false, {})); }
    int connectRaw() {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        return fd;
    }
};

}  // namespace

TEST_SUITE("http_api") {
    TEST_CASE("control socket: drain and undrain report what the loop did") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        CHECK(controlRequest(h.sock, "drain").value() == "ok draining: /ready answers 503, VIPs stay bound");
        CHECK(controlRequest(h.sock, "drain").value() == "ok already draining: /ready answers 503, VIPs stay bound");
        CHECK(controlRequest(h.sock, "undrain").value() == "ok undrained: /ready follows the checks again");
        CHECK(controlRequest(h.sock, "status").value() == "error unknown command \"status\" (drain, undrain, reload, drains, readiness)");
        CHECK(h.control.requests == 2);
        CHECK(h.control.vipRequests == 0);
        const auto mode = std::filesystem::status(h.sock).permissions() & std::filesystem::perms::all;
        CHECK(mode == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    }

    TEST_CASE("control socket: drain and undrain of single VIPs, all or nothing") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        CHECK(controlRequest(h.sock, "drain 198.51.100.1").value() ==
              "ok draining 198.51.100.1: /ready/198.51.100.1 answers 503 and agent-check \"drain\"; the VIP stays bound");
        CHECK(*h.store.get()->drainedVips == std::set<std::string>{"198.51.100.1"});
        CHECK_FALSE(h.store.get()->draining);
        CHECK(controlRequest(h.sock, "drain 198.51.100.1").value().rfind("ok already draining 198.51.100.1:", 0) == 0);
        CHECK(h.control.vipRequests == 1);  // already: the loop is not asked again
        // Written differently, the same VIP; repeated, once.
        CHECK(controlRequest(h.sock, "drain 2001:DB8:0::1 2001:db8::1").value() ==
              "ok draining 2001:db8::1: /ready/2001:db8::1 answers 503 and agent-check \"drain\"; the VIP stays bound");
        CHECK(controlRequest(h.sock, "drains").value() == "ok draining=no drained=2 198.51.100.1 2001:db8::1");
        const auto parsed = parseDrainsReply(controlRequest(h.sock, "drains").value());
        REQUIRE(parsed);
        CHECK_FALSE(parsed->draining);
        CHECK(parsed->count == 2);
        CHECK(parsed->listed == std::vector<std::string>{"198.51.100.1", "2001:db8::1"});
        CHECK_FALSE(parseDrainsReply("error busy: 16 control clients at once"));
        CHECK_FALSE(parseDrainsReply("ok draining=maybe drained=1"));
        CHECK_FALSE(parseDrainsReply("ok draining=no drained="));
        // One VIP that is not configured, or not an address: nothing changes.
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1 203.0.113.9").value() ==
              "error not a VIP of this agent's configuration: 203.0.113.9; nothing changed");
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1 lo").value() == "error \"lo\" is not an IP address; nothing changed");
        CHECK(controlRequest(h.sock, "reload now").value() == "error reload takes no argument");
        CHECK(h.store.get()->drainedVips->size() == 2);
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1 2001:db8::1").value() ==
              "ok undrained 198.51.100.1, 2001:db8::1: readiness follows the checks again");
        CHECK(controlRequest(h.sock, "undrain 198.51.100.1").value() == "ok not drained: 198.51.100.1");
        CHECK(controlRequest(h.sock, "drains").value() == "ok draining=no drained=0");
        // The whole server's drain and the VIPs' are apart.
        CHECK(controlRequest(h.sock, "drain").value().rfind("ok draining:", 0) == 0);
        CHECK(controlRequest(h.sock, "drains").value() == "ok draining=yes drained=0");
        CHECK(h.control.vipRequests == 3);
        std::string many = "drain";
        for (std::size_t i = 0; i <= ControlServer::kMaxVips; ++i) many += " 198.51.100.1";
        CHECK(controlRequest(h.sock, many).value() == "error at most 128 VIPs in one command; nothing changed");
        CHECK(h.control.vipRequests == 3);
    }

    TEST_CASE("control socket: readiness per VIP as /ready computes it; undrain names the VIP drains that remain") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        auto r = parseReadinessReply(controlRequest(h.sock, "readiness").value());
        REQUIRE(r);
        CHECK((*r)["vips"] == 2);
        CHECK((*r)["not_ready_count"] == 0);
        CHECK((*r)["pid"] == static_cast<long>(::getpid()));
        REQUIRE(controlRequest(h.sock, "drain 198.51.100.1").value().rfind("ok draining 198.51.100.1", 0) == 0);
        r = parseReadinessReply(controlRequest(h.sock, "readiness").value());
        REQUIRE(r);
        CHECK((*r)["not_ready_count"] == 1);
        CHECK((*r)["not_ready"] == nlohmann::json::parse(R"([{"vip": "198.51.100.1", "reasons": ["draining"]}])"));
        CHECK((*r)["drained_vips"] == nlohmann::json::parse(R"(["198.51.100.1"])"));
        CHECK((*r)["draining"] == false);
        CHECK(controlRequest(h.sock, "readiness now").value() == "error readiness takes no argument");
        CHECK_FALSE(parseReadinessReply("ok draining=no drained=0"));
        CHECK_FALSE(parseReadinessReply("ok {\"ready\": 1, \"not_ready\": []}"));
        CHECK_FALSE(parseReadinessReply("ok {broken"));
        // The whole server's undrain does not lift a VIP's drain, and says how to.
        CHECK(controlRequest(h.sock, "undrain").value() ==
              "ok the whole server was not draining; 1 VIP(s) stay drained on their own (198.51.100.1): lift with "
              "`lvs-rs-agent undrain --vip 198.51.100.1`");
        REQUIRE(controlRequest(h.sock, "drain").value().rfind("ok draining:", 0) == 0);
        CHECK(controlRequest(h.sock, "undrain").value() ==
              "ok undrained: /ready follows the checks again; 1 VIP(s) stay drained on their own (198.51.100.1): lift with "
              "`lvs-rs-agent undrain --vip 198.51.100.1`");
        REQUIRE(controlRequest(h.sock, "undrain 198.51.100.1").value().rfind("ok undrained", 0) == 0);
        CHECK(controlRequest(h.sock, "undrain").value() == "ok the whole server was not draining: /ready follows the checks");
    }

    TEST_CASE("control socket: reload answers with the loop's outcome, as one line") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        CHECK(controlRequest(h.sock, "reload").value() == "ok reloaded /etc/x.json: 2 VIP(s)");
        h.control.reloadOk = false;
        CHECK(controlRequest(h.sock, "reload").value() ==
              "error reload rejected, the previous configuration stays in force: vips: bad line");
    }

    TEST_CASE("control socket: a reload's answer is its own, not that of a SIGHUP published meanwhile") {
        fixtures::TempDir dir{"lvs-control-reload-"};
        SnapshotStore store;
        store.publish(std::make_shared<Snapshot>());
        struct Deferred : DrainControl {
            std::atomic<std::uint64_t> asked{0};
            void requestDrain(bool) override {}
            void requestVipDrain(const std::vector<std::string>&, bool) override {}
            std::uint64_t requestReload() override { return ++asked; }
        } control;
        ControlServer server{control, store};
        const auto sock = dir.path / "control.sock";
        REQUIRE(server.start(sock));
        auto reply = std::async(std::launch::async, [&] { return controlRequest(sock, "reload"); });
        REQUIRE(eventually([&] { return control.asked == 1; }));
        auto sighup = std::make_shared<Snapshot>();  // an earlier SIGHUP's outcome, published late
        sighup->reloads = 1;
        sighup->lastReloadOk = false;
        sighup->lastReload = "reload rejected, the previous configuration stays in force: old";
        store.publish(sighup);
        CHECK(reply.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
        auto served = std::make_shared<Snapshot>();
        served->reloads = 2;
        served->reloadServed = 1;
        served->lastReload = "reloaded /etc/x.json: 1 VIP(s)";
        store.publish(served);
        CHECK(reply.get().value() == "ok reloaded /etc/x.json: 1 VIP(s)");
    }

    TEST_CASE("control socket: a trickling client holds nobody up") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        const int trickler = h.connectRaw();
        REQUIRE(::send(trickler, "dr", 2, 0) == 2);
        const int staller = h.connectRaw();
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(controlRequest(h.sock, "drain").value().rfind("ok draining", 0) == 0);
        CHECK(std::chrono::steady_clock::now() - t0 < ControlServer::kLineDeadline);
        ::close(trickler);
        ::close(staller);
    }

    TEST_CASE("control socket: a command whose client has gone is not applied") {
        ControlHarness h;
        REQUIRE(h.server.listen(h.sock));
        const int gone = h.connectRaw();  // queued before the server serves
        REQUIRE(::send(gone, "drain\n", 6, 0) == 6);
        ::close(gone);
        h.server.serveInBackground();
        // served after the one that left (the server takes clients in turn)
        CHECK(controlRequest(h.sock, "nothing").value().rfind("error unknown command", 0) == 0);
        CHECK(h.control.requests == 0);
        CHECK_FALSE(h.store.get()->draining);
    }

    TEST_CASE("control socket: no command within the deadline is answered and closed") {
        ControlHarness h;
        REQUIRE(h.server.start(h.sock));
        const int idle = h.connectRaw();
        timeval tv{.tv_sec = 10, .tv_usec = 0};
        ::setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[128] = {};
        const ssize_t n = ::recv(idle, buf, sizeof buf - 1, 0);
        ::close(idle);
        REQUIRE(n > 0);
        CHECK(std::string(buf) == "error no command within 2 s\n");
    }
}
