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
#include "sysctl/sysctl.h"

namespace agent {
namespace {

using nlohmann::json;
using namespace config_parse;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

std::optional<std::string> ipv4Problem(const netcfg::IpAddress& a) {
    const auto* b = a.bytes.data();
    const std::string s = a.str();
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return s + " is the unspecified address";
    if (b[0] == 0) return s + " is in 0.0.0.0/8 (\"this network\"), not a host address";
    if (b[0] == 127) return s + " is a loopback address";
    if (b[0] == 169 && b[1] == 254) return s + " is a link-local address";
    if (b[0] >= 224 && b[0] <= 239) return s + " is a multicast address";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return s + " is the broadcast address";
    if (b[0] >= 240) return s + " is in the reserved range 240.0.0.0/4";
    if (b[3] == 0) return s + " is a network address (host part .0); a VIP must be a host address";
    if (b[3] == 255) return s + " is a broadcast address (host part .255); a VIP must be a host address";
    return std::nullopt;
}

std::optional<std::string> ipv6Problem(const netcfg::IpAddress& a) {
    const auto& b = a.bytes;
    const std::string s = a.str();
    const bool zeroHead = std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; });
    if (zeroHead && b[15] == 0) return s + " is the unspecified address";
    if (zeroHead && b[15] == 1) return s + " is the loopback address";
    if (std::all_of(b.begin(), b.begin() + 12, [](auto x) { return x == 0; })) {
        const std::string v4 = std::to_string(b[12]) + "." + std::to_string(b[13]) + "." + std::to_string(b[14]) + "." +
                               std::to_string(b[15]);
        return s + " is a deprecated IPv4-compatible IPv6 address (RFC 4291); write the IPv4 address " + v4 + " instead";
    }
    if (b[0] == 0xff) return s + " is a multicast address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return s + " is a link-local address";
    const bool mapped = std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; }) &&
                        b[10] == 0xff && b[11] == 0xff;
    if (mapped) return s + " is an IPv4-mapped address; write the IPv4 address instead";
    return std::nullopt;
}

// texts[k] stood at field[index[k]] in the input; those in `prefixes` are ranges, whose
// lengths go to ranges (and network addresses to out, like a VIP's).
void checkVips(const std::vector<std::string>& texts, const std::vector<std::size_t>& index,
               const std::string& field, Problems& problems, std::vector<netcfg::IpAddress>& out,
               const std::set<std::size_t>& prefixes = {}, std::map<netcfg::IpAddress, int>* ranges = nullptr) {
    std::map<netcfg::IpAddress, std::size_t> seen;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        const bool range = prefixes.contains(k) && ranges;
        const std::string where = field + "[" + std::to_string(index[k]) + "]" + (range ? ".prefix" : "");
        netcfg::IpAddress ip;
        int len = -1;
        if (auto p = range ? rangeProblem(texts[k], ip, len) : vipProblem(texts[k], ip)) {
            problems.add(where, *p);
        } else if (auto [it, fresh] = seen.emplace(ip, index[k]); !fresh) {
            problems.add(where, quoteInput(texts[k]) + " duplicates " + field + "[" +
                                    std::to_string(it->second) + "]");
        } else {
            out.push_back(ip);
            if (range) (*ranges)[ip] = len;
        }
    }
}

