#include <doctest/doctest.h>

#include <algorithm>

#include "agent/tools/doctor.h"
#include "fixtures.h"

using namespace agent;
using fixtures::ip;

namespace {
// A check of that name and verdict whose sentence or fix holds needle.
bool hasCheck(const std::vector<DoctorCheck>& f, const std::string& check, DoctorCheck::Verdict v, const std::string& needle = "") {
    return std::any_of(f.begin(), f.end(), [&](const DoctorCheck& x) {
        return x.check == check && x.verdict == v && (x.what + " / " + x.fix).find(needle) != std::string::npos;
    });
}
}  // namespace

TEST_SUITE("doctor") {
    TEST_CASE("the verdict column is aligned: every check name starts in the same column, fixes under it") {
        using V = DoctorCheck::Verdict;
        const std::string text = renderChecks({{.check = "a", .verdict = V::Ok, .what = "fine", .fix = ""},
                                               {.check = "b", .verdict = V::Warn, .what = "hm", .fix = "do x"},
                                               {.check = "c", .verdict = V::Fail, .what = "bad", .fix = "do y"}});
        CHECK(text == "ok    a: fine\n"
                      "warn  b: hm\n"
                      "      fix: do x\n"
                      "FAIL  c: bad\n"
                      "      fix: do y\n"
                      "1 failed, 1 warning(s)\n");
        CHECK(checksJson({{.check = "c", .verdict = V::Fail, .what = "bad", .fix = "do y"}}).find("\"verdict\": \"fail\"") != std::string::npos);
    }

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
        in.config.vips = {{.address = ip("198.51.100.188")}};
        in.ipvs = "TCP  C63364BC:0050 wlc\n";
        const auto f = diagnose(in);
        const auto it = std::find_if(f.begin(), f.end(), [](const DoctorCheck& x) { return x.check == "ipvs-director"; });
        REQUIRE(it != f.end());
        CHECK(it->verdict == DoctorCheck::Verdict::Fail);
        CHECK(it->what.find("also an IPVS virtual service") != std::string::npos);
        CHECK(it->fix.find("fwmark") != std::string::npos);
    }

    TEST_CASE("tunnel: interfaces, the decapsulation on each, the MSS against the MTU, drops with their fixes") {
        using V = DoctorCheck::Verdict;
        DoctorInput in;
        in.config = parseConfig(R"({"vips": ["198.51.100.188"], "tunnel": {"interfaces": ["eth0", "eth1", "eth2"],
                                    "directors": ["198.51.100.50"], "mss": 1460}})", "f");
        in.kernel.links = {{.ifindex = 2, .name = "eth0", .up = true, .loopback = false, .mtu = 1500},
                           {.ifindex = 3, .name = "eth1", .up = false, .loopback = false, .mtu = 9000}};
        in.tunnelHooks["eth0"] = {.clsact = true, .ingress = true, .egress = true};
        in.tunnelHooks["eth1"] = {.clsact = true, .ingress = false, .egress = true};
        std::array<std::uint64_t, tunnel::kTunnelDropReasons> drops{};
        drops[static_cast<std::size_t>(tunnel::TunnelDrop::NotDirector)] = 3;
        drops[static_cast<std::size_t>(tunnel::TunnelDrop::GueHeader)] = 2;
        in.tunnelDrops = drops;
        const auto f = diagnose(in);
        auto find = [&](const std::string& check, V v, const std::string& needle) { return hasCheck(f, check, v, needle); };
        CHECK(find("tunnel-interface", V::Ok, "eth0 is up"));
        CHECK(find("tunnel-interface", V::Fail, "eth1 is down"));
        CHECK(find("tunnel-interface", V::Fail, "eth2 (tunnel.interfaces) does not exist"));
        CHECK(find("tunnel-decap", V::Ok, "attached to eth0"));
        CHECK(find("tunnel-decap", V::Fail, "not attached to eth1 (lvs_decap missing)"));
        CHECK(find("tunnel-mss", V::Warn, "tunnel.mss 1460 does not fit eth0's MTU 1500 once encapsulated"));
        CHECK(find("tunnel-mss", V::Warn, "set tunnel.mss to 1440 or less"));
        CHECK(find("tunnel-mss", V::Ok, "tunnel.mss 1460 fits eth1's MTU"));
        CHECK(find("tunnel-drops", V::Warn, "3 tunnel packet(s) dropped (not_director) from an outer source not in tunnel.directors"));
        CHECK(find("tunnel-drops", V::Warn, "2 tunnel packet(s) dropped (gue_header)"));
        CHECK(find("tunnel-drops", V::Warn, "--tun-nocsum"));
        // nothing dropped, no program: no drop line of either kind
        in.tunnelDrops = std::array<std::uint64_t, tunnel::kTunnelDropReasons>{};
        CHECK(std::count_if(f.begin(), f.end(), [](const DoctorCheck& x) { return x.check == "tunnel-drops"; }) == 2);
        const auto quiet = diagnose(in);
        CHECK(std::any_of(quiet.begin(), quiet.end(), [](const DoctorCheck& x) { return x.check == "tunnel-drops" && x.verdict == V::Ok; }));
        in.tunnelDrops.reset();
        const auto none = diagnose(in);
        CHECK(std::none_of(none.begin(), none.end(), [](const DoctorCheck& x) { return x.check == "tunnel-drops"; }));
        // no tunnel configured: no tunnel check at all
        in.config = parseConfig(R"({"vips": ["198.51.100.188"]})", "f");
        const auto dr = diagnose(in);
        CHECK(std::none_of(dr.begin(), dr.end(), [](const DoctorCheck& x) { return x.check.rfind("tunnel-", 0) == 0; }));
    }

    TEST_CASE("network managers that would remove the agent's addresses and routes, each named with its fix") {
        auto checks = [](const DoctorInput& in) {
            std::vector<DoctorCheck> out;
            for (const auto& c : diagnose(in))
                if (c.check == "network-managers") out.push_back(c);
            return out;
        };
        DoctorInput in;
        in.config.vips = {{.address = ip("198.51.100.188")}};
        auto nm = checks(in);
        REQUIRE(nm.size() == 1);
        CHECK(nm[0].verdict == DoctorCheck::Verdict::Ok);

        // networkd: a .network matching lo (by glob), and the default ManageForeignRoutes
        in.networkdEnabled = true;
        in.networkdFiles = {{.path = "/etc/systemd/network/10-lo.network", .content = "[Match]\nName=l*\n[Network]\nAddress=127.0.0.1/8\n"},
                            {.path = "/etc/systemd/network/20-eth.network", .content = "[Match]\nName=eth0 en*\n[Network]\nDHCP=yes\n"},
                            {.path = "/etc/systemd/network/30-not-lo.network", .content = "[Match]\nName=!lo\n"}};
        nm = checks(in);
        REQUIRE(nm.size() == 2);
        CHECK(nm[0].verdict == DoctorCheck::Verdict::Warn);
        CHECK(nm[0].what.find("/etc/systemd/network/10-lo.network makes systemd-networkd (version unknown) manage lo without KeepConfiguration=static") == 0);
        CHECK(nm[0].fix == "install /usr/share/lvs-rs-agent/networkd-keep-configuration.conf as /etc/systemd/network/10-lo.network.d/lvs-rs-agent.conf, then networkctl reload");
        CHECK(nm[1].what.find("ManageForeignRoutes=yes (the default)") != std::string::npos);
        CHECK(nm[1].fix.find("/etc/systemd/networkd.conf.d/lvs-rs-agent.conf") != std::string::npos);

        // systemd-networkd 252 (Debian 12) leaves lo's foreign addresses and routes alone:
        // the lo .network is named, as ok with the fix for other versions; no route warning
        in.systemdVersion = 252;
        nm = checks(in);
        REQUIRE(nm.size() == 1);
        CHECK(nm[0].verdict == DoctorCheck::Verdict::Ok);
        CHECK(nm[0].what.find("/etc/systemd/network/10-lo.network makes systemd-networkd 252 manage lo") == 0);
        CHECK(nm[0].what.find("networkd-keep-configuration.conf") != std::string::npos);
        in.systemdVersion = 245;
        nm = checks(in);
        REQUIRE(nm.size() == 2);
        CHECK(nm[0].verdict == DoctorCheck::Verdict::Warn);
        CHECK(nm[0].what.find("systemd-networkd 245 manage lo without KeepConfiguration=static: versions before 252 remove") != std::string::npos);

        // the shipped snippets, installed: nothing left to warn about
        in.networkdFiles.push_back({.path = "/etc/systemd/network/10-lo.network.d/lvs-rs-agent.conf", .content = "[Network]\nKeepConfiguration=static\n"});
        in.networkdConf = {{.path = "/etc/systemd/networkd.conf.d/lvs-rs-agent.conf", .content = "[Network]\nManageForeignRoutes=no\n"}};
        nm = checks(in);
        REQUIRE(nm.size() == 1);
        CHECK(nm[0].verdict == DoctorCheck::Verdict::Ok);

        // a .network with an empty [Match] matches every link, lo too
        in.networkdFiles.push_back({.path = "/run/systemd/network/99-all.network", .content = "[Match]\n[Network]\nLinkLocalAddressing=no\n"});
        nm = checks(in);
        REQUIRE(nm.size() == 1);
        CHECK(nm[0].what.find("/run/systemd/network/99-all.network makes") == 0);
        in.networkdFiles.pop_back();

        // NetworkManager without lo unmanaged; then with the snippet
        in.nmEnabled = true;
        in.nmConf = {{.path = "/etc/NetworkManager/NetworkManager.conf", .content = "[main]\nplugins=ifupdown,keyfile\n"}};
        nm = checks(in);
        REQUIRE(nm.size() == 1);
        CHECK(nm[0].what.find("NetworkManager is in use and lo is not among its unmanaged-devices") == 0);
        CHECK(nm[0].fix.find("/etc/NetworkManager/conf.d/99-lvs-rs-agent.conf") != std::string::npos);
        in.nmConf.push_back({.path = "/etc/NetworkManager/conf.d/99-lvs-rs-agent.conf", .content = "[keyfile]\nunmanaged-devices=interface-name:lo\n"});
        CHECK(checks(in)[0].verdict == DoctorCheck::Verdict::Ok);

        // netplan naming lo
        in.netplanFiles = {{.path = "/etc/netplan/01-lo.yaml", .content = "network:\n  version: 2\n  ethernets:\n    lo:\n      addresses: [127.0.0.1/8]\n"}};
        nm = checks(in);
        REQUIRE(nm.size() == 1);
        CHECK(nm[0].what.find("/etc/netplan/01-lo.yaml:4 has netplan configure lo") == 0);
    }
}

