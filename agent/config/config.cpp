#include "agent/config/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "agent/config/config_parse.h"
#include "agent/base/text_file.h"
#include "netcfg/address_class.h"
#include "sysctl/sysctl.h"

namespace agent {
namespace {

using nlohmann::json;
using namespace config_parse;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

void parseArp(const json& arp, Problems& problems, ArpSettings& out) {
    if (!arp.is_object()) {
        problems.add("arp", "must be an object such as {\"ignore\": 1, \"announce\": 2, \"interfaces\": [\"lo\", \"all\"]}");
        return;
    }
    rejectUnknownKeys(arp, "arp", {"ignore", "announce", "interfaces"}, problems);
    if (arp.contains("ignore")) {
        const json& v = arp["ignore"];
        if (!isWholeNumber(v)) {
            problems.add("arp.ignore", notWholeNumber(v, "1, 2, 3 or 8"));
        } else if (const auto n = wholeNumber(v); n < 0 || n > 8) {
            problems.add("arp.ignore", v.dump() + " is out of the kernel's range 0-8");
        } else if (n == 0) {
            problems.add("arp.ignore", "0 lets this host answer ARP for the VIP and steal it from the director; DR needs 1 (or 2, 3, 8)");
        } else if (n >= 4 && n <= 7) {
            problems.add("arp.ignore", std::to_string(n) + " is reserved by the kernel; use 1, 2, 3 or 8");
        } else {
            out.ignore = static_cast<int>(n);
        }
    }
    if (arp.contains("announce")) {
        const json& v = arp["announce"];
        if (!isWholeNumber(v)) {
            problems.add("arp.announce", notWholeNumber(v, "1 or 2"));
        } else if (const auto n = wholeNumber(v); n < 0 || n > 2) {
            problems.add("arp.announce", v.dump() + " is out of the kernel's range 0-2");
        } else if (n == 0) {
            problems.add("arp.announce", "0 lets this host announce the VIP as ARP source and poison neighbours' caches; DR needs 2 (or 1)");
        } else {
            out.announce = static_cast<int>(n);
        }
    }
    if (arp.contains("interfaces")) {
        const json& v = arp["interfaces"];
        if (!v.is_array() || v.empty()) {
            problems.add("arp.interfaces", "must be a non-empty list of interface names such as [\"lo\", \"all\"]");
            return;
        }
        std::vector<std::string> names;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string where = "arp.interfaces[" + std::to_string(i) + "]";
            if (!v[i].is_string()) {
                problems.add(where, "must be a string");
                continue;
            }
            const std::string name = v[i].get<std::string>();
            if (!sysctl::isValidInterfaceName(name)) {
                problems.add(where, quoteInput(name) + " is not a valid interface name (1-15 characters, no '/', ':' or spaces)");
            } else if (std::find(names.begin(), names.end(), name) != names.end()) {
                problems.add(where, "\"" + name + "\" is listed twice");
            } else {
                names.push_back(name);
            }
        }
        out.interfaces = names;
    }
}

// "announce": {"table": 200, "metric": 0}. The table must be one no other program uses:
// not main (254), local (255), default (253) or unspecified (0); the kernel's ids are
// 32-bit. Whether another program's routes are in it is the kernel's to say (at start).
void parseAnnounce(const json& a, Problems& problems, AnnounceSettings& out) {
    if (!a.is_object()) {
        problems.add("announce", "must be an object such as {\"table\": 200}");
        return;
    }
    rejectUnknownKeys(a, "announce", {"table", "metric"}, problems);
    if (!a.contains("table")) {
        problems.add("announce.table", "missing: the kernel route table to keep the ready VIPs in, e.g. 200");
    } else if (const json& t = a["table"]; !isWholeNumber(t)) {
        problems.add("announce.table", notWholeNumber(t, "a kernel route table id, e.g. 200"));
    } else if (const auto n = wholeNumber(t); n < 1 || n > 4294967295LL) {
        problems.add("announce.table", t.dump() + " is out of the kernel's range 1-4294967295");
    } else if (n == 253 || n == 254 || n == 255) {
        const char* name = n == 253 ? "default" : n == 254 ? "main" : "local";
        problems.add("announce.table", std::to_string(n) + " is table " + name +
                                           ", which the kernel and other programs use; choose a table of its own, e.g. 200");
    } else {
        out.table = static_cast<std::uint32_t>(n);
    }
    if (a.contains("metric")) {
        const json& m = a["metric"];
        if (!isWholeNumber(m))
            problems.add("announce.metric", notWholeNumber(m, "the route's metric, 0-4294967295"));
        else if (const auto n = wholeNumber(m); n < 0 || n > 4294967295LL)
            problems.add("announce.metric", m.dump() + " is out of the kernel's range 0-4294967295");
        else
            out.metric = static_cast<std::uint32_t>(n);
    }
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(joinLines(problems)), problems_(std::move(problems)) {}

std::expected<netcfg::IpAddress, std::string> parseVip(const std::string& text) {
    std::string addr = text;
    if (const auto slash = text.find('/'); slash != std::string::npos) {
        addr = text.substr(0, slash);
        const std::string prefix = text.substr(slash + 1);
        auto ip = netcfg::IpAddress::parse(addr);
        if (!ip) return std::unexpected(quoteInput(text) + " is not an IPv4 or IPv6 address");
        if (prefix != std::to_string(ip->hostPrefix()))
            return std::unexpected(quoteInput(text) + " has prefix /" + quoteInput(prefix, false) + "; DR binds a VIP as a host address (/" +
                                   std::to_string(ip->hostPrefix()) + "): write \"" + ip->str() + "\"");
    }
    auto ip = netcfg::IpAddress::parse(addr);
    if (!ip) return std::unexpected(quoteInput(text) + " is not an IPv4 or IPv6 address");
    if (auto p = netcfg::hostAddressProblem(*ip)) return std::unexpected(*p);
    return *ip;
}

std::expected<Range, std::string> parseRange(const std::string& text) {
    const auto slash = text.find('/');
    if (slash == std::string::npos)
        return std::unexpected(quoteInput(text) + " is not a prefix: write the network and its length, e.g. \"198.18.0.0/24\" (a single address goes in \"vips\" as a string)");
    const auto ip = netcfg::IpAddress::parse(text.substr(0, slash));
    if (!ip) return std::unexpected(quoteInput(text) + ": " + quoteInput(text.substr(0, slash)) + " is not an IPv4 or IPv6 address");
    const std::string digits = text.substr(slash + 1);
    const int widest = ip->isV4() ? kWidestRange4 : kWidestRange6;
    const bool number = !digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos;
    const int n = number ? std::stoi(digits) : -1;
    if (n < 0 || n > ip->hostPrefix())
        return std::unexpected(quoteInput(text) + ": the length must be a whole number up to " + std::to_string(ip->hostPrefix()));
    if (n < widest)
        return std::unexpected(quoteInput(text) + " is wider than /" + std::to_string(widest) + ", the widest range accepted (" +
                               (ip->isV4() ? "65,536 addresses" : "one IPv6 subnet") + "): split it or narrow it");
    if (ip->masked(n) != *ip) return std::unexpected(quoteInput(text) + " has host bits set: the network is " + ip->masked(n).cidr(n));
    const auto& b = ip->bytes;
    if (ip->isV4() && (b[0] == 0 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || b[0] >= 224))
        return std::unexpected(quoteInput(text) + " is not a unicast range (0/8, loopback, link-local, multicast or reserved)");
    if (!ip->isV4() && (b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
                        std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; })))
        return std::unexpected(quoteInput(text) + " is not a global unicast range (multicast, link-local, or an IPv4-compatible/mapped block)");
    return Range{.network = *ip, .length = n};
}