void parseArp(const json& arp, Problems& problems, ArpSettings& out) {
    if (!arp.is_object()) {
        problems.add("arp", "must be an object such as {\"ignore\": 1, \"announce\": 2, \"interfaces\": [\"lo\", \"all\"]}");
        return;
    }
    rejectUnknownKeys(arp, "arp", {"ignore", "announce", "interfaces"}, problems);
    if (arp.contains("ignore")) {
        const json& v = arp["ignore"];
        if (!isWholeNumber(v)) {
            problems.add("arp.ignore", "must be a whole number (1, 2, 3 or 8)");
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
            problems.add("arp.announce", "must be a whole number (1 or 2)");
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
        problems.add("announce.table", "must be a whole number (a kernel route table id, e.g. 200)");
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
            problems.add("announce.metric", "must be a whole number (the route's metric, 0-4294967295)");
        else if (const auto n = wholeNumber(m); n < 0 || n > 4294967295LL)
            problems.add("announce.metric", m.dump() + " is out of the kernel's range 0-4294967295");
        else
            out.metric = static_cast<std::uint32_t>(n);
    }
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(joinLines(problems)), problems_(std::move(problems)) {}

std::optional<std::string> vipProblem(const std::string& text, netcfg::IpAddress& out) {
    std::string addr = text;
    if (const auto slash = text.find('/'); slash != std::string::npos) {
        addr = text.substr(0, slash);
        const std::string prefix = text.substr(slash + 1);
        auto ip = netcfg::IpAddress::parse(addr);
        if (!ip) return quoteInput(text) + " is not an IPv4 or IPv6 address";
        if (prefix != std::to_string(ip->hostPrefix()))
            return quoteInput(text) + " has prefix /" + quoteInput(prefix, false) + "; DR binds a VIP as a host address (/" +
                   std::to_string(ip->hostPrefix()) + "): write \"" + ip->str() + "\"";
    }
    auto ip = netcfg::IpAddress::parse(addr);
    if (!ip) return quoteInput(text) + " is not an IPv4 or IPv6 address";
    if (auto p = ip->isV4() ? ipv4Problem(*ip) : ipv6Problem(*ip)) return p;
    out = *ip;
    return std::nullopt;
}

std::optional<std::string> rangeProblem(const std::string& text, netcfg::IpAddress& out, int& len) {
    const auto slash = text.find('/');
    if (slash == std::string::npos)
        return quoteInput(text) + " is not a prefix: write the network and its length, e.g. \"198.18.0.0/24\" (a single address goes in \"vips\" as a string)";
    const auto ip = netcfg::IpAddress::parse(text.substr(0, slash));
    if (!ip) return quoteInput(text) + ": " + quoteInput(text.substr(0, slash)) + " is not an IPv4 or IPv6 address";
    const std::string digits = text.substr(slash + 1);
    const int widest = ip->isV4() ? kWidestRange4 : kWidestRange6;
    const bool number = !digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos;
    const int n = number ? std::stoi(digits) : -1;
    if (n < 0 || n > ip->hostPrefix())
        return quoteInput(text) + ": the length must be a whole number up to " + std::to_string(ip->hostPrefix());
    if (n < widest)
        return quoteInput(text) + " is wider than /" + std::to_string(widest) + ", the widest range accepted (" +
               (ip->isV4() ? "65,536 addresses" : "one IPv6 subnet") + "): split it or narrow it";
    if (ip->masked(n) != *ip)
        return quoteInput(text) + " has host bits set: the network is " + ip->masked(n).cidr(n);
    const auto& b = ip->bytes;
    if (ip->isV4() && (b[0] == 0 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || b[0] >= 224))
        return quoteInput(text) + " is not a unicast range (0/8, loopback, link-local, multicast or reserved)";
    if (!ip->isV4() && (b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
                        std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; })))
        return quoteInput(text) + " is not a global unicast range (multicast, link-local, or an IPv4-compatible/mapped block)";
    out = *ip;
    len = n;
    return std::nullopt;
}

std::optional<netcfg::IpAddress> Config::vipHolding(const netcfg::IpAddress& ip) const {
    if (std::find(vips.begin(), vips.end(), ip) != vips.end()) return ip;
    for (const auto& [net, len] : ranges)
        if (net.covers(len, ip)) return net;
    return std::nullopt;
}

std::vector<std::string> overlapProblems(const Config& cfg) {
    std::vector<std::string> out;
    if (cfg.ranges.empty()) return out;
    auto from = [&](std::size_t i) {
        return !cfg.dropIns.empty() && i < cfg.vipSources.size() ? " (" + cfg.vipSources[i] + ")" : std::string();
    };
    // Only a range holds another entry: each range against every entry, not every pair
    // (10,000 VIPs beside one range are 10,000 comparisons, not 10^8).
    for (std::size_t i = 0; i < cfg.vips.size(); ++i) {
        const int la = cfg.rangeLength(cfg.vips[i]);
        if (la < 0) continue;
        for (std::size_t j = 0; j < cfg.vips.size(); ++j) {
            if (i == j) continue;
            // i's range holds j (j a VIP, or a range starting inside i, at least as long)
            const int lj = cfg.rangeLength(cfg.vips[j]);
            const int lb = lj < 0 ? cfg.vips[j].hostPrefix() : lj;
            if (la > lb || (la == lb && i > j)) continue;
            if (cfg.vips[i].covers(la, cfg.vips[j]))
                out.push_back("vips: " + cfg.vipText(cfg.vips[j]) + from(j) + " overlaps the range " + cfg.vipText(cfg.vips[i]) + from(i) +
                              ": each address belongs to one VIP or range");
        }
    }
    return out;
}

