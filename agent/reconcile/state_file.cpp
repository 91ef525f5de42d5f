#include "agent/reconcile/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agent/base/text_file.h"

namespace agent {
namespace {

using nlohmann::json;
// Format 2 adds "announced" and is written only when the agent announces something, so an
// older agent, which cannot withdraw announce routes, refuses such a file instead of
// leaving the routes behind; format 1 otherwise.
// Format 3 adds "local_routes" (ranges) and a range's "len" in "announced", written only
// when the agent owns a range's route, for the same reason.
constexpr int kFormat = 1;
constexpr int kFormatAnnounced = 2;
constexpr int kFormatRanges = 3;
// Format 4 adds "tunnel_hooks" (the interfaces holding the agent's tc filters), written
// only while there are some: an older agent would not remove them.
constexpr int kFormatTunnel = 4;
// Format 5 adds "nat_rules" and "nat_routes" (the NAT reply path's), written only while
// there are some: an older agent would leave them behind.
constexpr int kFormatNat = 5;
// Format 6: the two-box marks' nftables table ("mark_table").
constexpr int kFormatMarks = 6;
constexpr int kNewestFormat = kFormatMarks;

netcfg::IpAddress address(const json& v) {
    auto ip = netcfg::IpAddress::parse(v.get<std::string>());
    if (!ip) throw std::runtime_error("bad address " + v.get<std::string>());
    return *ip;
}

bool hasRanges(const Owned& o) {
    return !o.localRoutes.empty() ||
           std::any_of(o.announced.begin(), o.announced.end(), [](const auto& a) { return a.second.len >= 0; });
}

std::string sysErr(const std::string& doing) { return doing + ": " + std::strerror(errno); }

json toJson(const Owned& o) {
    const int format = o.markTable                                  ? kFormatMarks
                       : !o.natRules.empty() || !o.natRoutes.empty() ? kFormatNat
                       : !o.tunnelHooks.empty() ? kFormatTunnel
                       : hasRanges(o)          ? kFormatRanges
                       : o.announced.empty()   ? kFormat
                                               : kFormatAnnounced;
    json j{{"format", format}, {"addresses", json::array()}, {"routes", json::array()},
           {"sysctl_originals", json::array()}};
    for (const auto& [vip, a] : o.announced) {
        j["announced"].push_back({{"vip", vip.str()}, {"table", a.table}, {"metric", a.metric}});
        if (a.len >= 0) j["announced"].back()["len"] = a.len;
    }
    for (const auto& [net, len] : o.localRoutes) j["local_routes"].push_back(net.cidr(len));
    for (const auto& [iface, created] : o.tunnelHooks) j["tunnel_hooks"].push_back({{"interface", iface}, {"created_clsact", created}});
    for (const auto& r : o.natRules)
        j["nat_rules"].push_back({{"from", r.src.str()}, {"ipproto", r.ipProto}, {"sport", r.sport}, {"table", r.table},
                                  {"priority", r.priority}});
    for (const auto& r : o.natRoutes)
        j["nat_routes"].push_back({{"via", r.gateway.str()}, {"ifindex", r.ifindex}, {"table", r.table}});
    if (o.markTable) j["mark_table"] = true;
    for (const auto& a : o.addresses) j["addresses"].push_back(a.str());
    for (const auto& r : o.routes) j["routes"].push_back(r.str());
    for (const auto& [k, v] : o.sysctlOriginals)
        j["sysctl_originals"].push_back({{"interface", k.iface}, {"key", k.name}, {"original", v}});
    return j;
}

Owned fromJson(const json& j) {
    const int format = j.is_object() ? j.value("format", 0) : 0;
    if (format < kFormat || format > kNewestFormat) throw std::runtime_error("unknown format");
    Owned o;
    auto addrs = [](const json& list, std::set<netcfg::IpAddress>& out) {
        for (const auto& s : list) {
            auto ip = netcfg::IpAddress::parse(s.get<std::string>());
            if (!ip) throw std::runtime_error("bad address " + s.get<std::string>());
            out.insert(*ip);
        }
    };
    addrs(j.at("addresses"), o.addresses);
    addrs(j.at("routes"), o.routes);
    for (const auto& e : j.at("sysctl_originals")) {
        sysctl::ConfKey key{.iface = e.at("interface").get<std::string>(), .name = e.at("key").get<std::string>()};
        if (!sysctl::isValidInterfaceName(key.iface)) throw std::runtime_error("bad interface " + key.iface);
        o.sysctlOriginals[key] = e.at("original").get<int>();
    }
    if (format >= kFormatAnnounced && j.contains("announced"))
        for (const auto& e : j.at("announced")) {
            auto ip = netcfg::IpAddress::parse(e.at("vip").get<std::string>());
            if (!ip) throw std::runtime_error("bad address " + e.at("vip").get<std::string>());
            const int len = e.value("len", -1);
            if (len < -1 || len > ip->hostPrefix()) throw std::runtime_error("bad length " + std::to_string(len));
            o.announced[*ip] = {.table = e.at("table").get<std::uint32_t>(), .metric = e.at("metric").get<std::uint32_t>(), .len = len};
        }
    if (format >= kFormatTunnel && j.contains("tunnel_hooks"))
        for (const auto& e : j.at("tunnel_hooks")) {
            const std::string iface = e.at("interface").get<std::string>();
            if (!sysctl::isValidInterfaceName(iface)) throw std::runtime_error("bad interface " + iface);
            o.tunnelHooks[iface] = e.at("created_clsact").get<bool>();
        }
    if (format >= kFormatNat && j.contains("nat_rules"))
        for (const auto& e : j.at("nat_rules")) {
            netcfg::Rule r{.src = address(e.at("from")), .ipProto = e.at("ipproto").get<int>(), .sport = e.at("sport").get<int>(),
                           .table = e.at("table").get<std::uint32_t>(), .priority = e.at("priority").get<std::uint32_t>(),
                           .protocol = netcfg::kRouteProtocol};
            if ((r.ipProto != 6 && r.ipProto != 17) || r.sport < 1 || r.sport > 65535 || r.table == 0)
                throw std::runtime_error("bad rule " + e.dump());
            o.natRules.insert(r);
        }
    if (format >= kFormatNat && j.contains("nat_routes"))
        for (const auto& e : j.at("nat_routes")) {
            netcfg::GatewayRoute r{.gateway = address(e.at("via")), .ifindex = e.at("ifindex").get<int>(),
                                   .table = e.at("table").get<std::uint32_t>(), .protocol = netcfg::kRouteProtocol};
            if (r.ifindex <= 0 || r.table == 0) throw std::runtime_error("bad route " + e.dump());
            o.natRoutes.insert(r);
        }
    if (format >= kFormatMarks && j.contains("mark_table")) o.markTable = j.at("mark_table").get<bool>();
    if (format >= kFormatRanges && j.contains("local_routes"))
        for (const auto& e : j.at("local_routes")) {
            const std::string text = e.get<std::string>();
            const auto slash = text.find('/');
            auto ip = netcfg::IpAddress::parse(text.substr(0, slash));
            if (!ip || slash == std::string::npos) throw std::runtime_error("bad prefix " + text);
            const int len = std::stoi(text.substr(slash + 1));
            if (len < 0 || len > ip->hostPrefix()) throw std::runtime_error("bad prefix " + text);
            o.localRoutes.insert({*ip, len});
        }
    return o;
}


}  // namespace

Owned unite(const Owned& a, const Owned& b) {
    Owned u = a;
    u.addresses.insert(b.addresses.begin(), b.addresses.end());
    u.routes.insert(b.routes.begin(), b.routes.end());
    for (const auto& [k, v] : b.sysctlOriginals) u.sysctlOriginals.emplace(k, v);  // a's original wins
    u.announced.insert(b.announced.begin(), b.announced.end());
    u.localRoutes.insert(b.localRoutes.begin(), b.localRoutes.end());
    for (const auto& [iface, created] : b.tunnelHooks) u.tunnelHooks[iface] = u.tunnelHooks[iface] || created;
    u.natRules.insert(b.natRules.begin(), b.natRules.end());
    u.natRoutes.insert(b.natRoutes.begin(), b.natRoutes.end());
    u.markTable = a.markTable || b.markTable;
    return u;
}

StateFile::StateFile(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::expected<Owned, std::string> StateFile::load() const {
    // 10,000 VIPs take about 0.5 MiB; anything far larger is not a file the agent wrote.
    auto text = readLimited(path().string(), {.maxBytes = std::size_t{64} << 20});
    if (!text) {
        if (text.error().err == ENOENT) return Owned{};
        return std::unexpected("reading " + path().string() + ": " + text.error().message);
    }
    try {
        if (firstNul(*text)) throw std::runtime_error("holds a NUL byte");
        const json j = json::parse(*text);
        // A downgrade across a format change: refused by name, never read as damage.
        if (j.is_object() && j.contains("format") && j["format"].is_number_integer() && j["format"].get<int>() > kNewestFormat)
            return std::unexpected(path().string() + " has format " + std::to_string(j["format"].get<int>()) +
                                   ", written by a newer lvs-rs-agent; this version reads format " + std::to_string(kNewestFormat) +
                                   ": run `lvs-rs-agent stop` with the newer version before downgrading, or upgrade again");
        return fromJson(j);
    } catch (const std::exception& e) {
        return std::unexpected(path().string() + " is damaged (" + e.what() +
                               "); it lists what the agent added: inspect it, then move it aside");
    }
}

std::expected<bool, std::string> StateFile::discardTornWrite() const {
    const auto tmp = dir_ / "state.json.tmp";
    if (::unlink(tmp.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    return std::unexpected(sysErr("removing " + tmp.string()));
}

std::expected<void, std::string> StateFile::save(const Owned& owned) const {
    if (owned.empty()) {
        if (::unlink(path().c_str()) != 0 && errno != ENOENT) return std::unexpected(sysErr("removing " + path().string()));
        syncPath(dir_.string(), true);
        return {};
    }
    // state.json.tmp: the torn write discardTornWrite() looks for.
    return writeAtomically(path().string(), toJson(owned).dump(2) + "\n", 0600);
}

std::expected<void, std::string> ensureStateDir(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) return std::unexpected(sysErr("state dir " + dir.string()));
        if (!S_ISDIR(st.st_mode)) return std::unexpected("state dir " + dir.string() + " is not a directory");
        return {};
    }
    return std::unexpected(sysErr("creating state dir " + dir.string()));
}

}  // namespace agent
