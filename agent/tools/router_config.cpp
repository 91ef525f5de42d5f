#include "agent/tools/router_config.h"

#include <algorithm>

#include <charconv>
#include <sstream>

#include "netcfg/ip_address.h"

namespace agent {
namespace {

std::expected<long long, std::string> asNumber(const std::string& text, const char* flag, long long fallback) {
    if (text.empty()) return fallback;
    long long v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < 1 || v > 4294967295LL)
        return std::unexpected(std::string(flag) + " \"" + text + "\": an AS number is a whole number 1-4294967295");
    return v;
}

bool anyFamily(const Config& cfg, bool v4) {
    for (const auto& v : cfg.vips)
        if (v.address.isV4() == v4 && v.announce) return true;
    return false;
}

// The prefix lengths the announce table holds for a family: the host length, and with
// ranges anything down to the widest range accepted. BIRD's and FRR's forms of it.
bool anyRange(const Config& cfg, bool v4) {
    for (const auto& v : cfg.vips)
        if (v.isRange() && v.address.isV4() == v4 && v.prefixLen < v.address.hostPrefix()) return true;
    return false;
}
std::string birdLength(const Config& cfg, bool v4) {
    if (!anyRange(cfg, v4)) return std::string("net.len = ") + (v4 ? "32" : "128");
    return std::string("net.len >= ") + std::to_string(v4 ? kWidestRange4 : kWidestRange6);
}


std::string bird(const Config& cfg, const RouterTarget& t) {
    const auto table = std::to_string(cfg.announce.table);
    std::ostringstream o;
    o << "# lvs-rs-agent: BGP announcements of the VIPs this agent keeps in kernel table " << table << "\n"
      << "# (ready, not drained; withdrawn the moment they are not). BIRD 2: paste into bird.conf.\n"
      << "# Only routes of protocol 177 (the agent's) and host length are learned and exported.\n"
      << "# Timers: a withdrawal is sent as soon as the kernel tells BIRD (netlink, no scan wait);\n"
      << "# hold time 3 bounds how long the routers keep this server's paths if the host dies.\n"
      << "router id " << t.routerId << ";\n"
      << "ipv4 table lvs_rs_agent4;\n"
      << "ipv6 table lvs_rs_agent6;\n"
      << "protocol device lvs_rs_agent_device { scan time 10; }\n";
    for (const bool v4 : {true, false}) {
        const char* fam = v4 ? "ipv4" : "ipv6";
        const char* tab = v4 ? "lvs_rs_agent4" : "lvs_rs_agent6";
        o << "protocol kernel lvs_rs_agent_kernel" << (v4 ? "4" : "6") << " {\n"
          << "  kernel table " << table << ";\n"
          << "  learn;            # routes other programs (the agent) put there\n"
          << "  scan time 10;     # a safety net: changes arrive at once by netlink\n"
          << "  " << fam << " { table " << tab << "; import where krt_source = 177 && " << birdLength(cfg, v4)
          << "; export none; };\n"
          << "}\n";
    }
    int n = 0;
    for (const auto& nb : t.neighbors) {
        const bool v4 = nb.find(':') == std::string::npos;
        if (!anyFamily(cfg, v4)) continue;  // sessions of a family carry that family's VIPs
        o << "protocol bgp lvs_rs_agent_peer" << ++n << " {\n"
          << "  local as " << t.localAs << ";\n"
          << "  neighbor " << nb << " as " << t.peerAs << ";\n"
          << "  hold time 3;\n"
          << "  keepalive time 1;\n"
          << "  " << (v4 ? "ipv4" : "ipv6") << " { table " << (v4 ? "lvs_rs_agent4" : "lvs_rs_agent6")
          << "; import none; export where krt_source = 177; next hop self; };\n"
          << "}\n";
    }
    return o.str();
}

std::string frr(const Config& cfg, const RouterTarget& t) {
    const auto table = std::to_string(cfg.announce.table);
    std::ostringstream o;
    o << "! lvs-rs-agent: BGP announcements of the VIPs this agent keeps in kernel table " << table << "\n"
      << "! (ready, not drained; withdrawn the moment they are not). FRR: paste into frr.conf.\n"
      << "! zebra imports the table; bgpd redistributes it, and exports only the agent's prefixes\n"
      << "! (the agent keeps no other program's routes in that table: it refuses to start).\n"
      << "! FRR announces a VIP given as a range: {\"prefix\": \"198.51.100.188/32\"} in \"vips\" (a local\n"
      << "! route, which zebra does not read). A VIP bound as an address on lo is a connected route\n"
      << "! in zebra, which wins over the imported table route: FRR 8 never announces it.\n";
    if (const auto plain = connectedInFrr(cfg); !plain.empty()) {
        o << "! NOT announced by FRR 8 (addresses on lo): ";
        for (std::size_t i = 0; i < plain.size(); ++i) o << (i ? ", " : "") << plain[i];
        o << "\n! write each as {\"prefix\": \"ADDRESS/32\"} in \"vips\", or use router-config --format bird.\n";
    }
    if (anyFamily(cfg, false)) o << "! FRR 8 imports IPv4 tables only: announce this server's IPv6 VIPs with BIRD.\n";
    o << "frr defaults datacenter\n"
      << "ip import-table " << table << "\n"
      << "ip prefix-list LVS_RS_AGENT_VIPS seq 10 permit 0.0.0.0/0 ge " << (anyRange(cfg, true) ? kWidestRange4 : 32) << "\n"
      << "route-map LVS_RS_AGENT permit 10\n"
      << " match ip address prefix-list LVS_RS_AGENT_VIPS\n"
      << " ! origin IGP, as BIRD sends it: a router merges equal paths (ECMP) only when they are\n"
      << " ! equally good, and a redistributed route is 'incomplete' otherwise\n"
      << " set origin igp\n"
      << "exit\n"
      << "!\n"
      << "router bgp " << t.localAs << "\n"
      << " bgp router-id " << t.routerId << "\n";
    for (const auto& nb : t.neighbors)
        if (nb.find(':') == std::string::npos)
            o << " neighbor " << nb << " remote-as " << t.peerAs << "\n"
              << " neighbor " << nb << " timers 1 3\n";
    o << " address-family ipv4 unicast\n"
      << "  redistribute table " << table << " route-map LVS_RS_AGENT\n";
    for (const auto& nb : t.neighbors)
        if (nb.find(':') == std::string::npos) o << "  neighbor " << nb << " route-map LVS_RS_AGENT out\n";
    o << " exit-address-family\n"
      << "exit\n";
    return o.str();
}

}  // namespace