namespace {

// nlohmann::json's message without its "[json.exception.parse_error.101] " tag: the
// operator's words, not the library's.
std::string jsonMessage(const nlohmann::json::exception& e) {
    const std::string what = e.what();
    const auto tag = what.rfind("[json.exception.", 0) == 0 ? what.find("] ") : std::string::npos;
    return tag == std::string::npos ? what : what.substr(tag + 2);
}

// The text as a JSON object; a fatal problem (empty, NUL, not JSON, not an object) throws.
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
        problems.add("(document)", std::string("not valid JSON (truncated or mistyped?) at byte ") +
                                       std::to_string(e.byte) + ": " + jsonMessage(e));
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

// A "vips" list's addresses and their positions. An entry is an address string, or an
// object {"address": "198.51.100.188", "drained": true, "announce": false} (drained:
// reported not ready from the start, for planned maintenance; announce false: never put
// in the announce table). The marked addresses go to drained and quiet.
void vipTexts(const json& v, Problems& problems, std::vector<std::string>& texts, std::vector<std::size_t>& index,
              std::vector<std::string>& drained, std::vector<std::string>& quiet, std::set<std::size_t>& prefixes) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string where = "vips[" + std::to_string(i) + "]";
        if (v[i].is_string()) {
            texts.push_back(v[i].get<std::string>());
            index.push_back(i);
            continue;
        }
        if (!v[i].is_object()) {
            problems.add(where, "must be an address string such as \"198.51.100.188\" or an object such as "
                                "{\"address\": \"198.51.100.188\", \"drained\": true}");
            continue;
        }
        const std::size_t before = problems.lines().size();
        if (v[i].contains("prefix")) {  // a range: {"prefix": "198.18.0.0/24", "announce": false}
            rejectUnknownKeys(v[i], where, {"prefix", "announce"}, problems);
            if (!v[i]["prefix"].is_string()) problems.add(where + ".prefix", "must be a prefix string such as \"198.18.0.0/24\"");
            if (v[i].contains("announce") && !v[i]["announce"].is_boolean()) problems.add(where + ".announce", "must be true or false");
            if (problems.lines().size() != before) continue;
            prefixes.insert(texts.size());
            texts.push_back(v[i]["prefix"].get<std::string>());
            index.push_back(i);
            if (!v[i].value("announce", true)) quiet.push_back(texts.back());
            continue;
        }
        rejectUnknownKeys(v[i], where, {"address", "drained", "announce"}, problems);
        const bool addressOk = v[i].contains("address") && v[i]["address"].is_string();
        if (!addressOk) problems.add(where + ".address", v[i].contains("address") ? "must be an address string" : "missing: the VIP's address");
        for (const char* flag : {"drained", "announce"})
            if (v[i].contains(flag) && !v[i][flag].is_boolean()) problems.add(where + "." + flag, "must be true or false");
        if (problems.lines().size() != before) continue;
        texts.push_back(v[i]["address"].get<std::string>());
        index.push_back(i);
        if (v[i].value("drained", false)) drained.push_back(texts.back());
        if (!v[i].value("announce", true)) quiet.push_back(texts.back());
    }
}

// A "vips" list, in the main file or a drop-in: its VIPs appended to out (index: each
// one's position in the list), those marked "drained" added to drained, those marked
// "announce": false to quiet; every problem named.
void parseVipList(const json& v, Problems& problems, std::vector<netcfg::IpAddress>& out, std::vector<std::size_t>& index,
                  std::set<netcfg::IpAddress>& drained, std::set<netcfg::IpAddress>& quiet, std::map<netcfg::IpAddress, int>& ranges) {
    std::vector<std::string> texts, drainedTexts, quietTexts;
    std::set<std::size_t> prefixes;
    vipTexts(v, problems, texts, index, drainedTexts, quietTexts, prefixes);
    checkVips(texts, index, "vips", problems, out, prefixes, &ranges);
    for (auto [from, to] : {std::pair{&drainedTexts, &drained}, std::pair{&quietTexts, &quiet}})
        for (const auto& text : *from) {
            netcfg::IpAddress ip;
            int len = 0;
            if (!vipProblem(text, ip) || !rangeProblem(text, ip, len)) to->insert(ip);  // a bad one is named by checkVips
        }
}

}  // namespace

