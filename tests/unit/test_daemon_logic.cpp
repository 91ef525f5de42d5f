#include <doctest/doctest.h>

#include "agent/reconcile/flap_damper.h"
#include "agent/daemon/readiness.h"
#include "api/agent_check.h"
#include "api/metrics.h"
#include "fixtures.h"
#include "temp_dir.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace agent;
using namespace std::chrono_literals;
using fixtures::ip;

TEST_SUITE("daemon_logic") {
    const Subject kAddr = Subject::address(ip("198.51.100.1"));
    const Subject kSysctl = Subject::setting({.iface = "all", .name = "arp_ignore"});

    TEST_CASE("flap damper: repairs below the threshold are not delayed") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        CHECK_FALSE(d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t));
        CHECK_FALSE(d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t + 1s));
        CHECK_FALSE(d.fighting());
        CHECK(d.nextAllowed(kAddr) <= t);
    }

    TEST_CASE("flap damper: a fight backs off exponentially to the cap, one log line per step") {
        FlapDamper d;
        auto t = FlapDamper::Clock::now();
        const std::string item = "net.ipv4.conf.all.arp_ignore";
        d.recordRepairs({{kSysctl, "sysctl", item}}, t);
        d.recordRepairs({{kSysctl, "sysctl", item}}, t + 10ms);
        auto line = d.recordRepairs({{kSysctl, "sysctl", item}}, t + 20ms);
        REQUIRE(line);
        CHECK(*line == "fighting: something keeps undoing net.ipv4.conf.all.arp_ignore; next repair in 100 ms");
        CHECK(d.fighting());
        CHECK(d.nextAllowed(kSysctl) == t + 20ms + 100ms);
        std::vector<long long> steps;
        int lines = 1;
        for (int i = 0; i < 10; ++i) {
            t += 10ms;
            if (d.recordRepairs({{kSysctl, "sysctl", item}}, t + 20ms)) ++lines;
            steps.push_back(d.backoff().count());
        }
        CHECK(steps == std::vector<long long>{200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000});
        CHECK(lines == 7);  // 100, 200, 400, 800, 1600, 3200, 5000: no line once capped
        CHECK(d.fightingWith() == std::vector<std::string>{item});
    }

    TEST_CASE("flap damper: one item fought over does not hold back another") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        for (int i = 0; i < 3; ++i) d.recordRepairs({{kSysctl, "sysctl", "net.ipv4.conf.all.arp_ignore"}}, t + i * 1ms);
        REQUIRE(d.fighting());
        CHECK(d.nextAllowed(kSysctl) > t + 2ms);
        CHECK(d.nextAllowed(kAddr) <= t);  // never repaired: at once
        CHECK_FALSE(d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t + 3ms));
        CHECK(d.nextAllowed(kAddr) <= t + 3ms);
    }

    TEST_CASE("flap damper: a VIP's address and route are damped apart") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        d.recordRepairs({{kAddr, "address", "address 198.51.100.1/32"}}, t);
        d.recordRepairs({{kAddr, "route", "route 198.51.100.1/32"}}, t + 1ms);
        CHECK_FALSE(d.recordRepairs({{kAddr, "route", "route 198.51.100.1/32"}}, t + 2ms));
        CHECK_FALSE(d.fighting());
        CHECK(d.recordRepairs({{kAddr, "route", "route 198.51.100.1/32"}}, t + 3ms));
        CHECK(d.nextAllowed(kAddr) == t + 3ms + 100ms);  // the VIP waits for its route's backoff
    }

    TEST_CASE("flap damper: a line about thousands of items stays short") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        std::optional<std::string> line;
        for (int round = 0; round < 3; ++round) {
            std::vector<FlapDamper::Repair> many;
            for (int i = 0; i < 10000; ++i) {
                netcfg::IpAddress a = ip("198.18.0.0");
                a.bytes[2] = static_cast<std::uint8_t>(i / 256);
                a.bytes[3] = static_cast<std::uint8_t>(i % 256);
                many.push_back({Subject::address(a), "route", "route " + a.hostCidr()});
            }
            line = d.recordRepairs(many, t + round * 1ms);
        }
        REQUIRE(line);
        CHECK(line->size() < 200);
        CHECK(line->find("and 9,997 more") != std::string::npos);
        CHECK(d.fightingCount() == 10000);
        CHECK(d.fightingWith().size() == FlapDamper::kListed);
    }

    TEST_CASE("flap damper: quiet for the window ends the fight") {
        FlapDamper d;
        const auto t = FlapDamper::Clock::now();
        const Subject route = Subject::address(ip("198.51.100.1"));
        for (int i = 0; i < 3; ++i) d.recordRepairs({{route, "route", "route 198.51.100.1/32"}}, t + i * 1ms);
        REQUIRE(d.fighting());
        CHECK_FALSE(d.settle(t + 5s));  // still within the window
        CHECK(d.fighting());
        auto line = d.settle(t + 11s);
        REQUIRE(line);
        CHECK(line->find("no longer fighting over route 198.51.100.1/32") == 0);
        CHECK_FALSE(d.fighting());
        CHECK(d.backoff().count() == 0);
    }

    TEST_CASE("agent-check replies") {
        api::Snapshot s;
        CHECK(api::agentCheckReply(s) == "down\n");
        s.ready = true;
        CHECK(api::agentCheckReply(s) == "up ready\n");
        s.agentCheckWeight = 50;
        CHECK(api::agentCheckReply(s) == "up ready 50%\n");
        s.draining = true;
        s.ready = false;
        CHECK(api::agentCheckReply(s) == "up drain\n");
    }

    TEST_CASE("metrics: text format 0.0.4 with HELP, TYPE and escaped labels") {
        api::Snapshot s;
        s.ready = true;
        s.version = "1.2.3";
        s.setVips({{.vip = "198.51.100.1", .bound = true}});
        s.repairs = {{"address", 3}};
        s.services = {{.name = "tcp", .vip = "198.51.100.1", .port = 80, .type = "tcp", .up = true, .lastError = ""}};
        s.driftEvents = 2;
        s.reconcileCount = 5;
        s.reconcileSecondsSum = 0.01;
        const std::string m = api::renderMetrics(s, 0);
        for (const char* needle : {"# HELP lvs_rs_agent_ready ", "# TYPE lvs_rs_agent_ready gauge\nlvs_rs_agent_ready 1\n",
                                   "lvs_rs_agent_vip_bound{vip=\"198.51.100.1\"} 1\n",
                                   "lvs_rs_agent_vip_ready{vip=\"198.51.100.1\"} 1\n",
                                   "# TYPE lvs_rs_agent_repairs_total counter\n",
                                   "lvs_rs_agent_repairs_total{kind=\"address\"} 3\n",
                                   "lvs_rs_agent_repairs_total{kind=\"route\"} 0\n",
                                   "lvs_rs_agent_drift_events_total 2\n",
                                   "lvs_rs_agent_reconcile_duration_seconds_count 5\n",
                                   "lvs_rs_agent_service_up{vip=\"198.51.100.1\",port=\"80\",type=\"tcp\"} 1\n",
                                   "lvs_rs_agent_build_info{version=\"1.2.3\"} 1\n"}) {
            CAPTURE(needle);
            CHECK(m.find(needle) != std::string::npos);
        }
        s.version = "a\"b\\c\nd";
        CHECK(api::renderMetrics(s, 0).find("version=\"a\\\"b\\\\c\\nd\"") != std::string::npos);
    }

    TEST_CASE("process metrics: the client libraries' standard names, read from /proc") {
        const std::string m = api::renderProcessMetrics(1.7e9);
        for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_virtual_memory_bytes ",
                                 "process_open_fds ", "process_max_fds ", "process_start_time_seconds 1700000000.000\n"}) {
            CAPTURE(name);
            CHECK(m.find("\n" + std::string(name)) != std::string::npos);
        }
        CHECK(m.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
        // a command name with spaces and parentheses does not shift the fields
        fixtures::TempDir d{"lvs-proc-"};
        std::filesystem::create_directories(d.path / "fd");
        std::ofstream(d.path / "stat") << "42 (a) (b c) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 7 0 1000 "
                                          "123456789 300 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        const std::string fake = api::renderProcessMetrics(0, d.path.string());
        char cpu[32];
        std::snprintf(cpu, sizeof cpu, "%.2f", 400.0 / static_cast<double>(::sysconf(_SC_CLK_TCK)));
        CHECK(fake.find("\nprocess_cpu_seconds_total " + std::string(cpu) + "\n") != std::string::npos);
        CHECK(fake.find("\nprocess_virtual_memory_bytes 123456789\n") != std::string::npos);
        CHECK(fake.find("\nprocess_resident_memory_bytes " + std::to_string(300 * ::sysconf(_SC_PAGESIZE)) + "\n") != std::string::npos);
        CHECK(fake.find("\nprocess_open_fds 0\n") != std::string::npos);
        CHECK(fake.find("process_start_time_seconds") == std::string::npos);  // not known: not reported
    }
}

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/daemon/notify.h"