const Vip* Config::find(const netcfg::IpAddress& vip) const {
    for (const auto& v : vips)
        if (v.address == vip) return &v;
    return nullptr;
}

std::vector<netcfg::IpAddress> Config::addresses() const {
    std::vector<netcfg::IpAddress> out;
    out.reserve(vips.size());
    for (const auto& v : vips) out.push_back(v.address);
    return out;
}

bool Config::hasRanges() const {
    return std::any_of(vips.begin(), vips.end(), [](const Vip& v) { return v.isRange(); });
}

std::optional<netcfg::IpAddress> Config::vipHolding(const netcfg::IpAddress& ip) const {
    if (find(ip)) return ip;
    for (const auto& v : vips)
        if (v.isRange() && v.holds(ip)) return v.address;
    return std::nullopt;
}

std::vector<std::string> overlapProblems(const Config& cfg) {
    std::vector<std::string> out;
    if (!cfg.hasRanges()) return out;
    const bool dropIns = !cfg.dropIns.empty();
    auto from = [&](const Vip& v) { return dropIns ? " (" + v.source + ")" : std::string(); };
    // Only a range holds another entry: each range against every entry, not every pair
    // (10,000 VIPs beside one range are 10,000 comparisons, not 10^8).
    for (std::size_t i = 0; i < cfg.vips.size(); ++i) {
        const Vip& a = cfg.vips[i];
        if (!a.isRange()) continue;
        for (std::size_t j = 0; j < cfg.vips.size(); ++j) {
            if (i == j) continue;
            // a holds b (b a VIP, or a range starting inside a, at least as long)
            const Vip& b = cfg.vips[j];
            const int lb = b.isRange() ? b.prefixLen : b.address.hostPrefix();
            if (a.prefixLen > lb || (a.prefixLen == lb && i > j)) continue;
            if (a.address.covers(a.prefixLen, b.address))
                out.push_back("vips: " + b.name() + from(b) + " overlaps the range " + a.name() + from(a) +
                              ": each address belongs to one VIP or range");
        }
    }
    return out;
}