Config parseConfig(const std::string& text, const std::string& source,
                   const std::vector<std::string>& cliVips, const std::vector<netcfg::IpAddress>& otherVips) {
    Problems problems(source);
    const json doc = readDocument(text, problems);
    std::vector<std::string> known{"vips", "arp", "host_routes", "announce", "tunnel"};
    known.insert(known.end(), kRuntimeKeys.begin(), kRuntimeKeys.end());
    rejectUnknownKeys(doc, "", known, problems);

    Config cfg;
    cfg.source = source;
    if (!cliVips.empty()) {
        std::vector<std::size_t> index(cliVips.size());
        for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
        checkVips(cliVips, index, "--vip", problems, cfg.vips);
    } else if (!doc.contains("vips")) {
        if (otherVips.empty())
            problems.add("vips", "missing: list the virtual IP addresses, e.g. \"vips\": [\"198.51.100.188\"] (here or in a drop-in)");
    } else if (const json& v = doc["vips"]; !v.is_array()) {
        problems.add("vips", "must be a list of address strings");
    } else if (v.empty() && otherVips.empty()) {
        problems.add("vips", "is empty: list at least one virtual IP address (here or in a drop-in)");
    } else {
        std::vector<std::size_t> index;
        parseVipList(v, problems, cfg.vips, index, cfg.drained, cfg.notAnnounced, cfg.ranges);
    }
    cfg.vipSources.assign(cfg.vips.size(), cliVips.empty() ? source : "--vip");
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
    // services may name the drop-ins' VIPs too
    std::set<netcfg::IpAddress> named(cfg.vips.begin(), cfg.vips.end());
    named.insert(otherVips.begin(), otherVips.end());
    parseRuntime(doc, problems, cfg, named);
    problems.throwIfAny();
    return cfg;
}

std::string defaultConfigDir(const std::string& configPath) {
    return (std::filesystem::path(configPath).parent_path() / "conf.d").string();
}

namespace {

struct DropIn {
    std::string path;
    json doc;
    std::vector<netcfg::IpAddress> vips;
    std::vector<std::size_t> index;  // each VIP's position in the file's "vips" (a file with a problem is never merged)
    std::set<netcfg::IpAddress> drained;
    std::set<netcfg::IpAddress> notAnnounced;
    std::map<netcfg::IpAddress, int> ranges;
};

// The drop-ins of dir, read and checked on their own (keys, VIP syntax); problems go to
// all. A directory that does not exist holds none.
std::vector<DropIn> readDropIns(const std::string& dir, const std::string& mainFile, std::vector<std::string>& all) {
    std::vector<DropIn> out;
    std::error_code ec;
    const auto st = std::filesystem::status(dir, ec);
    if (ec || st.type() == std::filesystem::file_type::not_found) return out;
    if (st.type() != std::filesystem::file_type::directory) {
        all.push_back(dir + ": the drop-in directory is not a directory");
        return out;
    }
    std::vector<std::string> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() > 5 && name.ends_with(".json") && name[0] != '.') files.push_back(it->path().string());
    }
    if (ec) all.push_back(dir + ": cannot list the drop-in directory: " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        Problems problems(file);
        try {
            auto text = readLimited(file, {.maxBytes = kMaxConfigBytes, .deadline = std::chrono::seconds(5), .allowPipe = false});
            if (!text) throw ConfigError({file + ": cannot read: " + text.error().message});
            DropIn d{.path = file, .doc = readDocument(*text, problems), .vips = {}, .index = {}, .drained = {}, .notAnnounced = {}, .ranges = {}};
            for (const auto& [key, value] : d.doc.items())
                if (std::find(kDropInKeys.begin(), kDropInKeys.end(), key) == kDropInKeys.end())
                    problems.add(key, "not allowed in a drop-in, which holds only \"vips\" and \"services\"; global settings go in " + mainFile);
            if (d.doc.contains("vips")) {
                if (!d.doc["vips"].is_array()) {
                    problems.add("vips", "must be a list of address strings");
                } else {
                    parseVipList(d.doc["vips"], problems, d.vips, d.index, d.drained, d.notAnnounced, d.ranges);
                }
            }
            out.push_back(std::move(d));
            all.insert(all.end(), problems.lines().begin(), problems.lines().end());
        } catch (const ConfigError& e) {  // unreadable, or not a JSON object
            all.insert(all.end(), e.problems().begin(), e.problems().end());
        }
    }
    return out;
}

}  // namespace