std::expected<RouterTarget, std::string> routerTarget(const Config& cfg, const std::vector<std::string>& neighbors,
                                                      const std::string& localAs, const std::string& peerAs,
                                                      const std::string& routerId) {
    if (!cfg.announce.enabled())
        return std::unexpected(cfg.source + ": no \"announce\": add e.g. \"announce\": {\"table\": 200} so the agent keeps the ready VIPs in a table a routing daemon reads");
    RouterTarget t;
    for (const auto& n : neighbors) {
        const auto ip = netcfg::IpAddress::parse(n);
        if (!ip) return std::unexpected("--neighbor \"" + n + "\": not an IPv4 or IPv6 address");
        t.neighbors.push_back(ip->str());
    }
    auto l = asNumber(localAs, "--local-as", t.localAs);
    if (!l) return std::unexpected(l.error());
    auto p = asNumber(peerAs, "--peer-as", t.peerAs);
    if (!p) return std::unexpected(p.error());
    t.localAs = *l;
    t.peerAs = *p;
    t.routerId = "192.0.2.10";
    if (!routerId.empty()) {
        const auto id = netcfg::IpAddress::parse(routerId);
        if (!id || !id->isV4()) return std::unexpected("--router-id \"" + routerId + "\": a router id is an IPv4 address");
        t.routerId = id->str();
    }
    if (t.neighbors.empty())
        return std::unexpected("router-config needs --neighbor ROUTER: each BGP peer's address (repeat it per router; "
                               "an IPv6 neighbor carries the IPv6 VIPs)");
    if (localAs.empty() || peerAs.empty())
        t.warnings.push_back("AS numbers not given: the output uses local AS " + std::to_string(t.localAs) + " and peer AS " +
                             std::to_string(t.peerAs) + " (documentation numbers); give --local-as and --peer-as");
    if (routerId.empty())
        t.warnings.push_back("no --router-id: the output uses " + t.routerId + " (a documentation address); give this server's own");
    for (const bool v4 : {true, false}) {
        if (!anyFamily(cfg, v4)) continue;
        const bool carried = std::any_of(t.neighbors.begin(), t.neighbors.end(),
                                         [&](const std::string& n) { return (n.find(':') == std::string::npos) == v4; });
        if (!carried)
            t.warnings.push_back(std::string("the ") + (v4 ? "IPv4" : "IPv6") + " VIPs get no BGP session: no " + (v4 ? "IPv4" : "IPv6") +
                                 " --neighbor was given");
    }
    return t;
}

// A range, even a /32, is a local route in table local, which zebra does not read.
std::vector<std::string> connectedInFrr(const Config& cfg) {
    std::vector<std::string> out;
    for (const auto& v : cfg.vips)
        if (v.address.isV4() && !v.isRange() && v.announce) out.push_back(v.address.str());
    return out;
}

std::string renderRouterConfig(const Config& cfg, RouterFormat format, const RouterTarget& target) {
    return format == RouterFormat::Bird ? bird(cfg, target) : frr(cfg, target);
}

}  // namespace agent