TEST_SUITE("doctor") {
    TEST_CASE("a range: its local route, a range holding eth0's address, and ARP answered on eth0") {
        DoctorInput in;
        in.config.vips = {{.address = ip("198.18.0.0"), .prefixLen = 16}, {.address = ip("198.51.100.0"), .prefixLen = 24}};
        in.kernel.links = {{.ifindex = 1, .name = "lo", .up = true, .loopback = true}, {.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
        in.kernel.addresses = {{.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24}};
        in.kernel.routes = {{.dst = ip("198.18.0.0"), .table = netcfg::kLocalTable, .protocol = netcfg::kRouteProtocol, .oif = 1,
                             .dstLen = 16, .type = netcfg::kLocalType}};
        in.sysctls["all"] = {{"arp_ignore", 0}, {"arp_announce", 0}};
        in.sysctls["eth0"] = {{"arp_ignore", 0}, {"arp_announce", 0}};
        using V = DoctorCheck::Verdict;
        const auto checks = diagnose(in);
        auto find = [&](const std::string& name, const std::string& what) {
            return std::find_if(checks.begin(), checks.end(), [&](const DoctorCheck& c) {
                return c.check == name && c.what.find(what) != std::string::npos;
            });
        };
        REQUIRE(find("range-local-route", "198.18.0.0/16") != checks.end());
        CHECK(find("range-local-route", "198.18.0.0/16")->verdict == V::Ok);
        REQUIRE(find("range-local-route", "198.51.100.0/24") != checks.end());
        CHECK(find("range-local-route", "198.51.100.0/24")->verdict == V::Fail);
        REQUIRE(find("range-conflict", "holds 198.51.100.60, an address of eth0") != checks.end());
        REQUIRE(find("arp-effective", "eth0") != checks.end());
        CHECK(find("arp-effective", "eth0")->verdict == V::Fail);  // arp_ignore 0 would answer for the range
        CHECK(std::none_of(checks.begin(), checks.end(), [](const DoctorCheck& c) { return c.check == "vip-on-lo"; }));
    }

    TEST_CASE("VIP checks come from the planner's findings, and the wider prefix on lo from doctor") {
        DoctorInput in;
        in.config.vips = {{.address = ip("198.51.100.1")}, {.address = ip("198.51.100.2")}, {.address = ip("198.51.100.3")},
                          {.address = ip("198.51.100.4")}};
        in.kernel.links = {{.ifindex = 1, .name = "lo", .up = true, .loopback = true}, {.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
        in.kernel.addresses = {{.ifindex = 1, .address = ip("198.51.100.1"), .prefixlen = 32},
                               {.ifindex = 1, .address = ip("198.51.100.3"), .prefixlen = 24},
                               {.ifindex = 2, .address = ip("198.51.100.4"), .prefixlen = 24}};
        std::vector<DoctorCheck> vip;
        for (const auto& c : diagnose(in))
            if (c.check.rfind("vip-on-", 0) == 0) vip.push_back(c);
        using V = DoctorCheck::Verdict;
        REQUIRE(vip.size() == 5);
        CHECK(vip[0].verdict == V::Ok);
        CHECK(vip[0].what == "198.51.100.1/32 is bound on lo");
        CHECK(vip[1].verdict == V::Fail);
        CHECK(vip[1].what == "198.51.100.2/32 is not bound on lo: this server drops the traffic the director sends");
        CHECK(vip[2].what == "198.51.100.3 is bound on lo as /24: lo then claims the whole subnet");
        CHECK(vip[2].fix == "ip addr del 198.51.100.3/24 dev lo; lvs-rs-agent start");
        CHECK(vip[3].check == "vip-on-lo");
        CHECK(vip[3].verdict == V::Fail);
        CHECK(vip[4].check == "vip-on-real-interface");
        CHECK(vip[4].what.find("198.51.100.4 is also an address of eth0") == 0);
        CHECK(vip[4].fix == "ip addr del 198.51.100.4 dev eth0 (the VIP belongs on lo only)");
    }

    TEST_CASE("nat: the director, each port's reply path, strict rp_filter, a default route via the director, NAT rules here") {
        using V = DoctorCheck::Verdict;
        DoctorInput in;
        in.config = parseConfig(R"({"nat": {"director": ["198.51.100.50", "2001:db8::50"], "vips": ["203.0.113.188"],
                                    "ports": [8080]}})", "f");
        in.natDirectors = {{.director = ip("198.51.100.50"), .ifindex = 2, .iface = "eth0", .reach = DirectorStatus::Reach::Reachable,
                            .mac = "52:54:00:00:00:50"}};
        in.natPorts = {{.family = AF_INET, .ipProto = 6, .port = 8080, .source = "198.51.100.60", .via = "198.51.100.1", .dev = "eth0",
                        .table = 254, .ok = false, .why = "the kernel sends these replies via 198.51.100.1 dev eth0 (table 254)"}};
        in.natClientOif[AF_INET] = 3;  // the route back to clients leaves by eth1
        in.sysctls["all"]["rp_filter"] = 1;
        in.defaultGateways = {"198.51.100.50"};
        in.natChains = {"ip nat POSTROUTING (postrouting)"};
        const auto f = diagnose(in);
        auto find = [&](const std::string& check, V v, const std::string& needle) { return hasCheck(f, check, v, needle); };
        CHECK(find("nat-director", V::Ok, "the NAT director 198.51.100.50 on eth0 answers (MAC 52:54:00:00:00:50)"));
        CHECK(find("nat-director", V::Fail, "no address of this host is on the NAT director 2001:db8::50's subnet"));
        CHECK(find("nat-reply-path", V::Fail, "tcp/8080 from 198.51.100.60: the kernel sends these replies via 198.51.100.1"));
        CHECK(find("nat-rp-filter", V::Warn, "eth0 has strict rp_filter (1)"));
        CHECK(find("nat-default-route", V::Ok, "redundant (fine)"));
        CHECK(find("nat-rewrite", V::Warn, "ip nat POSTROUTING (postrouting)"));

        in.natDirectors[0].reach = DirectorStatus::Reach::Unreachable;
        in.natDirectors[0].why = "it does not answer ARP on eth0";
        in.natPorts[0].ok = true;
        in.natChains.clear();
        const auto g = diagnose(in);
        auto has = [&](const std::string& check, V v) { return hasCheck(g, check, v); };
        CHECK(has("nat-director", V::Fail));
        CHECK(has("nat-reply-path", V::Ok));
        CHECK(has("nat-rewrite", V::Ok));
    }

    TEST_CASE("nat: the NAT chains in nftables' JSON listing") {
        const std::string json = R"({"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"chain": {"family": "ip", "table": "nat", "name": "POSTROUTING", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100}},
            {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 2, "type": "filter", "hook": "input", "prio": 0}},
            {"chain": {"family": "ip6", "table": "t", "name": "plain", "handle": 3}}]})";
        CHECK(parseNatChains(json) == std::vector<std::string>{"ip nat POSTROUTING (postrouting)"});
        CHECK(parseNatChains("not json").empty());
    }

    TEST_CASE("a .0 or .255 VIP is a host of a wider subnet: refused only where a subnet here makes it its network or broadcast") {
        CHECK(parseConfig(R"({"vips": ["203.0.113.255", "198.51.100.0"]})", "f").vips.size() == 2);
        DoctorInput in;
        in.config = parseConfig(R"({"vips": ["198.51.100.255", "203.0.113.255"]})", "f");
        in.kernel.links = {{.ifindex = 1, .name = "lo", .up = true, .loopback = true}, {.ifindex = 2, .name = "eth0", .up = true, .loopback = false}};
        in.kernel.addresses = {{.ifindex = 2, .address = ip("198.51.100.60"), .prefixlen = 24},
                               {.ifindex = 2, .address = ip("203.0.112.1"), .prefixlen = 22}};
        const auto f = diagnose(in);
        CHECK(hasCheck(f, "vip-subnet", DoctorCheck::Verdict::Fail, "198.51.100.255 is the broadcast address of eth0's subnet 198.51.100.60/24"));
        CHECK(std::count_if(f.begin(), f.end(), [](const DoctorCheck& c) { return c.check == "vip-subnet"; }) == 1);  // 203.0.113.255 is a host of the /22
    }
}
