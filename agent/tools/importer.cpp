#include "agent/tools/importer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "agent/config/config.h"
#include "netcfg/ip_address.h"
#include "sysctl/sysctl.h"

namespace agent {
namespace {

int prefixOfNetmask(const std::string& mask) {
    auto ip = netcfg::IpAddress::parse(mask);
    if (!ip || !ip->isV4()) return -1;
    int bits = 0;
    for (int i = 0; i < 4; ++i) bits += __builtin_popcount(ip->bytes[i]);
    return bits;
}

class Importer {
public:
    ImportResult r;

    void addVip(const std::string& text, const std::string& where, int prefix) {
        auto ip = netcfg::IpAddress::parse(text);
        if (!ip) return;
        // The same rule as the configuration's, so what import prints, check accepts.
        if (auto checked = parseVip(ip->str()); !checked) {
            r.notes.push_back(where + ": " + checked.error() + "; left out");
            return;
        }
        if (prefix >= 0 && prefix != ip->hostPrefix())
            r.notes.push_back(where + ": " + ip->str() + " had prefix /" + std::to_string(prefix) +
                              "; DR needs a host address, the configuration binds it as /" + std::to_string(ip->hostPrefix()));
        if (std::find(r.vips.begin(), r.vips.end(), ip->str()) == r.vips.end()) r.vips.push_back(ip->str());
    }

    // The largest value seen wins: the old scripts' stop branches write 0 to undo.
    void setArp(const std::string& iface, const std::string& key, const std::string& digits, const std::string& where) {
        // Only names the configuration accepts (and JSON can carry: printable ASCII).
        if (!sysctl::isValidInterfaceName(iface) ||
            !std::all_of(iface.begin(), iface.end(), [](unsigned char c) { return c > ' ' && c < 0x7f; })) {
            r.notes.push_back(where + ": " + quoteInput(iface) + " is not an interface name, ignoring");
            return;
        }
        const int value = boundedNumber(digits, 255).value_or(255);
        auto& m = key == "arp_ignore" ? r.arpIgnore : r.arpAnnounce;
        m[iface] = std::max(m.contains(iface) ? m[iface] : 0, value);
    }

    void shell(const TextFile& f) {
        std::map<std::string, std::string> vars;
        std::istringstream in(f.content);
        std::string raw;
        static const std::regex assign(R"(^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=["']?([^"'\s;]*)["']?\s*(?:#.*)?$)");
        static const std::regex ifconfig(R"((?:^|[\s;/])ifconfig\s+lo:\S+\s+([0-9a-fA-F.:]+)(?:/(\d+))?(.*))");
        static const std::regex netmask(R"(netmask\s+([0-9.]+))");
        static const std::regex ipaddr(R"((?:^|[\s;/])ip\s+(?:-[46]\s+)?a(?:ddr(?:ess)?)?\s+add\s+([0-9a-fA-F.:]+)(?:/(\d+))?\s+.*dev\s+lo\b)");
        // net-tools takes -h for -host
        static const std::regex route(R"((?:^|[\s;/])route\s+add\s+(?:-host|-h)\s+([0-9a-fA-F.:]+)\s+.*dev\s+lo)");
        static const std::regex routeDel(R"((?:^|[\s;/])route\s+del\s+(?:(?:-host|-h)\s+)?([0-9a-fA-F.:]+)(?:\s|;|$))");
        static const std::regex iproute(R"((?:^|[\s;/])ip\s+(?:-[46]\s+)?r(?:oute)?\s+add\s+([0-9a-fA-F.:]+)(?:/\d+)?\s+.*dev\s+lo\b)");
        static const std::regex echoSys(R"(echo\s+["']?(\d+)["']?\s*>\s*/proc/sys/net/ipv4/conf/([^/\s]+)/(arp_ignore|arp_announce))");
        static const std::regex sysctlW(R"(sysctl\s+(?:-w\s+|-q\s+)*net[./]ipv4[./]conf[./]([^./\s=]+)[./](arp_ignore|arp_announce)\s*=\s*(\d+))");
        static const std::regex sysctlConf(R"(^\s*net[./]ipv4[./]conf[./]([^./\s=]+)[./](arp_ignore|arp_announce)\s*=\s*(\d+)\s*$)");
        for (int n = 1; std::getline(in, raw); ++n) {
            std::smatch m;
            if (std::regex_match(raw, m, assign)) vars[m[1]] = m[2];
            std::string line = raw;
            if (auto hash = line.find('#'); hash != std::string::npos && line.find_first_not_of(" \t") == hash) continue;
            for (const auto& [k, v] : vars) {
                for (const std::string& ref : {"${" + k + "}", "$" + k}) {
                    // Past each replacement, or past a longer name ($VIPS is not $VIP): always
                    // forward, also when the value is empty.
                    for (auto p = line.find(ref); p != std::string::npos;) {
                        const std::size_t end = p + ref.size();
                        if (ref[1] != '{' && end < line.size() && (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == '_')) {
                            p = line.find(ref, p + 1);
                            continue;
                        }
                        line.replace(p, ref.size(), v);
                        p = line.find(ref, p + v.size());
                    }
                }
            }
            const std::string where = f.path + ":" + std::to_string(n);
            bool used = false;
            if (std::regex_search(line, m, ifconfig)) {
                int prefix = m[2].matched ? boundedNumber(m[2].str(), 999).value_or(999) : -1;
                std::smatch nm;
                const std::string rest = m[3];
                if (std::regex_search(rest, nm, netmask)) prefix = prefixOfNetmask(nm[1]);
                if (rest.find(" down") == std::string::npos) addVip(m[1], where, prefix);
                used = true;
            }
            if (std::regex_search(line, m, ipaddr)) {
                addVip(m[1], where, m[2].matched ? boundedNumber(m[2].str(), 999).value_or(999) : -1);
                used = true;
            }
            if (std::regex_search(line, m, route) || std::regex_search(line, m, iproute)) {
                r.hostRoutes = true;
                used = true;
            }
            if (std::regex_search(line, m, routeDel)) used = true;  // a stop branch's: goes with the script
            if (std::regex_search(line, m, echoSys)) {
                setArp(m[2], m[3], m[1], where);
                used = true;
            } else if (std::regex_search(line, m, sysctlW) || std::regex_match(line, m, sysctlConf)) {
                setArp(m[1], m[2], m[3], where);
                used = true;
            }
            if (used) r.toDelete.push_back(where + ": " + raw);
        }
    }