namespace config_parse {

namespace {

// nlohmann::json's message without its "[json.exception.parse_error.101] " tag: the
// operator's words, not the library's.
std::string jsonMessage(const nlohmann::json::exception& e) {
    const std::string what = e.what();
    const auto tag = what.rfind("[json.exception.", 0) == 0 ? what.find("] ") : std::string::npos;
    return tag == std::string::npos ? what : what.substr(tag + 2);
}

// A syntax error where an editor shows it (line and column of the offending character),
// in plain words for the usual slips; the library's own words otherwise.
std::string jsonSyntaxProblem(const std::string& text, const nlohmann::json::parse_error& e) {
    const std::size_t at = e.byte == 0 ? 0 : std::min(e.byte - 1, text.size());  // e.byte counts from 1
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < at && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    const std::string where = "not valid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
    if (at >= text.size()) return where + "the text ends too early (truncated, or a bracket or quote not closed?)";
    const char c = text[at];
    std::size_t before = at;
    while (before > 0 && std::isspace(static_cast<unsigned char>(text[before - 1]))) --before;
    if ((c == ']' || c == '}') && before > 0 && text[before - 1] == ',')
        return where + "a trailing comma before '" + std::string(1, c) + "' (JSON allows none: remove the comma)";
    if (c == '\'') return where + "a single quote: JSON strings take double quotes (\"198.51.100.188\")";
    if (c == '/' || c == '#') return where + "a comment: JSON has none";
    return where + jsonMessage(e);
}

// One entry of a "vips" list: an address string, an object {"address": "198.51.100.188",
// "drained": true, "announce": false} (drained: reported not ready from the start, for
// planned maintenance; announce false: never put in the announce table), or a range
// {"prefix": "198.18.0.0/24", "announce": false}. nullopt (with the problems named) when
// it is not usable.
std::optional<Vip> parseVipEntry(const json& e, const std::string& where, const std::string& source, Problems& problems) {
    Vip out{.address = {}, .prefixLen = -1, .source = source};
    std::string text;
    bool range = false;
    if (e.is_string()) {
        text = e.get<std::string>();
    } else if (!e.is_object()) {
        problems.add(where, "must be an address string such as \"198.51.100.188\" or an object such as "
                            "{\"address\": \"198.51.100.188\", \"drained\": true}");
        return std::nullopt;
    } else {
        const std::size_t before = problems.lines().size();
        range = e.contains("prefix");
        if (range) {
            rejectUnknownKeys(e, where, {"prefix", "announce"}, problems);
            if (!e["prefix"].is_string()) problems.add(where + ".prefix", "must be a prefix string such as \"198.18.0.0/24\"");
        } else {
            rejectUnknownKeys(e, where, {"address", "drained", "announce"}, problems);
            if (!e.contains("address") || !e["address"].is_string())
                problems.add(where + ".address", e.contains("address") ? "must be an address string" : "missing: the VIP's address");
        }
        for (const char* flag : {"drained", "announce"})
            if (e.contains(flag) && !e[flag].is_boolean() && (!range || std::string(flag) == "announce"))
                problems.add(where + "." + flag, "must be true or false");
        if (problems.lines().size() != before) return std::nullopt;
        text = e[range ? "prefix" : "address"].get<std::string>();
        out.drained = e.value("drained", false);
        out.announce = e.value("announce", true);
    }
    if (range) {
        auto r = parseRange(text);
        if (!r) {
            problems.add(where + ".prefix", r.error());
            return std::nullopt;
        }
        out.address = r->network;
        out.prefixLen = r->length;
    } else {
        auto ip = parseVip(text);
        if (!ip) {
            problems.add(where, ip.error());
            return std::nullopt;
        }
        out.address = *ip;
    }
    return out;
}

}  // namespace

json readDocument(const std::string& text, Problems& problems) {
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        problems.add("(document)", "the file is empty; it must hold a JSON object such as {\"vips\": [\"198.51.100.188\"]}");
        problems.throwIfAny();
    }
    if (const auto nul = firstNul(text)) {
        // nlohmann::json stops at a NUL: whatever follows would be ignored without a word.
        problems.add("(document)", "holds a NUL byte at byte " + std::to_string(*nul) + "; a configuration is JSON text");
        problems.throwIfAny();
    }
    json doc;
    try {
        doc = parseStrictJson(text, problems);
    } catch (const json::parse_error& e) {
        problems.add("(document)", jsonSyntaxProblem(text, e));
        problems.throwIfAny();
    } catch (const json::exception& e) {
        // A number too large for a double (1e400) is valid JSON text that nlohmann::json
        // refuses with out_of_range rather than parse_error.
        problems.add("(document)", std::string("cannot be read: ") + jsonMessage(e));
        problems.throwIfAny();
    }
    if (!doc.is_object()) {
        problems.add("(document)", std::string("must be a JSON object, not ") + doc.type_name());
        problems.throwIfAny();
    }
    return doc;
}

