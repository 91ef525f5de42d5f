#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "agent/daemon/service_check.h"
#include "api/http_api.h"

using namespace api;

namespace {

struct RecordingControl : DrainControl {
    std::vector<bool> requests;
    void requestDrain(bool d) override { requests.push_back(d); }
};

// The API in-process on 127.0.0.1, port 0.
struct Harness {
    SnapshotStore store;
    RecordingControl control;
    HttpApi api;
    int port = 0;
    explicit Harness(std::string token = "")
        : api(store, control, HttpApiOptions{.host = "127.0.0.1", .port = 0, .token = std::move(token), .healthyWithinMs = 5000, .workers = 2}) {
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
    httplib::Client client() {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(2, 0);
        return c;
    }
    // Sends raw bytes, returns everything the server answers until it closes or 1 s passes.
    std::string raw(const std::string& bytes) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        timeval tv{.tv_sec = 1, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void)!::send(fd, bytes.data(), bytes.size(), 0);
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
        ::close(fd);
        return out;
    }
};

int countOf(const std::string& hay, const std::string& needle) {
    int n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_SUITE("http_api") {
    TEST_CASE("/ready and /ready/<vip>") {
        Harness h;
        auto c = h.client();
        auto r = c.Get("/ready");
        REQUIRE(r);
        CHECK(r->status == 503);
        auto body = nlohmann::json::parse(r->body);
        CHECK(body["ready"] == false);
        CHECK(body["reasons"][0] == "198.51.100.2/32 is not bound on lo");
        CHECK(c.Get("/ready/198.51.100.1")->status == 200);
        CHECK(c.Get("/ready/2001:DB8:0::1")->status == 503);  // any spelling of the address
        auto missing = c.Get("/ready/203.0.113.9");
        CHECK(missing->status == 404);
        CHECK(nlohmann::json::parse(missing->body)["error"] == "203.0.113.9 is not a VIP managed by this agent");
        CHECK(c.Get("/ready/not-an-address")->status == 404);
        CHECK(r->get_header_value("Content-Type") == "application/json");
    }

    TEST_CASE("/healthz follows the loop's heartbeat") {
        SnapshotStore store;
        RecordingControl control;
        // The window is wide and the stale beat is set, not waited for: no timing race.
        HttpApi api(store, control, HttpApiOptions{.host = "127.0.0.1", .port = 0, .token = "", .healthyWithinMs = 60000, .workers = 1});
        const int port = api.start().value();
        httplib::Client c("127.0.0.1", port);
        store.beat();
        CHECK(c.Get("/healthz")->status == 200);
        store.beatAt(SnapshotStore::nowMs() - 120000);
        auto stale = c.Get("/healthz");
        REQUIRE(stale);
        CHECK(stale->status == 500);
        CHECK(nlohmann::json::parse(stale->body)["alive"] == false);
    }

    TEST_CASE("/status and /metrics") {
        Harness h;
        auto c = h.client();
        auto st = c.Get("/status");
        CHECK(st->status == 200);
        CHECK(nlohmann::json::parse(st->body).contains("uptime_seconds"));
        auto m = c.Get("/metrics");
        CHECK(m->status == 200);
        CHECK(m->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
        CHECK(m->body.find("lvs_rs_agent_ready 0") != std::string::npos);
    }

    TEST_CASE("drain needs a configured token: none 403, missing or wrong 401, right 200") {
        Harness none;
        CHECK(none.client().Post("/drain")->status == 403);
        CHECK(none.control.requests.empty());

        Harness h("s3cret-token-0123456789");
        auto c = h.client();
        auto missing = c.Post("/drain");
        CHECK(missing->status == 401);
        CHECK(missing->get_header_value("WWW-Authenticate") == "Bearer");
        httplib::Headers wrong{{"Authorization", "Bearer s3cret-token-012345678X"}};
        CHECK(c.Post("/drain", wrong, "", "text/plain")->status == 401);
        CHECK(h.control.requests.empty());
        httplib::Headers right{{"Authorization", "Bearer s3cret-token-0123456789"}};
        CHECK(c.Post("/drain", right, "", "text/plain")->status == 200);
        CHECK(c.Post("/undrain", right, "", "text/plain")->status == 200);
        CHECK(h.control.requests == std::vector<bool>{true, false});
    }

    TEST_CASE("errors are JSON: 404, 405 with Allow, unknown method") {
        Harness h;
        auto c = h.client();
        auto nf = c.Get("/nope");
        CHECK(nf->status == 404);
        CHECK(nlohmann::json::parse(nf->body)["error"] == "not found");
        auto na = c.Delete("/ready");
        CHECK(na->status == 405);
        CHECK(na->get_header_value("Allow") == "GET, HEAD");
        CHECK(c.Get("/drain")->status == 405);
        const std::string odd = h.raw("BREW /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(odd.rfind("HTTP/1.1 400", 0) == 0);
        CHECK(odd.find("{\"error\":\"bad request\"}") != std::string::npos);
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
    }

    TEST_CASE("payload limit: a large POST body is refused") {
        Harness h("s3cret-token-0123456789");
        auto c = h.client();
        httplib::Headers right{{"Authorization", "Bearer s3cret-token-0123456789"}};
        auto big = c.Post("/drain", right, std::string(100000, 'x'), "text/plain");
        REQUIRE(big);
        CHECK(big->status == 413);
        CHECK(h.control.requests.empty());
        auto wrongMethod = c.Post("/ready", right, std::string(100000, 'x'), "text/plain");
        REQUIRE(wrongMethod);
        CHECK(wrongMethod->status == 405);
        CHECK(wrongMethod->get_header_value("Connection") == "close");
    }

    TEST_CASE("constant-time token comparison") {
        CHECK(tokensEqual("abc", "abc"));
        CHECK_FALSE(tokensEqual("abc", "abd"));
        CHECK_FALSE(tokensEqual("abc", "abcd"));
        CHECK_FALSE(tokensEqual("", "a"));
    }

    TEST_CASE("service probes: tcp and http against local listeners") {
        httplib::Server web;
        web.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
        web.Get("/fail", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
        const int port = web.bind_to_any_port("127.0.0.1");
        std::thread t([&] { web.listen_after_bind(); });
        agent::ServiceCheck c;
        c.vip = *netcfg::IpAddress::parse("127.0.0.1");
        c.port = port;
        c.timeoutMs = 500;
        CHECK_FALSE(agent::probeService(c));
        c.type = agent::ServiceCheck::Type::Http;
        c.path = "/ok";
        CHECK_FALSE(agent::probeService(c));
        c.path = "/fail";
        CHECK(agent::probeService(c).value() == "status 500, expected 200");
        web.stop();
        t.join();
        c.type = agent::ServiceCheck::Type::Tcp;
        CHECK(agent::probeService(c).value().find("Connection refused") != std::string::npos);
    }
}
