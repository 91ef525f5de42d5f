#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/daemon/check_schedule.h"
#include "agent/daemon/probe.h"
#include "agent/daemon/probe_text.h"
#include "agent/daemon/service_check.h"
#include "agent/daemon/worker_pool.h"
#include "temp_dir.h"

using namespace agent;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const netcfg::IpAddress kLocal = *netcfg::IpAddress::parse("127.0.0.1");

// A web server of the test's own on 127.0.0.1: /ok 200 "all good", /down 503, /host
// the Host header it was sent.
struct Web {
    httplib::Server server;
    int port = 0;
    std::thread thread;
    Web() {
        server.Get("/ok", [](const httplib::Request&, httplib::Response& r) { r.set_content("all good", "text/plain"); });
        server.Get("/down", [](const httplib::Request&, httplib::Response& r) { r.status = 503; });
        server.Get("/host", [](const httplib::Request& q, httplib::Response& r) { r.set_content(q.get_header_value("Host"), "text/plain"); });
        port = server.bind_to_any_port("127.0.0.1");
        REQUIRE(port > 0);
        thread = std::thread([this] { server.listen_after_bind(); });  // bound and listening already: connections wait in the backlog
    }
    ~Web() { stop(); }
    void stop() {
        server.stop();
        if (thread.joinable()) thread.join();
    }
};

// A TCP listener that never accepts or answers: the handshake completes (the kernel's
// backlog), the request waits for ever.
struct BlackHole {
    UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    int port = 0;
    BlackHole() {
        sockaddr_in a{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}, .sin_zero = {}};
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd.get(), 64) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
};

// A UDP DNS server of the test's: answers each question with the rcode given (or not at
// all when silent), echoing the question.
struct Dns {
    UniqueFd fd{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    int port = 0;
    std::atomic<int> rcode{0};
    std::atomic<bool> silent{false}, stopping{false};
    std::thread thread;
    Dns() {
        sockaddr_in a{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}, .sin_zero = {}};
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        timeval tv{.tv_sec = 0, .tv_usec = 50000};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread = std::thread([this] {
            while (!stopping) {
                unsigned char buf[512];
                sockaddr_in from{};
                socklen_t flen = sizeof from;
                const ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
                if (n < 12 || silent) continue;
                buf[2] |= 0x80;                                                 // a response
                buf[3] = static_cast<unsigned char>((buf[3] & 0xf0) | rcode);  // its rcode
                ::sendto(fd.get(), buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), flen);
            }
        });
    }
    ~Dns() {
        stopping = true;
        thread.join();
    }
};

ProbeOutcome probeOnce(const ServiceCheck& c) {
    auto p = makeProber(c);
    ProbeCancel cancel;
    return p->probe(Clock::now() + std::chrono::milliseconds(c.timeoutMs), cancel);
}

ServiceCheck check(ServiceCheck::Type type, int port) {
    ServiceCheck c;
    c.vip = kLocal;
    c.type = type;
    c.port = port;
    c.timeoutMs = 1000;
    return c;
}