TEST_SUITE("daemon_logic") {
    TEST_CASE("sd_notify datagrams reach $NOTIFY_SOCKET; the watchdog period follows WATCHDOG_USEC") {
        const std::string path = "/tmp/lvs-notify-" + std::to_string(::getpid());
        ::unlink(path.c_str());
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        timeval tv{.tv_sec = 1, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        ::setenv("WATCHDOG_USEC", "2000000", 1);
        ::unsetenv("WATCHDOG_PID");
        SystemdNotifier n;
        auto next = [&] {
            char buf[512];
            const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            return r > 0 ? std::string(buf, static_cast<size_t>(r)) : std::string();
        };
        n.ready("ready: 1 VIP(s) in place");
        CHECK(next() == "READY=1\nSTATUS=ready: 1 VIP(s) in place");
        n.status("not ready: draining");
        CHECK(next() == "STATUS=not ready: draining");
        n.reloading();
        CHECK(next().rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
        n.stopping("bye");
        CHECK(next() == "STOPPING=1\nSTATUS=bye");
        REQUIRE(n.watchdogPeriod());
        CHECK(n.watchdogPeriod()->count() == 1000);
        n.watchdog(std::chrono::steady_clock::now());
        CHECK(next() == "WATCHDOG=1");
        ::setenv("WATCHDOG_PID", "1", 1);  // another process's watchdog
        CHECK_FALSE(SystemdNotifier().watchdogPeriod());
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
        ::close(fd);
        ::unlink(path.c_str());
    }
}
