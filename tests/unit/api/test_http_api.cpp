#include <doctest/doctest.h>

#include "api_harness.h"

using namespace api;
using namespace apitest;
using testhttp::Connection;
using testhttp::request;

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
        for (const std::string& target : {std::string("/ready\0x", 8), std::string("/ready/198.51.100.1\0", 20),
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
        std::lock_guard lock(h.control.loggedMu);
        REQUIRE(h.control.logged.size() == 2);
        CHECK(h.control.logged[0] == "drain of the whole server requested by HTTP client 127.0.0.1");
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

    TEST_CASE("/ready/<vip> of a drained VIP: 503 with reason draining, the others unchanged") {
        Harness h;
        auto sp = std::make_shared<Snapshot>();
        sp->setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "198.51.100.2", .bound = true}});
        sp->vipDrains = fixtures::drainsOf({"198.51.100.2"});
        h.store.publish(sp);
        auto drained = h.get("/ready/198.51.100.2");
        CHECK(drained->status == 503);
        CHECK(drained->body == "{\"ready\":false,\"reasons\":[\"draining\"]}\n");
        CHECK(h.get("/ready/198.51.100.1")->status == 200);
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

    TEST_CASE("errors are JSON: 404, 405 with Allow, a malformed request is refused") {
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

    TEST_CASE("a request head over 8 KiB: 431, closed, a head of many small headers too") {
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

    TEST_CASE("limits: a client past its connection limit is refused, at the total limit an idle one makes room") {
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

    TEST_CASE("a head that does not arrive in time is dropped, meanwhile others are answered at once") {
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

    TEST_CASE("large answers held for slow readers are bounded, /ready is never held back by them") {
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
        big->server = api::Readiness::readyNow();
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
        api.addConnection(agent::UniqueFd(sv[0]));
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

}