template <class F>
bool eventually(F f, std::chrono::milliseconds within = 10s) {
    const auto until = Clock::now() + within;
    while (Clock::now() < until) {
        if (f()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return f();
}

}  // namespace

TEST_SUITE("service_check") {
    TEST_CASE("probe text: a command's first line, an HTTP status against the list, a DNS answer to our question") {
        CHECK(probe_text::firstLine("  lag 12 s > 5 s \nsecond line") == "lag 12 s > 5 s");
        CHECK(probe_text::firstLine("") == "");
        CHECK(probe_text::firstLine("bell\a!") == "bell?!");
        CHECK(probe_text::firstLine(std::string(300, 'x')).size() == 203);
        // not UTF-8 (a script in Latin-1): '?', so the reason stays valid in JSON
        CHECK(probe_text::firstLine("Pr\xfc" "fung fehlgeschlagen") == "Pr?fung fehlgeschlagen");
        CHECK(probe_text::firstLine("Pr\xc3\xbc" "fung \xe2\x9c\x93") == "Pr\xc3\xbc" "fung \xe2\x9c\x93");  // UTF-8 kept
        CHECK(probe_text::firstLine("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x9c") == "?? ??? ???? ??");  // overlong, surrogate, too high, cut
        // a character is never cut in two at the limit
        const std::string wide = std::string(199, 'x') + "\xc3\xbc" + "tail";
        CHECK(probe_text::firstLine(wide) == std::string(199, 'x') + "...");
        CHECK_FALSE(probe_text::statusProblem(204, {200, 204}));
        CHECK(probe_text::statusProblem(503, {200, 204, 301}) == "status 503, expected 200, 204 or 301");
        // example.org A, ID 0x1234
        const std::vector<std::uint8_t> q{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 1, 0, 1};
        auto a = q;
        a[2] |= 0x80;
        CHECK_FALSE(probe_text::dnsAnswerProblem(q, a));
        a[3] = 3;  // NXDOMAIN: the server answered
        CHECK_FALSE(probe_text::dnsAnswerProblem(q, a));
        a[3] = 2;
        CHECK(probe_text::dnsAnswerProblem(q, a) == "answered SERVFAIL");
        a[3] = 5;
        CHECK(probe_text::dnsAnswerProblem(q, a) == "answered REFUSED");
        a[3] = 0;
        a[14] = 'X';  // the question in another case is the same question
        CHECK_FALSE(probe_text::dnsAnswerProblem(q, a));
        a[14] = 'y';
        CHECK(probe_text::dnsAnswerProblem(q, a) == "an answer that does not echo the question");
        auto notResponse = q;
        CHECK(probe_text::dnsAnswerProblem(q, notResponse)->find("the response bit is not set") != std::string::npos);
        CHECK(probe_text::dnsAnswerProblem(q, std::vector<std::uint8_t>(5))->find("malformed") != std::string::npos);
    }

    TEST_CASE("the schedule: each check on its own slots, never two probes of one, a probe past its deadline given up") {
        const Clock::time_point t0{};
        CheckSchedule s(t0);
        const auto a = s.add("a", 1000ms, 300ms, t0, true);
        const auto b = s.add("b", 1000ms, 300ms, t0, false);
        // a new check at once; one carried over at its slot (within an interval)
        auto starts = s.startDue(t0);
        REQUIRE(starts.size() == 1);
        CHECK(starts[0].index == a);
        CHECK(starts[0].deadline == t0 + 300ms);
        REQUIRE(s.nextWake());
        const auto wake = *s.nextWake();
        CHECK(wake <= t0 + 300ms);
        // a hangs: given up at its deadline, whatever b does
        auto bStart = Clock::time_point::max();
        for (auto t = t0; t <= t0 + 1000ms; t += 1ms)
            for (const auto& st : s.startDue(t)) {
                CHECK(st.index == b);
                CHECK(st.late == Clock::duration::zero());
                CHECK(s.finish(b, st.run, t));
                bStart = std::min(bStart, t);
            }
        CHECK(bStart < t0 + 1000ms);
        CHECK(s.expire(t0 + 299ms).empty());
        CHECK(s.expire(t0 + 300ms) == std::vector<std::size_t>{a});
        CHECK(s.busy(a));
        // not started again while its worker winds it down, even when its slot has come
        CHECK(s.startDue(t0 + 2000ms).size() == 1);  // b only
        CHECK_FALSE(s.finish(a, starts[0].run, t0 + 2000ms));  // given up: the late result does not count
        CHECK_FALSE(s.busy(a));
        const auto again = s.startDue(t0 + 2001ms);
        REQUIRE(again.size() == 1);
        CHECK(again[0].index == a);
        // its slot passed while it was busy with itself: late only from when it was free
        CHECK(again[0].late == 1ms);
        CHECK(s.finish(a, again[0].run, t0 + 2002ms));
    }

    TEST_CASE("the schedule spreads a thousand checks of one interval over it") {
        const Clock::time_point t0{};
        CheckSchedule s(t0);
        for (int i = 0; i < 1000; ++i) s.add("tcp 198.51.100.1:" + std::to_string(i), 1000ms, 100ms, t0, false);
        std::array<int, 10> per100ms{};
        for (auto t = t0; t < t0 + 1000ms; t += 1ms)
            for (const auto& st : s.startDue(t)) {
                ++per100ms[static_cast<std::size_t>((t - t0) / 100ms)];
                CHECK(s.finish(st.index, st.run, t));
            }
        for (int n : per100ms) CHECK(n > 50);  // about 100 each, no burst
    }

    TEST_CASE("the worker pool starts a thread for a job when none is idle") {
        std::atomic<int> running{0};
        std::atomic<bool> release{false};
        WorkerPool pool(1, 8);  // after what its jobs use: it waits for them as it goes
        for (int i = 0; i < 5; ++i)
            pool.run([&] {
                ++running;
                while (!release) std::this_thread::sleep_for(1ms);
            });
        CHECK(eventually([&] { return running == 5; }));  // none waited for another
        CHECK(pool.threads() == 5);
        release = true;
    }

    TEST_CASE("the worker pool: after a burst the thread idle the shortest time takes the work, the others retire") {
        std::atomic<int> running{0}, done{0};
        std::atomic<bool> release{false};
        WorkerPool pool(1, 8, 1s);  // after what its jobs use: it waits for them as it goes
        for (int i = 0; i < 6; ++i)
            pool.run([&] {
                ++running;
                while (!release) std::this_thread::sleep_for(1ms);
                --running;
            });
        REQUIRE(eventually([&] { return running == 6; }));
        release = true;
        REQUIRE(eventually([&] { return running == 0; }));
        // A steady trickle, one job at a time: one thread serves it, the five others
        // idle out (with a shared wake-up they would take turns and never retire).
        CHECK(eventually(
            [&] {
                pool.run([&] { ++done; });
                std::this_thread::sleep_for(20ms);
                return pool.threads() == 1;
            },
            10s));
        CHECK(done > 0);
        CHECK(pool.highWater() == 6);
    }

    TEST_CASE("tcp and http probes: status, body, Host header, refused when nothing listens") {
        Web web;
        CHECK(probeOnce(check(ServiceCheck::Type::Tcp, web.port)).up);
        auto h = check(ServiceCheck::Type::Http, web.port);
        h.path = "/ok";
        CHECK(probeOnce(h).up);
        h.expectBody = "good";
        CHECK(probeOnce(h).up);
        h.expectBody = "bad";
        CHECK(probeOnce(h).reason == "status 200, but the body does not hold \"bad\"");
        h.expectBody.reset();
        h.path = "/down";
        CHECK(probeOnce(h).reason == "status 503, expected 200");
        h.expectStatus = {200, 503};
        CHECK(probeOnce(h).up);
        h.path = "/host";
        h.expectStatus = {200};
        h.expectBody = "127.0.0.1:" + std::to_string(web.port);  // no "host": the VIP and the port
        CHECK(probeOnce(h).up);
        h.host = "www.example.org";
        h.expectBody = "www.example.org:" + std::to_string(web.port);
        CHECK(probeOnce(h).up);
        const int port = web.port;
        web.stop();
        CHECK(probeOnce(check(ServiceCheck::Type::Tcp, port)).reason == "connect: Connection refused");
        h.host.reset();
        CHECK(probeOnce(h).reason == "connect: refused or unreachable");
    }

    TEST_CASE("http against a listener that never answers: down at the timeout, saying so") {
        BlackHole hole;
        auto h = check(ServiceCheck::Type::Http, hole.port);
        h.timeoutMs = 300;
        const auto t0 = Clock::now();
        const auto o = probeOnce(h);
        CHECK_FALSE(o.up);
        CHECK(o.timedOut);
        CHECK(o.reason == "no response within 300 ms");
        CHECK(Clock::now() - t0 < 1500ms);
    }

    TEST_CASE("exec probes: exit 0 up, the first line of output as the reason, killed with its group at the timeout") {
        fixtures::TempDir dir("lvs-exec-probe-");
        auto e = check(ServiceCheck::Type::Exec, 0);
        e.command = {"/bin/true"};
        CHECK(probeOnce(e).up);
        e.command = {"/bin/sh", "-c", "echo \"replication lag 12 s\" >&2; exit 1"};
        CHECK(probeOnce(e).reason == "exit 1: replication lag 12 s");
        e.command = {"/bin/sh", "-c", "echo \"$LVS_VIP $LVS_PORT ${HOME:-nohome}\"; exit 3"};
        e.port = 5432;
        CHECK(probeOnce(e).reason == "exit 3: 127.0.0.1 5432 nohome");
        e.command = {"/nonexistent/check"};
        CHECK(probeOnce(e).reason == "exit 127: cannot run the command: No such file or directory");
        // It hangs, with a child of its own: both go at the timeout.
        const std::string pids = (dir.path / "pids").string();
        e.command = {"/bin/sh", "-c", "sleep 30 & echo $! > " + pids + "; echo $$ >> " + pids + "; wait"};
        e.timeoutMs = 300;
        const auto o = probeOnce(e);
        CHECK(o.timedOut);
        CHECK(o.reason.rfind("no result within 300 ms (killed)", 0) == 0);
        std::ifstream in(pids);
        int pid = 0, n = 0;
        while (in >> pid) {
            ++n;
            CAPTURE(pid);
            CHECK(eventually([&] { return ::kill(pid, 0) != 0; }, 2s));  // nothing left behind
        }
        CHECK(n == 2);
    }

    TEST_CASE("dns probes: an answer is up (NXDOMAIN too), SERVFAIL and REFUSED down, silence a timeout") {
        Dns dns;
        auto d = check(ServiceCheck::Type::Dns, dns.port);
        d.query = "example.org";
        d.timeoutMs = 500;
        CHECK(probeOnce(d).up);
        dns.rcode = 3;
        CHECK(probeOnce(d).up);
        dns.rcode = 2;
        CHECK(probeOnce(d).reason == "answered SERVFAIL");
        dns.rcode = 5;
        CHECK(probeOnce(d).reason == "answered REFUSED");
        dns.silent = true;
        const auto o = probeOnce(d);
        CHECK(o.timedOut);
        CHECK(o.reason == "no answer within 500 ms");
    }

    TEST_CASE("a check stuck in its timeout never delays another: a dead service is noticed within its interval and fall") {
        BlackHole hole;
        Web web;
        auto stuck = check(ServiceCheck::Type::Http, hole.port);
        stuck.intervalMs = stuck.timeoutMs = 5000;
        auto fast = check(ServiceCheck::Type::Http, web.port);
        fast.path = "/ok";
        fast.intervalMs = 200;
        fast.timeoutMs = 150;
        fast.rise = 1;
        fast.fall = 2;
        std::atomic<int> changes{0};
        ServiceChecker checker({stuck, fast}, [&] { ++changes; });
        auto fastUp = [&] { return checker.statuses()[1].up; };
        REQUIRE(eventually(fastUp, 5s));
        const auto t0 = Clock::now();
        web.stop();
        REQUIRE(eventually([&] { return !fastUp(); }, 5s));
        const auto noticed = Clock::now() - t0;
        CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count());
        CHECK(noticed < 2000ms);  // interval x fall plus a probe: about 600 ms
        const auto st = checker.statuses();
        CHECK(st[0].checks == 0);  // the black hole is still in its timeout
        CHECK(st[1].lastError == "connect: refused or unreachable");
        CHECK(changes >= 2);  // up, then down: each woke the daemon
    }
}
