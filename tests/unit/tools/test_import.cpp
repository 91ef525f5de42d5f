#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/tools/importer.h"

using namespace agent;

namespace {

// The classic lvs_real / realserver init script of LVS-DR how-tos.
const char* kLvsReal = R"(#!/bin/bash
# description: Config realserver lo and apply noarp
SNS_VIP=198.51.100.188
. /etc/rc.d/init.d/functions
case "$1" in
start)
       ifconfig lo:0 $SNS_VIP netmask 255.255.255.255 broadcast $SNS_VIP
       /sbin/route add -host $SNS_VIP dev lo:0
       echo "1" >/proc/sys/net/ipv4/conf/lo/arp_ignore
       echo "2" >/proc/sys/net/ipv4/conf/lo/arp_announce
       echo "1" >/proc/sys/net/ipv4/conf/all/arp_ignore
       echo "2" >/proc/sys/net/ipv4/conf/all/arp_announce
       sysctl -p >/dev/null 2>&1
       echo "RealServer Start OK"
       ;;
stop)
       ifconfig lo:0 down
       route del $SNS_VIP >/dev/null 2>&1
       echo "0" >/proc/sys/net/ipv4/conf/lo/arp_ignore
       echo "0" >/proc/sys/net/ipv4/conf/lo/arp_announce
       echo "0" >/proc/sys/net/ipv4/conf/all/arp_ignore
       echo "0" >/proc/sys/net/ipv4/conf/all/arp_announce
       echo "RealServer Stoped"
       ;;
esac
exit 0
)";

}  // namespace

