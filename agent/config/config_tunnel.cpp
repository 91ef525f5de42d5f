// "tunnel": the tunnel-mode real server's settings (see TunnelConfig), validated as
// strictly as the rest: every problem named, nothing taken from a section with one.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "agent/base/text_file.h"
#include "agent/config/config.h"
#include "agent/config/config_parse.h"
#include "sysctl/sysctl.h"

namespace agent {

using json = nlohmann::json;

int tunnelMss(const TunnelConfig& t, unsigned mtu) {
    if (mtu == 0) mtu = 1500;
    bool v6 = false;
    for (const auto& d : t.directors) v6 = v6 || !d.isV4();
    // Outer and inner families match (IPIP, and GUE as directors send it): IPv4 20 + 20,
    // IPv6 40 + 40; GUE adds the UDP header and, as IPVS sends it, a 4-byte GUE header;
    // TCP's own 20 bytes.
    const int ip = v6 ? 40 : 20;
    const int overhead = ip + (t.gue ? 8 + 4 : 0) + ip + 20;
    return std::max(536, static_cast<int>(mtu) - overhead);
}

namespace config_parse {
namespace {

// The strings of a list field; problems for anything else. nullopt: not a usable list.
std::optional<std::vector<std::string>> stringList(const json& t, const std::string& key, const std::string& example,
                                                   Problems& problems) {
    const std::string field = "tunnel." + key;
    if (!t.contains(key)) {
        problems.add(field, "missing: " + example);
        return std::nullopt;
    }
    const json& v = t[key];
    if (!v.is_array() || v.empty()) {
        problems.add(field, "must be a non-empty list, e.g. " + example);
        return std::nullopt;
    }
    std::vector<std::string> out;
    std::set<std::string> seen;
    bool ok = true;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string where = field + "[" + std::to_string(i) + "]";
        if (!v[i].is_string()) {
            problems.add(where, "must be a string");
            ok = false;
        } else if (!seen.insert(v[i].get<std::string>()).second) {
            problems.add(where, quoteInput(v[i].get<std::string>()) + " is listed twice");
            ok = false;
        } else {
            out.push_back(v[i].get<std::string>());
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

}  // namespace

std::optional<std::string> directorProblem(const std::string& text, netcfg::IpAddress& out) {
    auto ip = netcfg::IpAddress::parse(text);
    if (!ip) return quoteInput(text) + " is not an IPv4 or IPv6 address (the director's source address, no prefix)";
    const auto& b = ip->bytes;
    if (ip->isV4()) {
        if (b[0] == 0) return ip->str() + " is in 0.0.0.0/8, not a director's address";
        if (b[0] == 127) return ip->str() + " is a loopback address, not a director's";
        if (b[0] >= 224) return ip->str() + " is a multicast, reserved or broadcast address, not a director's";
    } else {
        const bool zeroHead = std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; });
        if (zeroHead) return ip->str() + " is the unspecified or loopback address, not a director's";
        if (b[0] == 0xff) return ip->str() + " is a multicast address, not a director's";
    }
    out = *ip;
    return std::nullopt;
}

void parseTunnel(const json& t, Problems& problems, Config& cfg) {
    if (!t.is_object()) {
        problems.add("tunnel", R"(must be an object such as {"interfaces": ["eth0"], "encap": ["ipip"], "directors": ["198.51.100.50"]})");
        return;
    }
    const std::size_t before = problems.lines().size();
    rejectUnknownKeys(t, "tunnel", {"interfaces", "encap", "directors", "gue_port", "mss"}, problems);
    TunnelConfig out;
    if (auto names = stringList(t, "interfaces", R"(["eth0"]: where the directors' tunnel packets arrive)", problems)) {
        for (std::size_t i = 0; i < names->size(); ++i) {
            const std::string& n = (*names)[i];
            const std::string where = "tunnel.interfaces[" + std::to_string(i) + "]";
            if (!sysctl::isValidInterfaceName(n) || n == "all" || n == "default")
                problems.add(where, quoteInput(n) + " is not an interface name");
            else if (n == "lo")
                problems.add(where, "\"lo\": tunnel packets arrive on the interface facing the directors, not on lo");
        }
        out.interfaces = *names;
    }
    out.ipip = false;
    if (!t.contains("encap")) {
        out.ipip = true;  // the default: IPIP, what IPVS TUN, Katran and Cilium send
    } else if (auto kinds = stringList(t, "encap", R"(["ipip"], ["gue"] or ["ipip", "gue"])", problems)) {
        for (std::size_t i = 0; i < kinds->size(); ++i) {
            if ((*kinds)[i] == "ipip") out.ipip = true;
            else if ((*kinds)[i] == "gue") out.gue = true;
            else problems.add("tunnel.encap[" + std::to_string(i) + "]", quoteInput((*kinds)[i]) + " is not an encapsulation: \"ipip\" or \"gue\"");
        }
    }
    if (t.contains("gue_port")) {
        out.guePort = boundedInt(t, "gue_port", "tunnel.gue_port", 1, 65535, 0, problems);
        if (!out.gue && out.guePort != 0)
            problems.add("tunnel.gue_port", "is set but \"gue\" is not in tunnel.encap");
    } else if (out.gue) {
        problems.add("tunnel.gue_port", "missing: the UDP port the directors send GUE to (IPVS tun_port, Katran's GUE port), e.g. 6080");
    }
    if (t.contains("mss")) out.mss = boundedInt(t, "mss", "tunnel.mss", 536, 65495, 0, problems);
    if (auto list = stringList(t, "directors", R"(["198.51.100.50"]: the outer source addresses accepted)", problems)) {
        std::set<netcfg::IpAddress> seen;
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string where = "tunnel.directors[" + std::to_string(i) + "]";
            netcfg::IpAddress ip;
            if (auto p = directorProblem((*list)[i], ip)) problems.add(where, *p);
            else if (cfg.vipHolding(ip)) problems.add(where, ip.str() + " is a VIP of this server, not a director");
            else if (!seen.insert(ip).second) problems.add(where, ip.str() + " is listed twice");
            else out.directors.push_back(ip);
        }
    }
    if (problems.lines().size() == before) cfg.tunnel = std::move(out);
}

}  // namespace config_parse
}  // namespace agent
