// "nat": the VS/NAT real server's settings (see NatConfig), validated as strictly as the
// rest: every problem named, nothing taken from a section with one.
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "agent/base/text_file.h"
#include "agent/config/config.h"
#include "agent/config/config_parse.h"

namespace agent {

using json = nlohmann::json;

std::string NatPort::name() const { return std::string(ipProto == 17 ? "udp/" : "tcp/") + std::to_string(port); }

namespace config_parse {
namespace {

constexpr const char* kExample = R"({"director": "198.51.100.50", "vips": ["198.51.100.188"], "ports": [80]})";

std::vector<netcfg::IpAddress> parseDirectors(const json& n, Problems& problems) {
    std::vector<netcfg::IpAddress> out;
    if (!n.contains("director")) {
        problems.add("nat.director", "missing: the director's address on this server's network (its DIP; in a VRRP pair the floating one), e.g. \"198.51.100.50\"");
        return out;
    }
    const json& d = n["director"];
    std::vector<std::pair<std::string, const json*>> items;
    if (d.is_string()) {
        items.emplace_back("nat.director", &d);
    } else if (d.is_array() && !d.empty() && d.size() <= 2) {
        for (std::size_t i = 0; i < d.size(); ++i) items.emplace_back("nat.director[" + std::to_string(i) + "]", &d[i]);
    } else {
        problems.add("nat.director", "must be an address, or a list of one IPv4 and one IPv6 address");
        return out;
    }
    for (const auto& [where, v] : items) {
        if (!v->is_string()) {
            problems.add(where, "must be an address string");
            continue;
        }
        netcfg::IpAddress ip;
        if (auto p = directorProblem(v->get<std::string>(), ip)) {
            problems.add(where, *p);
            continue;
        }
        bool twice = false;
        for (const auto& o : out) twice = twice || o.family == ip.family;
        if (twice)
            problems.add(where, ip.str() + ": a second " + (ip.isV4() ? "IPv4" : "IPv6") + " director (one per family: the replies have one way back)");
        else
            out.push_back(ip);
    }
    return out;
}

}  // namespace

std::optional<NatPort> parsePort(const json& v, const std::string& where, Problems& problems) {
    auto number = [&](const json& x, const std::string& field) -> int {
        if (!isWholeNumber(x)) {
            problems.add(field, notWholeNumber(x, "a port, 1-65535"));
            return 0;
        }
        if (wholeNumber(x) < 1 || wholeNumber(x) > 65535) {
            problems.add(field, x.dump() + " is not a port (1-65535)");
            return 0;
        }
        return static_cast<int>(wholeNumber(x));
    };
    NatPort p;
    if (v.is_number()) {
        p.port = number(v, where);
    } else if (v.is_string()) {
        const std::string t = v.get<std::string>();
        const auto slash = t.find('/');
        const std::string proto = slash == std::string::npos ? "" : t.substr(0, slash);
        const std::string digits = slash == std::string::npos ? t : t.substr(slash + 1);
        if (proto != "tcp" && proto != "udp") {
            problems.add(where, quoteInput(t) + " is not a port: a number (TCP), \"tcp/N\" or \"udp/N\"");
            return std::nullopt;
        }
        p.ipProto = proto == "udp" ? 17 : 6;
        if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
            std::stoi(digits) < 1 || std::stoi(digits) > 65535) {
            problems.add(where, quoteInput(t) + ": the port must be 1-65535");
            return std::nullopt;
        }
        p.port = std::stoi(digits);
    } else if (v.is_object()) {
        rejectUnknownKeys(v, where, {"port", "virtual_port", "protocol"}, problems);
        if (!v.contains("port")) {
            problems.add(where + ".port", "missing: the port this server's service answers on, e.g. 8080");
            return std::nullopt;
        }
        p.port = number(v["port"], where + ".port");
        if (v.contains("virtual_port")) p.virtualPort = number(v["virtual_port"], where + ".virtual_port");
        if (v.contains("protocol")) {
            const json& pr = v["protocol"];
            if (pr == "tcp") p.ipProto = 6;
            else if (pr == "udp") p.ipProto = 17;
            else problems.add(where + ".protocol", pr.dump() + " is not \"tcp\" or \"udp\"");
        }
    } else {
        problems.add(where, R"(must be a port: 80, "udp/53", or {"port": 8080, "virtual_port": 80})");
        return std::nullopt;
    }
    if (p.port == 0) return std::nullopt;
    if (p.virtualPort == 0) p.virtualPort = p.port;
    return p;
}

void parseNat(const json& n, Problems& problems, Config& cfg) {
    if (!n.is_object()) {
        problems.add("nat", std::string("must be an object such as ") + kExample);
        return;
    }
    const std::size_t before = problems.lines().size();
    rejectUnknownKeys(n, "nat", {"director", "vips", "ports", "table", "priority"}, problems);
    NatConfig out;
    out.directors = parseDirectors(n, problems);

    if (!n.contains("vips")) {
        problems.add("nat.vips", "missing: the director's virtual addresses these ports are published on, e.g. [\"198.51.100.188\"]");
    } else if (!n["vips"].is_array() || n["vips"].empty()) {
        problems.add("nat.vips", "must be a non-empty list of addresses (the director's VIPs; never bound here)");
    } else {
        for (std::size_t i = 0; i < n["vips"].size(); ++i) {
            const json& v = n["vips"][i];
            const std::string where = "nat.vips[" + std::to_string(i) + "]";
            if (!v.is_string()) {
                problems.add(where, "must be an address string");
                continue;
            }
            auto ip = parseVip(v.get<std::string>());
            if (!ip) {
                problems.add(where, ip.error());
            } else if (out.isVip(*ip)) {
                problems.add(where, ip->str() + " is listed twice");
            } else if (cfg.find(*ip)) {
                problems.add(where, ip->str() + " is also a DR VIP (\"vips\": bound on lo here); a NAT VIP lives on the director only");
            } else if (!out.directors.empty() && !out.director(ip->family)) {
                problems.add(where, ip->str() + " is " + (ip->isV4() ? "IPv4" : "IPv6") + " but nat.director has no " +
                                        (ip->isV4() ? "IPv4" : "IPv6") + " address: its replies would have no way back");
            } else {
                out.vips.push_back(*ip);
            }
        }
    }

    if (!n.contains("ports")) {
        problems.add("nat.ports", "missing: the ports this server's services answer on, e.g. [80, \"udp/53\", {\"port\": 8080, \"virtual_port\": 80}]");
    } else if (!n["ports"].is_array() || n["ports"].empty()) {
        problems.add("nat.ports", "must be a non-empty list of ports");
    } else {
        std::map<std::pair<int, int>, std::size_t> seen, seenVirtual;
        for (std::size_t i = 0; i < n["ports"].size(); ++i) {
            const std::string where = "nat.ports[" + std::to_string(i) + "]";
            auto p = parsePort(n["ports"][i], where, problems);
            if (!p) continue;
            if (auto [it, fresh] = seen.emplace(std::pair{p->ipProto, p->port}, i); !fresh) {
                problems.add(where, p->name() + " duplicates nat.ports[" + std::to_string(it->second) + "]");
                continue;
            }
            if (auto [it, fresh] = seenVirtual.emplace(std::pair{p->ipProto, p->virtualPort}, i); !fresh) {
                problems.add(where, "virtual port " + std::to_string(p->virtualPort) + " is also nat.ports[" + std::to_string(it->second) +
                                        "]'s: one virtual service, one port here");
                continue;
            }
            out.ports.push_back(*p);
        }
    }

    if (n.contains("table")) {
        const json& t = n["table"];
        if (!isWholeNumber(t) || wholeNumber(t) < 1 || wholeNumber(t) > 252)
            problems.add("nat.table", t.dump() + " is not a table for the agent: 1-252 (253-255 are the kernel's default, main and local)");
        else
            out.table = static_cast<std::uint32_t>(wholeNumber(t));
    }
    if (cfg.announce.table != 0 && out.table == cfg.announce.table)
        problems.add("nat.table", std::to_string(out.table) + " is also announce.table: each needs a table of its own");
    if (n.contains("priority")) {
        const json& p = n["priority"];
        if (!isWholeNumber(p) || wholeNumber(p) < 1 || wholeNumber(p) > 32765)
            problems.add("nat.priority", p.dump() + " is not a rule priority before table main's (1-32765; 0 is the local table's rule)");
        else
            out.priority = static_cast<std::uint32_t>(wholeNumber(p));
    }
    if (problems.lines().size() == before) cfg.nat = std::move(out);
}

}  // namespace config_parse
}  // namespace agent