VipList parseVipList(const json& v, const std::string& source, Problems& problems) {
    VipList out;
    std::map<netcfg::IpAddress, std::size_t> seen;  // each VIP's position in the list
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string where = "vips[" + std::to_string(i) + "]";
        auto vip = parseVipEntry(v[i], where, source, problems);
        if (!vip) continue;
        if (auto [it, fresh] = seen.emplace(vip->address, i); !fresh) {
            const std::string text = v[i].is_string() ? v[i].get<std::string>() : v[i].value(vip->isRange() ? "prefix" : "address", "");
            problems.add(where + (vip->isRange() ? ".prefix" : ""), quoteInput(text) + " duplicates vips[" + std::to_string(it->second) + "]");
            continue;
        }
        out.vips.push_back(std::move(*vip));
        out.positions.push_back(i);
    }
    return out;
}

}  // namespace config_parse

Config parseConfig(const std::string& text, const std::string& source,
                   const std::vector<std::string>& cliVips, const std::vector<netcfg::IpAddress>& otherVips) {
    Problems problems(source);
    const json doc = readDocument(text, problems);
    rejectUnknownKeys(doc, "", kMainFileKeys, problems);

    Config cfg;
    cfg.source = source;
    if (!cliVips.empty()) {
        std::map<netcfg::IpAddress, std::size_t> seen;
        for (std::size_t i = 0; i < cliVips.size(); ++i) {
            const std::string where = "--vip[" + std::to_string(i) + "]";
            if (auto ip = parseVip(cliVips[i]); !ip)
                problems.add(where, ip.error());
            else if (auto [it, fresh] = seen.emplace(*ip, i); !fresh)
                problems.add(where, quoteInput(cliVips[i]) + " duplicates --vip[" + std::to_string(it->second) + "]");
            else
                cfg.vips.push_back({.address = *ip, .prefixLen = -1, .source = "--vip"});
        }
    } else if (!doc.contains("vips")) {
        if (otherVips.empty() && !doc.contains("nat"))
            problems.add("vips", "missing: list the virtual IP addresses, e.g. \"vips\": [\"198.51.100.188\"] (here or in a drop-in)");
    } else if (const json& v = doc["vips"]; !v.is_array()) {
        problems.add("vips", "must be a list of address strings");
    } else if (v.empty() && otherVips.empty() && !doc.contains("nat")) {
        problems.add("vips", "is empty: list at least one virtual IP address (here or in a drop-in)");
    } else {
        cfg.vips = parseVipList(v, source, problems).vips;
    }
    for (const auto& line : overlapProblems(cfg)) problems.add("vips", line.substr(6));
    if (doc.contains("arp")) parseArp(doc["arp"], problems, cfg.arp);
    if (doc.contains("host_routes")) {
        if (!doc["host_routes"].is_boolean())
            problems.add("host_routes", "must be true or false");
        else
            cfg.hostRoutes = doc["host_routes"].get<bool>();
    }
    if (doc.contains("announce")) parseAnnounce(doc["announce"], problems, cfg.announce);
    if (doc.contains("tunnel")) parseTunnel(doc["tunnel"], problems, cfg);
    if (doc.contains("nat")) parseNat(doc["nat"], problems, cfg);
    if (doc.contains("colocated")) parseColocated(doc["colocated"], problems, cfg);
    // services may name the drop-ins' VIPs too, and the NAT VIPs (probed where the director
    // sends: this server's address facing it)
    std::set<netcfg::IpAddress> named(otherVips.begin(), otherVips.end());
    for (const auto& v : cfg.vips) named.insert(v.address);
    for (const auto& v : cfg.nat.vips) named.insert(v);
    parseRuntime(doc, problems, cfg, named);
    for (auto& s : cfg.services)
        if (cfg.nat.isVip(s.vip))
            if (const auto* d = cfg.nat.director(s.vip.family)) s.natDirector = *d;
    // Two boxes: a service on a VIP whose port is not marked would be balanced by a plain
    // virtual service, and the loop would be back.
    if (cfg.colocated.enabled())
        for (std::size_t i = 0; i < cfg.services.size(); ++i) {
            const auto& s = cfg.services[i];
            const bool marked = std::any_of(cfg.colocated.ports.begin(), cfg.colocated.ports.end(),
                                            [&](const NatPort& p) { return p.port == s.port; });
            if (!cfg.nat.isVip(s.vip) && s.port > 0 && !marked)
                problems.add("services[" + std::to_string(i) + "]",
                             "port " + std::to_string(s.port) + " is not in colocated.ports: the fwmark service would not take it");
        }
    problems.throwIfAny();
    return cfg;
}

}  // namespace agent