Config loadConfig(const std::optional<std::string>& path, const std::vector<std::string>& cliVips,
                  const std::optional<std::string>& configDir) {
    if (!path && !cliVips.empty()) {
        if (configDir) throw ConfigError({"--config-dir " + quoteInput(*configDir, false) + ": drop-ins go with a configuration file (-c FILE); --vip alone reads no file"});
        return parseConfig("{}", "--vip", cliVips);
    }
    if (configDir) {  // named on purpose: one that is not there is a typo, not "no drop-ins"
        std::error_code ec;
        if (!std::filesystem::is_directory(*configDir, ec))
            throw ConfigError({"--config-dir " + quoteInput(*configDir, false) + ": " +
                               (std::filesystem::exists(*configDir, ec) ? "not a directory" : "no such directory")});
    }
    const std::string file = path.value_or(kDefaultConfigPath);
    // A pipe is fine (-c /dev/stdin, -c <(...)); a device, a socket or a directory is not.
    auto text = readLimited(file, {.maxBytes = kMaxConfigBytes, .deadline = std::chrono::seconds(5), .allowPipe = true});
    if (!text) {
        std::string hint = text.error().err == ENOENT && !path ? " (give --config FILE, or --vip ADDR to run without a file)" : "";
        throw ConfigError({file + ": cannot read: " + text.error().message + hint});
    }
    std::vector<std::string> problems;
    // --vip replaces the file's VIPs, and the drop-ins' too.
    auto dropIns = cliVips.empty() ? readDropIns(configDir.value_or(defaultConfigDir(file)), file, problems) : std::vector<DropIn>{};
    std::vector<netcfg::IpAddress> dropInVips;
    for (const auto& d : dropIns) dropInVips.insert(dropInVips.end(), d.vips.begin(), d.vips.end());
    Config cfg;
    try {
        cfg = parseConfig(*text, file, cliVips, dropInVips);
    } catch (const ConfigError& e) {
        problems.insert(problems.begin(), e.problems().begin(), e.problems().end());
        throw ConfigError(problems);
    }
    if (!problems.empty()) throw ConfigError(problems);
    // The drop-ins' VIPs after the file's, each in one file only; then their services.
    std::map<netcfg::IpAddress, std::string> from;
    for (std::size_t i = 0; i < cfg.vips.size(); ++i) from.emplace(cfg.vips[i], file);
    for (const auto& d : dropIns) {
        Problems p(d.path);
        for (std::size_t k = 0; k < d.vips.size(); ++k) {
            if (auto [it, fresh] = from.emplace(d.vips[k], d.path); !fresh) {
                p.add("vips[" + std::to_string(d.index[k]) + "]", d.vips[k].str() + " is also in " + it->second);
            } else {
                cfg.vips.push_back(d.vips[k]);
                cfg.vipSources.push_back(d.path);
                if (const auto r = d.ranges.find(d.vips[k]); r != d.ranges.end()) cfg.ranges.insert(*r);
            }
        }
        problems.insert(problems.end(), p.lines().begin(), p.lines().end());
        cfg.dropIns.push_back(d.path);
        cfg.drained.insert(d.drained.begin(), d.drained.end());
        cfg.notAnnounced.insert(d.notAnnounced.begin(), d.notAnnounced.end());
    }
    if (problems.empty())  // a drop-in's VIP or range overlapping another's (the main file's own were checked)
        problems = overlapProblems(cfg);
    const std::set<netcfg::IpAddress> named(cfg.vips.begin(), cfg.vips.end());
    for (const auto& d : dropIns) {
        if (!d.doc.contains("services")) continue;
        Problems p(d.path);
        parseServices(d.doc["services"], p, cfg, named);
        problems.insert(problems.end(), p.lines().begin(), p.lines().end());
    }
    if (!problems.empty()) throw ConfigError(problems);
    return cfg;
}

}  // namespace agent
