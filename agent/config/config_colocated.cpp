// "colocated": the two-box cluster's settings (see ColocatedConfig), validated as strictly
// as the rest: every problem named, nothing taken from a section with one.
#include <nlohmann/json.hpp>

#include <map>

#include "agent/base/text_file.h"
#include "agent/config/config.h"
#include "agent/config/config_parse.h"

namespace agent {
namespace config_parse {

using json = nlohmann::json;

namespace {
constexpr const char* kExample = R"({"peer_directors": ["198.51.100.52"], "fwmark": 3, "ports": [80, "udp/53"]})";
}  // namespace

void parseColocated(const json& c, Problems& problems, Config& cfg) {
    if (!c.is_object()) {
        problems.add("colocated", std::string("must be an object such as ") + kExample);
        return;
    }
    const std::size_t before = problems.lines().size();
    rejectUnknownKeys(c, "colocated", {"peer_directors", "fwmark", "ports"}, problems);
    ColocatedConfig out;
    if (!c.contains("peer_directors")) {
        problems.add("colocated.peer_directors",
                     "missing: the other directors' addresses on the shared segment (each also a real server), e.g. [\"198.51.100.52\"]");
    } else if (!c["peer_directors"].is_array() || c["peer_directors"].empty()) {
        problems.add("colocated.peer_directors", "must be a non-empty list of addresses (the other directors)");
    } else {
        for (std::size_t i = 0; i < c["peer_directors"].size(); ++i) {
            const json& v = c["peer_directors"][i];
            const std::string where = "colocated.peer_directors[" + std::to_string(i) + "]";
            netcfg::IpAddress ip;
            if (!v.is_string()) {
                problems.add(where, "must be an address string");
            } else if (auto p = directorProblem(v.get<std::string>(), ip)) {
                problems.add(where, *p);
            } else if (std::find(out.peers.begin(), out.peers.end(), ip) != out.peers.end()) {
                problems.add(where, ip.str() + " is listed twice");
            } else if (cfg.vipHolding(ip)) {
                problems.add(where, ip.str() + " is one of the VIPs: a peer director is named by its own address on the segment");
            } else {
                out.peers.push_back(ip);
            }
        }
    }
    if (!c.contains("fwmark")) {
        problems.add("colocated.fwmark", "missing: the firewall mark of this node's fwmark virtual service, e.g. 3");
    } else if (const json& m = c["fwmark"]; !isWholeNumber(m)) {
        problems.add("colocated.fwmark", notWholeNumber(m, "1-4294967295"));
    } else if (wholeNumber(m) < 1 || wholeNumber(m) > 0xFFFFFFFFLL) {
        problems.add("colocated.fwmark", m.dump() + " is not a firewall mark: 1-4294967295 (0 means no mark)");
    } else {
        out.fwmark = static_cast<std::uint32_t>(wholeNumber(m));
    }
    if (!c.contains("ports")) {
        problems.add("colocated.ports", "missing: the VIPs' ports the fwmark service balances, e.g. [80, \"udp/53\"]");
    } else if (!c["ports"].is_array() || c["ports"].empty()) {
        problems.add("colocated.ports", "must be a non-empty list of ports");
    } else {
        std::map<std::pair<int, int>, std::size_t> seen;
        for (std::size_t i = 0; i < c["ports"].size(); ++i) {
            const std::string where = "colocated.ports[" + std::to_string(i) + "]";
            auto p = parsePort(c["ports"][i], where, problems);
            if (!p) continue;
            if (p->virtualPort != p->port) {
                problems.add(where, "a virtual_port is for NAT: in DR the director forwards to the same port");
            } else if (auto [it, fresh] = seen.emplace(std::pair{p->ipProto, p->port}, i); !fresh) {
                problems.add(where, p->name() + " duplicates colocated.ports[" + std::to_string(it->second) + "]");
            } else {
                out.ports.push_back(*p);
            }
        }
    }
    if (cfg.vips.empty())
        problems.add("colocated", "needs \"vips\": the marks are for the VIPs this node serves as a director and a real server");
    if (problems.lines().size() == before) cfg.colocated = std::move(out);
}

}  // namespace config_parse
}  // namespace agent