    void ifcfg(const TextFile& f) {
        std::map<std::string, std::string> kv;
        std::istringstream in(f.content);
        std::string line;
        static const std::regex entry(R"(^\s*([A-Z_0-9]+)=["']?([^"'\s#]*)["']?)");
        while (std::getline(in, line)) {
            std::smatch m;
            if (std::regex_search(line, m, entry)) kv[m[1]] = m[2];
        }
        if (!kv.contains("IPADDR")) return;
        int prefix = -1;
        if (kv.contains("PREFIX")) prefix = std::atoi(kv["PREFIX"].c_str());
        if (kv.contains("NETMASK")) prefix = prefixOfNetmask(kv["NETMASK"]);
        addVip(kv["IPADDR"], f.path, prefix);
        r.toDelete.push_back(f.path + " (the whole file; then `ifdown " + kv["DEVICE"] + "` is no longer needed)");
    }

    void interfaces(const TextFile& f) {
        std::istringstream in(f.content);
        std::string line;
        static const std::regex stanza(R"(^\s*iface\s+(lo:\S+)\s+inet6?\s+static)");
        static const std::regex otherStanza(R"(^\s*(iface|auto|allow-|mapping|source))");
        static const std::regex address(R"(^\s*address\s+([0-9a-fA-F.:]+)(?:/(\d+))?)");
        static const std::regex mask(R"(^\s*netmask\s+([0-9.]+))");
        std::string alias, vip, start;
        int prefix = -1;
        auto flush = [&] {
            if (!alias.empty() && !vip.empty()) {
                addVip(vip, start, prefix);
                r.toDelete.push_back(start + ": the iface " + alias + " stanza (and its auto line)");
            }
            alias.clear();
            vip.clear();
            prefix = -1;
        };
        for (int n = 1; std::getline(in, line); ++n) {
            std::smatch m;
            if (std::regex_search(line, m, stanza)) {
                flush();
                alias = m[1];
                start = f.path + ":" + std::to_string(n);
            } else if (std::regex_search(line, otherStanza)) {
                flush();
            } else if (!alias.empty() && std::regex_search(line, m, address)) {
                vip = m[1];
                if (m[2].matched) prefix = boundedNumber(m[2].str(), 999).value_or(999);
            } else if (!alias.empty() && std::regex_search(line, m, mask)) {
                prefix = prefixOfNetmask(m[1]);
            }
        }
        flush();
    }
};

}  // namespace

std::string ImportResult::configJson() const {
    nlohmann::ordered_json j;
    j["vips"] = vips;
    // The agent's ARP settings: the strictest values found, on the interfaces named.
    int ignore = 1, announce = 2;
    std::vector<std::string> ifaces;
    for (const auto* m : {&arpIgnore, &arpAnnounce})
        for (const auto& [iface, v] : *m)
            if (std::find(ifaces.begin(), ifaces.end(), iface) == ifaces.end()) ifaces.push_back(iface);
    for (const auto& [i, v] : arpIgnore)
        if (v == 2 || v == 3 || v == 8) ignore = std::max(ignore, v);
    std::sort(ifaces.begin(), ifaces.end(), [](const std::string& a, const std::string& b) {
        auto rank = [](const std::string& s) { return s == "lo" ? 0 : s == "all" ? 1 : 2; };
        return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
    });
    if (std::find(ifaces.begin(), ifaces.end(), "lo") == ifaces.end()) ifaces.insert(ifaces.begin(), "lo");
    if (ifaces.size() == 1) ifaces.push_back("all");
    j["arp"] = {{"ignore", ignore}, {"announce", announce}, {"interfaces", ifaces}};
    j["host_routes"] = hostRoutes;
    return j.dump(2) + "\n";
}

ImportResult importSetup(const std::vector<TextFile>& files) {
    static const std::regex loAliasStanza(R"((^|\n)\s*iface\s+lo:)");
    Importer im;
    for (const auto& f : files) {
        const std::string name = f.path.substr(f.path.rfind('/') + 1);
        if (name.rfind("ifcfg-lo", 0) == 0)
            im.ifcfg(f);
        else if (std::regex_search(f.content, loAliasStanza))
            im.interfaces(f);
        else
            im.shell(f);
    }
    return im.r;
}

}  // namespace agent