TEST_SUITE("import") {
    TEST_CASE("the classic lvs_real script, with its shell variable and its stop branch") {
        const auto r = importSetup({{.path = "/etc/init.d/realserver", .content = kLvsReal}});
        CHECK(r.vips == std::vector<std::string>{"198.51.100.188"});
        CHECK(r.hostRoutes);
        CHECK(r.arpIgnore.at("all") == 1);  // the stop branch's 0 does not win
        CHECK(r.arpAnnounce.at("lo") == 2);
        CHECK(r.toDelete.front() == "/etc/init.d/realserver:7:        ifconfig lo:0 $SNS_VIP netmask 255.255.255.255 broadcast $SNS_VIP");
        CHECK(r.notes.empty());
        // the stop branch's route line goes with the script too
        CHECK(std::count(r.toDelete.begin(), r.toDelete.end(), "/etc/init.d/realserver:18:        route del $SNS_VIP >/dev/null 2>&1") == 1);
        const Config cfg = parseConfig(r.configJson(), "imported");
        REQUIRE(cfg.vips.size() == 1);
        CHECK(cfg.vips[0].address.str() == "198.51.100.188");
        CHECK(cfg.arp.interfaces == std::vector<std::string>{"lo", "all"});
        CHECK(cfg.arp.ignore == 1);
        CHECK(cfg.arp.announce == 2);
        CHECK(cfg.hostRoutes);
    }

    TEST_CASE("the lvs_server.sh family: route add -h (net-tools' short -host) and route del -h") {
        const auto r = importSetup({{.path = "/usr/local/sbin/lvs_server.sh",
                                     .content = "VIP=198.51.100.191\n/sbin/ifconfig lo:0 $VIP broadcast $VIP netmask 255.255.255.255 up\n"
                                                "/sbin/route add -h $VIP dev lo:0\n# stop\n/sbin/route del -h $VIP\n"}});
        CHECK(r.vips == std::vector<std::string>{"198.51.100.191"});
        CHECK(r.hostRoutes);
        CHECK(std::count(r.toDelete.begin(), r.toDelete.end(), "/usr/local/sbin/lvs_server.sh:3: /sbin/route add -h $VIP dev lo:0") == 1);
        CHECK(std::count(r.toDelete.begin(), r.toDelete.end(), "/usr/local/sbin/lvs_server.sh:5: /sbin/route del -h $VIP") == 1);
        CHECK(parseConfig(r.configJson(), "imported").hostRoutes);
    }

    TEST_CASE("ifcfg-lo:0 with NETMASK=255.255.255.255") {
        const auto r = importSetup({{.path = "/etc/sysconfig/network-scripts/ifcfg-lo:0",
                                     .content = "DEVICE=lo:0\nIPADDR=198.51.100.189\nNETMASK=255.255.255.255\nONBOOT=yes\nNAME=loopback\n"}});
        CHECK(r.vips == std::vector<std::string>{"198.51.100.189"});
        CHECK_FALSE(r.hostRoutes);
        CHECK(r.toDelete.front().rfind("/etc/sysconfig/network-scripts/ifcfg-lo:0 (the whole file", 0) == 0);
        CHECK(parseConfig(r.configJson(), "imported").vips.size() == 1);
    }

    TEST_CASE("rc.local lines, sysctl.conf on a real interface, an ifupdown alias with a wrong netmask") {
        const auto r = importSetup({
            {.path = "/etc/rc.local",
             .content = "#!/bin/sh -e\nip addr add 203.0.113.10/32 dev lo label lo:1\nip route add 203.0.113.10/32 dev lo\n"
                        "/sbin/ifconfig lo:2 2001:db8::10/128 up\nsysctl -w net.ipv4.conf.eth0.arp_ignore=1\nexit 0\n"},
            {.path = "/etc/sysctl.conf", .content = "# LVS\nnet.ipv4.conf.eth0.arp_announce = 2\nnet.ipv4.ip_forward = 0\n"},
            {.path = "/etc/network/interfaces",
             .content = "auto lo\niface lo inet loopback\n\nauto lo:0\niface lo:0 inet static\n    address 198.51.100.190\n    netmask 255.255.255.0\n"},
        });
        CHECK(r.vips == std::vector<std::string>{"203.0.113.10", "2001:db8::10", "198.51.100.190"});
        CHECK(r.hostRoutes);
        CHECK(r.arpIgnore.at("eth0") == 1);
        CHECK(r.arpAnnounce.at("eth0") == 2);
        REQUIRE(r.notes.size() == 1);
        CHECK(r.notes[0] == "/etc/network/interfaces:5: 198.51.100.190 had prefix /24; DR needs a host address, the configuration binds it as /32");
        CHECK(std::find(r.toDelete.begin(), r.toDelete.end(), std::string("/etc/sysctl.conf:2: net.ipv4.conf.eth0.arp_announce = 2")) != r.toDelete.end());
        const Config cfg = parseConfig(r.configJson(), "imported");
        CHECK(cfg.arp.interfaces == std::vector<std::string>{"lo", "eth0"});
        CHECK(cfg.vips.size() == 3);
    }

    TEST_CASE("hostile text: long digit strings and bytes that are no interface name") {
        const std::string script = "echo 99999999999999999999 > /proc/sys/net/ipv4/conf/all/arp_ignore\n"
                                   "echo 2 > /proc/sys/net/ipv4/conf/al\x9a/arp_announce\n"
                                   "ip addr add 198.51.100.5/99999999999999999 dev lo\n"
                                   "ip addr add 198.51.100.6/32 dev lo\n"
                                   "ip addr add 224.0.0.5/32 dev lo\n";
        const auto r = importSetup({{.path = "/etc/rc.local", .content = script}});
        CHECK(r.vips == std::vector<std::string>{"198.51.100.5", "198.51.100.6"});
        CHECK(std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
            return n == "/etc/rc.local:2: \"al\x9a\" is not an interface name, ignoring";
        }));
        CHECK(std::find(r.notes.begin(), r.notes.end(),
                        "/etc/rc.local:5: 224.0.0.5 is a multicast address; left out") != r.notes.end());
        // Whatever it derives, the agent itself accepts.
        CHECK_NOTHROW((void)parseConfig(r.configJson(), "imported"));
    }

    TEST_CASE("an empty variable next to a longer name does not hang the substitution") {
        const auto r = importSetup({{.path = "/etc/rc.local",
                                     .content = "VIP=\nVIPS=198.51.100.7\nip addr add $VIPS/32 dev lo $VIPe $VIP\n"}});
        CHECK(r.vips == std::vector<std::string>{"198.51.100.7"});
    }

    TEST_CASE("nothing to import") {
        const auto r = importSetup({{.path = "/etc/rc.local", .content = "#!/bin/sh\nexit 0\n"}});
        CHECK(r.vips.empty());
        CHECK(r.toDelete.empty());
    }
}
