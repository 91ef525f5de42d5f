#include <doctest/doctest.h>

#include <algorithm>

#include "agent/tools/doctor.h"
#include "fixtures.h"

using namespace agent;
using fixtures::ip;

TEST_SUITE("doctor") {
    TEST_CASE("/proc/net/tcp and tcp6 listeners") {
        const std::string v4 =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
            "   1: BC6433C6:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
            "   2: BC6433C6:0050 C86433C6:9C41 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n";
        const auto l = parseProcNetTcp(v4, false);
        REQUIRE(l.size() == 2);
        CHECK(l[0].address.str() == "127.0.0.1");
        CHECK(l[0].port == 8080);
        CHECK(l[1].address.str() == "198.51.100.188");
        CHECK(l[1].port == 80);
        const std::string v6 =
            "  sl  local_address                         remote_address                        st\n"
            "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0 0 0\n"
            "   1: B80D0120000000000000000088010000:01BB 00000000000000000000000000000000:0000 0A 0 0 0\n";
        const auto l6 = parseProcNetTcp(v6, true);
        REQUIRE(l6.size() == 2);
        CHECK(l6[0].address.str() == "::");
        CHECK(l6[1].address.str() == "2001:db8::188");
        CHECK(l6[1].port == 443);
    }

    TEST_CASE("/proc/net/ip_vs virtual services and /proc/net/route defaults") {
        const std::string ipvs =
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n"
            "TCP  C63364BC:0050 wlc\n"
            "  -> C663643C:0050      Route   1      0          0\n"
            "TCP  [2001:0db8:0000:0000:0000:0000:0000:0188]:0050 rr\n";
        const auto v = parseIpvsVirtualAddresses(ipvs);
        REQUIRE(v.size() == 2);
        CHECK(v[0].str() == "198.51.100.188");
        CHECK(v[1].str() == "2001:db8::188");
        const std::string route =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "eth0\t00000000\t326433C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
            "eth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        CHECK(parseDefaultGateways(route) == std::vector<std::string>{"198.51.100.50"});
    }

    TEST_CASE("a host that is also an IPVS director for its VIP fails") {
        DoctorInput in;
        in.config.vips = {ip("198.51.100.188")};
        in.ipvs = "TCP  C63364BC:0050 wlc\n";
        const auto f = diagnose(in);
        const auto it = std::find_if(f.begin(), f.end(), [](const DoctorCheck& x) { return x.check == "ipvs-director"; });
        REQUIRE(it != f.end());
        CHECK(it->verdict == DoctorCheck::Verdict::Fail);
        CHECK(it->what.find("also an IPVS virtual service") != std::string::npos);
        CHECK(it->fix.find("fwmark") != std::string::npos);
    }
}
