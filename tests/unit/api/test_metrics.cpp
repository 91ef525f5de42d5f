#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/metrics.h"
#include "temp_dir.h"

using namespace api;

TEST_SUITE("metrics") {
    TEST_CASE("metrics: text format 0.0.4 with HELP, TYPE and escaped labels") {
        api::Snapshot s;
        s.server = api::Readiness::readyNow();
        s.version = "1.2.3";
        s.setVips({{.vip = "198.51.100.1", .bound = true}});
        s.repairs = {{"address", 3}};
        s.services = {{.name = "tcp 198.51.100.1:80", .vip = "198.51.100.1", .port = 80, .type = "tcp", .up = true, .lastError = ""}};
        s.services[0].probesUp = 7;
        s.services[0].probesTimedOut = 1;
        s.services[0].lastProbeSeconds = 0.25;
        s.probeDelays.add(0.002);
        s.probeDelays.add(0.3);
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
                                   "lvs_rs_agent_service_up{check=\"tcp 198.51.100.1:80\",vip=\"198.51.100.1\",port=\"80\",type=\"tcp\"} 1\n",
                                   "lvs_rs_agent_service_probes_total{check=\"tcp 198.51.100.1:80\",vip=\"198.51.100.1\",port=\"80\",type=\"tcp\",result=\"up\"} 7\n",
                                   "lvs_rs_agent_service_probes_total{check=\"tcp 198.51.100.1:80\",vip=\"198.51.100.1\",port=\"80\",type=\"tcp\",result=\"timeout\"} 1\n",
                                   "lvs_rs_agent_service_probe_duration_seconds{check=\"tcp 198.51.100.1:80\",vip=\"198.51.100.1\",port=\"80\",type=\"tcp\"} 0.25\n",
                                   "# TYPE lvs_rs_agent_service_probe_delay_seconds histogram\n",
                                   "lvs_rs_agent_service_probe_delay_seconds_bucket{le=\"0.001\"} 0\n",
                                   "lvs_rs_agent_service_probe_delay_seconds_bucket{le=\"0.005\"} 1\n",
                                   "lvs_rs_agent_service_probe_delay_seconds_bucket{le=\"0.5\"} 2\n",
                                   "lvs_rs_agent_service_probe_delay_seconds_bucket{le=\"+Inf\"} 2\n",
                                   "lvs_rs_agent_service_probe_delay_seconds_count 2\n",
                                   "lvs_rs_agent_service_probe_delay_max_seconds 0.3\n",
                                   "lvs_rs_agent_build_info{version=\"1.2.3\"} 1\n"}) {
            CAPTURE(needle);
            CHECK(m.find(needle) != std::string::npos);
        }
        s.lastReloadSuccessUnix = 1796538812.375;  // full precision, not 1.79653881e+09
        CHECK(api::renderMetrics(s, 0).find(" 1796538812.375\n") != std::string::npos);
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
