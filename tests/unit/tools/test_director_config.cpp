#include <doctest/doctest.h>

#include "agent/tools/director_config.h"

using namespace agent;

TEST_SUITE("director_config") {
    TEST_CASE("the target comes from --director-check or api.listen") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188"], "api": {"listen": "198.51.100.60:9100"}})", "f");
        auto t = directorTarget(cfg, "");
        REQUIRE(t);
        CHECK(t->rip == "198.51.100.60");
        CHECK(t->apiPort == 9100);
        auto u = directorTarget(cfg, "http://[2001:db8::60]:9200/ready", {}, DirectorFormat::Haproxy);
        REQUIRE(u);
        CHECK(u->rip == "2001:db8::60");
        CHECK(u->apiPort == 9200);
        // keepalived: an IPv4 VIP needs the real server's IPv4 address too.
        CHECK(directorTarget(cfg, "http://[2001:db8::60]:9200").error().find("VIP 198.51.100.188 is IPv4") == 0);
        auto both = directorTarget(cfg, "http://[2001:db8::60]:9200", {"198.51.100.60"});
        REQUIRE(both);
        CHECK(both->otherRip == "198.51.100.60");
        CHECK(directorTarget(cfg, "", {"198.51.100.61"}).error().find("gives the other family's") != std::string::npos);
        CHECK(directorTarget(cfg, "", {"nope"}).error() == "--rip nope is not an IP address");
        CHECK(directorTarget(cfg, "", {"2001:db8::1", "2001:db8::2"}).error() == "--rip given twice for IPv6");
        CHECK(directorTarget(cfg, "https://198.51.100.60:9100").error().find("must look like http://") != std::string::npos);
        CHECK(directorTarget(cfg, "http://rs1:9100").error() == "--director-check: \"rs1\" is not an IP address");
        CHECK(directorTarget(cfg, "http://198.51.100.60").error().find("missing port") != std::string::npos);
        CHECK(directorTarget(cfg, "http://198.51.100.60:0").error() == "--director-check: port \"0\" must be 1-65535");
        Config wild = parseConfig(R"({"vips": ["198.51.100.188"], "api": {"listen": "0.0.0.0:9100"}})", "f");
        CHECK(directorTarget(wild, "").error().find("give --director-check") != std::string::npos);
        Config none = parseConfig(R"({"vips": ["198.51.100.188"]})", "f");
        CHECK(directorTarget(none, "").error().find("no \"api\"") != std::string::npos);
    }

    TEST_CASE("keepalived: a DR virtual_server per service with an HTTP_GET of /ready/<vip>") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188", "198.51.100.189"], "api": {"listen": "198.51.100.60:9100"},
                                     "services": [{"vip": "198.51.100.188", "port": 443}]})", "f");
        const std::string k = renderDirectorConfig(cfg, DirectorFormat::Keepalived, *directorTarget(cfg, ""));
        for (const char* needle : {"virtual_server 198.51.100.188 443 {", "lb_kind DR", "real_server 198.51.100.60 443 {",
                                   "path /ready/198.51.100.188", "connect_port 9100", "status_code 200",
                                   "# no service configured for 198.51.100.189: port 80 assumed",
                                   "virtual_server 198.51.100.189 80 {"}) {
            CAPTURE(needle);
            CHECK(k.find(needle) != std::string::npos);
        }
        // Not ready: weight 0, not removal (IPVS would drop the established connections).
        std::size_t inhibits = 0;
        for (auto at = k.find("inhibit_on_failure"); at != std::string::npos; at = k.find("inhibit_on_failure", at + 1)) ++inhibits;
        CHECK(inhibits == 2);  // every real_server
        // HAProxy: nothing shuts the established sessions down on a failed check.
        const std::string h = renderDirectorConfig(cfg, DirectorFormat::Haproxy, *directorTarget(cfg, ""));
        CHECK(h.find("shutdown-sessions here") != std::string::npos);  // the comment that says so
        CHECK(h.find("on-marked-down") == h.find("on-marked-down shutdown-sessions here"));
    }

    TEST_CASE("a range: a virtual server for each address of it a service names, none guessed") {
        Config cfg = parseConfig(R"({"vips": [{"prefix": "198.18.0.0/24"}, {"prefix": "198.18.1.0/24"}], "api": {"listen": "198.51.100.60:9100"},
                                     "services": [{"vip": "198.18.0.10", "port": 80}, {"vip": "198.18.0.11", "port": 443}]})", "f");
        const std::string k = renderDirectorConfig(cfg, DirectorFormat::Keepalived, *directorTarget(cfg, ""));
        for (const char* needle : {"virtual_server 198.18.0.10 80 {", "path /ready/198.18.0.10", "virtual_server 198.18.0.11 443 {",
                                   "# range 198.18.1.0/24: no virtual server; name each address the director balances in \"services\""}) {
            CAPTURE(needle);
            CHECK(k.find(needle) != std::string::npos);
        }
        CHECK(k.find("virtual_server 198.18.0.0 ") == std::string::npos);
        CHECK(k.find("virtual_server 198.18.1.0 ") == std::string::npos);
        const std::string h = renderDirectorConfig(cfg, DirectorFormat::Haproxy, *directorTarget(cfg, ""));
        CHECK(h.find("option httpchk GET /ready/198.18.0.11") != std::string::npos);
        CHECK(h.find("# range 198.18.1.0/24") != std::string::npos);
    }

    TEST_CASE("keepalived: IPv4 and IPv6 VIPs, each forwarded to the real server's address of its family") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188", "2001:db8::188"], "api": {"listen": "198.51.100.60:9100"}})", "f");
        const std::string k = renderDirectorConfig(cfg, DirectorFormat::Keepalived, *directorTarget(cfg, "", {"2001:db8::60"}));
        const auto v6 = k.find("virtual_server 2001:db8::188 80 {");
        REQUIRE(v6 != std::string::npos);
        CHECK(k.find("real_server 2001:db8::60 80 {", v6) != std::string::npos);
        CHECK(k.find("connect_ip 198.51.100.60", v6) != std::string::npos);  // the check polls the agent where it listens
        CHECK(k.find("real_server 198.51.100.60 80 {") < v6);
    }

    TEST_CASE("haproxy: httpchk on the agent's port, agent-check when configured") {
        Config cfg = parseConfig(R"({"vips": ["2001:db8::188"], "api": {"listen": "[2001:db8::60]:9100", "agent_check_port": 9101}})", "f");
        const std::string h = renderDirectorConfig(cfg, DirectorFormat::Haproxy, *directorTarget(cfg, ""));
        CHECK(h.find("backend lvs_2001_db8__188_80\n") != std::string::npos);
        CHECK(h.find("option httpchk GET /ready/2001:db8::188") != std::string::npos);
        CHECK(h.find("server rs_2001_db8__60 [2001:db8::60]:80 check addr 2001:db8::60 port 9100") != std::string::npos);
        CHECK(h.find("agent-check agent-addr 2001:db8::60 agent-port 9101 agent-send \"2001:db8::188\\n\" agent-inter 2s") != std::string::npos);
    }

    TEST_CASE("tunnel: lb_kind TUN (IPIP by default, GUE with its port), ranges stay DR, the directors named") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188", {"prefix": "198.18.0.0/24"}], "api": {"listen": "203.0.113.11:9100"},
                                     "services": [{"vip": "198.18.0.10", "port": 443}],
                                     "tunnel": {"interfaces": ["eth0"], "encap": ["ipip", "gue"], "gue_port": 6080,
                                                "directors": ["198.51.100.50"]}})", "f");
        const auto ipip = directorMethod(cfg, "", "", DirectorFormat::Keepalived);
        REQUIRE(ipip);
        CHECK(*ipip == DirectorMethod::TunIpip);
        std::string k = renderDirectorConfig(cfg, DirectorFormat::Keepalived, *directorTarget(cfg, "", {}, DirectorFormat::Keepalived, *ipip));
        const auto vip = k.find("virtual_server 198.51.100.188 80 {");
        const auto range = k.find("virtual_server 198.18.0.10 443 {");
        REQUIRE(vip != std::string::npos);
        REQUIRE(range != std::string::npos);
        CHECK(k.find("    lb_kind TUN\n", vip) < range);
        CHECK(k.find("    lb_kind DR\n", range) != std::string::npos);  // a range's address is not decapsulated
        CHECK(k.find("real_server 203.0.113.11 80 {", vip) < range);
        CHECK(k.find("# Forwarding: a tunnel, IPIP. This server decapsulates only what comes from\n# one of tunnel.directors (198.51.100.50)") != std::string::npos);
        CHECK(k.find("# The addresses of ranges are not decapsulated: their virtual servers are DR.") != std::string::npos);

        const auto gue = directorMethod(cfg, "tun", "gue", DirectorFormat::Keepalived);
        REQUIRE(gue);
        k = renderDirectorConfig(cfg, DirectorFormat::Keepalived, *directorTarget(cfg, "", {}, DirectorFormat::Keepalived, *gue));
        CHECK(k.find("    lb_kind TUN type gue port 6080\n") != std::string::npos);
        CHECK(k.find("GUE to UDP port 6080") != std::string::npos);
        // DR asked for: DR everywhere, no tunnel note.
        const auto dr = directorMethod(cfg, "dr", "", DirectorFormat::Keepalived);
        REQUIRE(dr);
        k = renderDirectorConfig(cfg, DirectorFormat::Keepalived, *directorTarget(cfg, "", {}, DirectorFormat::Keepalived, *dr));
        CHECK(k.find("lb_kind TUN") == std::string::npos);
        CHECK(k.find("# Forwarding: direct routing (DR)") != std::string::npos);
        // Only GUE accepted: GUE by default.
        Config g = parseConfig(R"({"vips": ["198.51.100.188"], "tunnel": {"interfaces": ["eth0"], "encap": ["gue"], "gue_port": 6080,
                                   "directors": ["198.51.100.50"]}})", "f");
        CHECK(directorMethod(g, "", "", DirectorFormat::Ipvsadm).value() == DirectorMethod::TunGue);
        CHECK(directorMethod(cfg, "", "", DirectorFormat::Ipvsadm).value() == DirectorMethod::TunIpip);
    }

    TEST_CASE("--method and --encap: bad values and combinations are refused with what is wrong") {
        Config plain = parseConfig(R"({"vips": ["198.51.100.188"]})", "f");
        Config ipipOnly = parseConfig(R"({"vips": ["198.51.100.188"], "tunnel": {"interfaces": ["eth0"], "directors": ["198.51.100.50"]}})", "f");
        CHECK(directorMethod(plain, "", "", DirectorFormat::Keepalived).value() == DirectorMethod::Dr);
        CHECK(directorMethod(plain, "tun", "", DirectorFormat::Keepalived).error() ==
              "--method tun: the configuration has no \"tunnel\", so this real server decapsulates nothing");
        CHECK(directorMethod(plain, "", "gue", DirectorFormat::Keepalived).error() == "--encap gue is for --method tun (a \"tunnel\" configuration)");
        CHECK(directorMethod(ipipOnly, "nat", "", DirectorFormat::Keepalived).error() == "--method nat: dr or tun");
        CHECK(directorMethod(ipipOnly, "", "gre", DirectorFormat::Keepalived).error() == "--encap gre: ipip or gue");
        CHECK(directorMethod(ipipOnly, "", "gue", DirectorFormat::Keepalived).error() == "--encap gue: tunnel.encap does not accept gue on this real server");
        CHECK(directorMethod(ipipOnly, "dr", "ipip", DirectorFormat::Keepalived).error() == "--encap ipip is for --method tun (a \"tunnel\" configuration)");
        CHECK(directorMethod(ipipOnly, "tun", "", DirectorFormat::Haproxy).error().rfind("--method is for keepalived and ipvsadm", 0) == 0);
        CHECK(directorMethod(ipipOnly, "", "", DirectorFormat::Haproxy).value() == DirectorMethod::Dr);
    }

    TEST_CASE("ipvsadm: -A per virtual service, -a with -g, -i or GUE, IPv6 bracketed, the check named") {
        Config cfg = parseConfig(R"({"vips": ["198.51.100.188", "2001:db8::188"], "api": {"listen": "203.0.113.11:9100"},
                                     "tunnel": {"interfaces": ["eth0"], "encap": ["gue"], "gue_port": 6080,
                                                "directors": ["198.51.100.50", "2001:db8::50"]}})", "f");
        // Both families: the real server's IPv6 address is needed, as for keepalived.
        CHECK(directorTarget(cfg, "", {}, DirectorFormat::Ipvsadm).error().find("give --rip IPV6-RIP") != std::string::npos);
        const auto m = directorMethod(cfg, "", "", DirectorFormat::Ipvsadm);
        REQUIRE(m);
        const std::string i = renderDirectorConfig(cfg, DirectorFormat::Ipvsadm, *directorTarget(cfg, "", {"2001:db8::11"}, DirectorFormat::Ipvsadm, *m));
        for (const char* needle : {"ipvsadm -A -t 198.51.100.188:80 -s wlc\n",
                                   "ipvsadm -a -t 198.51.100.188:80 -r 203.0.113.11:80 -i --tun-type gue --tun-port 6080 -w 100\n",
                                   "ipvsadm -A -t [2001:db8::188]:80 -s wlc\n",
                                   "ipvsadm -a -t [2001:db8::188]:80 -r [2001:db8::11]:80 -i --tun-type gue --tun-port 6080 -w 100\n",
                                   "while http://203.0.113.11:9100/ready/<vip> does not answer 200, set this\n"
                                   "# server's weight to 0 (ipvsadm -e ... -w 0), never delete it (-d)"}) {
            CAPTURE(needle);
            CHECK(i.find(needle) != std::string::npos);
        }
        Config dr = parseConfig(R"({"vips": ["198.51.100.188"], "api": {"listen": "198.51.100.60:9100"}})", "f");
        const std::string d = renderDirectorConfig(dr, DirectorFormat::Ipvsadm, *directorTarget(dr, "", {}, DirectorFormat::Ipvsadm));
        CHECK(d.find("ipvsadm -a -t 198.51.100.188:80 -r 198.51.100.60:80 -g -w 100\n") != std::string::npos);
    }
}
