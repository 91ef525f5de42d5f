// Reading what doctor diagnoses: the kernel through rtnetlink and /proc, the files that
// would set things back or fight the agent under a system root.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "agent/tools/doctor.h"

#include <nlohmann/json.hpp>

#include "netcfg/nftables.h"

namespace agent {
namespace {

// /proc tables may be large on a busy host; files under /etc are small.
std::string slurp(const std::filesystem::path& p, std::size_t maxBytes = std::size_t{1} << 20) {
    return readLimited(p.string(), {.maxBytes = maxBytes}).value_or("");
}
constexpr std::size_t kProcTableBytes = std::size_t{64} << 20;

void collect(const std::filesystem::path& p, std::vector<TextFile>& out, const std::filesystem::path& sysroot) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec))
        out.push_back({.path = "/" + std::filesystem::relative(p, sysroot, ec).string(), .content = slurp(p)});
}

void collectDir(const std::filesystem::path& dir, std::vector<TextFile>& out, const std::filesystem::path& sysroot,
                const std::string& prefix = "", const std::string& suffix = "") {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        if (!suffix.empty() && (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0))
            continue;
        files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) collect(f, out, sysroot);
}

netcfg::IpAddress fromHex(const std::string& hex, bool v6, bool littleEndianWords) {
    netcfg::IpAddress ip;
    ip.family = v6 ? AF_INET6 : AF_INET;
    const std::size_t n = v6 ? 16 : 4;
    if (hex.size() != n * 2) return {};
    for (std::size_t i = 0; i < n; ++i) ip.bytes[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
    if (littleEndianWords)
        for (std::size_t w = 0; w < n; w += 4) std::reverse(ip.bytes.begin() + w, ip.bytes.begin() + w + 4);
    return ip;
}

}  // namespace

std::vector<Listener> parseProcNetTcp(const std::string& text, bool v6) {
    std::vector<Listener> out;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, state;
        if (!(f >> sl >> local >> remote >> state) || state != "0A") continue;  // 0A: LISTEN
        const auto colon = local.find(':');
        if (colon == std::string::npos) continue;
        auto ip = fromHex(local.substr(0, colon), v6, true);
        if (ip.family == 0) continue;
        out.push_back({.address = ip, .port = static_cast<int>(std::stoul(local.substr(colon + 1), nullptr, 16))});
    }
    return out;
}

std::vector<IpvsService> parseIpvsServices(const std::string& text) {
    auto hexNumber = [](const std::string& h, std::uint32_t& v) {
        if (h.empty() || h.size() > 8 || !std::all_of(h.begin(), h.end(), [](unsigned char c) { return std::isxdigit(c); })) return false;
        v = static_cast<std::uint32_t>(std::stoul(h, nullptr, 16));
        return true;
    };
    std::vector<IpvsService> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string proto, addr;
        if (!(f >> proto >> addr)) continue;
        IpvsService s{.protocol = proto};
        if (proto == "FWM") {
            if (hexNumber(addr, s.fwmark) && s.fwmark != 0) out.push_back(std::move(s));
            continue;
        }
        if (proto != "TCP" && proto != "UDP" && proto != "SCTP") continue;
        const auto colon = addr.rfind(':');
        std::uint32_t port = 0;
        if (colon == std::string::npos || !hexNumber(addr.substr(colon + 1), port) || port > 65535) continue;
        s.port = static_cast<int>(port);
        const std::string host = addr.substr(0, colon);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
            if (auto ip = netcfg::IpAddress::parse(host.substr(1, host.size() - 2))) s.address = *ip;
        } else if (std::uint32_t v = 0; host.size() == 8 && hexNumber(host, v)) {
            s.address = fromHex(host, false, false);
        }
        if (s.address.family != 0) out.push_back(std::move(s));
    }
    return out;
}

std::vector<netcfg::IpAddress> parseIpvsVirtualAddresses(const std::string& text) {
    std::vector<netcfg::IpAddress> out;
    for (const auto& s : parseIpvsServices(text))
        if (s.fwmark == 0) out.push_back(s.address);
    return out;
}

std::vector<std::string> parseDefaultGateways(const std::string& procNetRoute) {
    std::vector<std::string> out;
    std::istringstream in(procNetRoute);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string iface, dst, gw, flags, refcnt, use, metric, mask;
        if (!(f >> iface >> dst >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
        if (dst != "00000000" || mask != "00000000" || gw == "00000000") continue;
        auto ip = fromHex(gw, false, true);
        if (ip.family != 0) out.push_back(ip.str());
    }
    return out;
}

std::vector<std::string> parseNatChains(const std::string& nftJson) {
    std::vector<std::string> out;
    const auto doc = nlohmann::json::parse(nftJson, nullptr, false);
    if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) return out;
    for (const auto& e : doc["nftables"]) {
        if (!e.is_object() || !e.contains("chain") || !e["chain"].is_object()) continue;
        const auto& c = e["chain"];
        if (c.value("type", "") != "nat") continue;
        out.push_back(c.value("family", "?") + " " + c.value("table", "?") + " " + c.value("name", "?") + " (" + c.value("hook", "?") + ")");
    }
    return out;
}

namespace {

// The NAT chains nftables holds (iptables-nft's included), asked through libnftables, the
// library nft itself is built on: JSON out, parsed above.
std::expected<std::vector<std::string>, std::string> natChains() {
    auto nft = netcfg::Nftables::open();
    if (!nft) return std::unexpected(nft.error());
    auto listing = nft->run("list chains", true);
    if (!listing) return std::unexpected(listing.error());
    return parseNatChains(*listing);
}

}  // namespace

std::expected<DoctorInput, std::string> gatherDoctorInput(const Config& cfg, netcfg::Netlink& nl,
                                                          const sysctl::SysctlTree& tree,
                                                          const std::filesystem::path& sysroot) {
    DoctorInput in;
    in.config = cfg;
    auto kernel = nl.dump({.announce = cfg.announce.table, .ranges = cfg.hasRanges()});
    if (!kernel) return std::unexpected(kernel.error().message);
    in.kernel = std::move(*kernel);
    std::vector<std::string> ifaces{"all"};
    for (const auto& l : in.kernel.links)
        if (l.up || l.loopback) ifaces.push_back(l.name);
    for (const auto& i : ifaces)
        for (const char* k : {"arp_ignore", "arp_announce", "rp_filter"})
            if (auto v = tree.read({.iface = i, .name = k})) in.sysctls[i][k] = *v;
    in.listeners = parseProcNetTcp(slurp("/proc/net/tcp", kProcTableBytes), false);
    auto v6 = parseProcNetTcp(slurp("/proc/net/tcp6", kProcTableBytes), true);
    in.listeners.insert(in.listeners.end(), v6.begin(), v6.end());
    in.ipvs = slurp("/proc/net/ip_vs", kProcTableBytes);
    in.defaultGateways = parseDefaultGateways(slurp("/proc/net/route", kProcTableBytes));
    const Desired desired = desiredFrom(cfg);
    Observed o;
    if (cfg.colocated.enabled() || cfg.nat.enabled()) o.kernel = KernelView(in.kernel);
    if (cfg.colocated.enabled()) {
        // Read only: the table as it is, the peers' MACs as the neighbour table has them.
        auto marks = netcfg::openKernelMarks();
        o.marks = observeMarks(nl, marks ? marks->get() : nullptr, o.kernel, desired, Owned{});
        if (!marks) o.marks.error = marks.error();
        in.colocated = colocatedReport(desired, o);
    }
    if (cfg.nat.enabled()) {
        o.natPaths = lookupNatPaths(nl, o.kernel, desired);
        in.natPorts = natPorts(desired, o);
        for (const auto& d : cfg.nat.directors) {
            if (auto st = lookAtDirector(nl, o.kernel, d)) in.natDirectors.push_back(std::move(*st));
            const auto rip = o.kernel.addressFacing(d);
            const auto client = clientProbe(o.kernel, d.family);
            if (rip && client)  // no port: what the host's own traffic (and rp_filter) sees
                if (auto a = nl.lookup(rip->address, *client, IPPROTO_TCP, 0)) in.natClientOif[d.family] = a->oif;
        }
        if (auto c = natChains()) in.natChains = std::move(*c);
        else in.natChainsError = c.error();
        const std::string legacy = slurp("/proc/net/ip_tables_names", kProcTableBytes);
        std::istringstream names(legacy);
        for (std::string t; std::getline(names, t);)
            if (t == "nat") in.natChains.push_back("iptables-legacy nat table");
    }
    collect(sysroot / "etc/sysctl.conf", in.sysctlFiles, sysroot);
    for (const char* d : {"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d"})
        collectDir(sysroot / d, in.sysctlFiles, sysroot, "", ".conf");
    collect(sysroot / "etc/network/interfaces", in.networkFiles, sysroot);
    collectDir(sysroot / "etc/network/interfaces.d", in.networkFiles, sysroot);
    collectDir(sysroot / "etc/sysconfig/network-scripts", in.networkFiles, sysroot, "ifcfg-lo");
    collectDir(sysroot / "etc/NetworkManager/system-connections", in.networkFiles, sysroot);
    // systemd-networkd: the later directories override files of the same name, as networkd reads them
    for (const char* d : {"lib/systemd/network", "usr/lib/systemd/network", "run/systemd/network", "etc/systemd/network"}) {
        collectDir(sysroot / d, in.networkdFiles, sysroot, "", ".network");
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(sysroot / d, ec))
            if (e.path().extension() == ".d" && e.path().stem().extension() == ".network")
                collectDir(e.path(), in.networkdFiles, sysroot, "", ".conf");
    }
    // systemd's version, from the name of its shared library (libsystemd-shared-252.so)
    for (const char* d : {"usr/lib/systemd", "lib/systemd", "usr/lib64/systemd", "usr/lib/x86_64-linux-gnu/systemd",
                          "usr/lib/aarch64-linux-gnu/systemd"}) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(sysroot / d, ec)) {
            const std::string name = e.path().filename().string();
            if (name.rfind("libsystemd-shared-", 0) != 0) continue;
            int v = 0;
            std::size_t i = 18;
            for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && v < 100000; ++i) v = v * 10 + (name[i] - '0');
            if (i > 18) in.systemdVersion = v;
        }
        if (in.systemdVersion) break;
    }
    collect(sysroot / "etc/systemd/networkd.conf", in.networkdConf, sysroot);
    for (const char* d : {"usr/lib/systemd/networkd.conf.d", "run/systemd/networkd.conf.d", "etc/systemd/networkd.conf.d"})
        collectDir(sysroot / d, in.networkdConf, sysroot, "", ".conf");
    collect(sysroot / "etc/NetworkManager/NetworkManager.conf", in.nmConf, sysroot);
    for (const char* d : {"usr/lib/NetworkManager/conf.d", "run/NetworkManager/conf.d", "etc/NetworkManager/conf.d"})
        collectDir(sysroot / d, in.nmConf, sysroot, "", ".conf");
    collectDir(sysroot / "etc/netplan", in.netplanFiles, sysroot, "", ".yaml");
    if (cfg.tunnel.enabled()) {
        // Read only: the running program is taken up to read its counters, none is loaded.
        auto driver = tunnel::makeKernelTunnelDriver();
        std::vector<std::pair<std::string, int>> present;
        for (const auto& name : cfg.tunnel.interfaces)
            for (const auto& l : in.kernel.links)
                if (l.name == name) present.emplace_back(name, l.ifindex);
        std::vector<int> ifindexes;
        for (const auto& [name, index] : present) ifindexes.push_back(index);
        if (auto p = driver->prepare(ifindexes, false); !p) in.tunnelError = p.error();
        for (const auto& [name, index] : present) {
            auto h = driver->hook(index);
            if (h) in.tunnelHooks[name] = *h;
            else in.tunnelError = h.error();
        }
        if (driver->prepared()) in.tunnelDrops = driver->stats().drops;
    }
    std::error_code ec;
    for (const char* w : {"etc/systemd/system/multi-user.target.wants", "etc/systemd/system/network-online.target.wants",
                          "etc/systemd/system/sockets.target.wants"}) {
        in.networkdEnabled = in.networkdEnabled || std::filesystem::exists(sysroot / w / "systemd-networkd.service", ec) ||
                             std::filesystem::exists(sysroot / w / "systemd-networkd.socket", ec);
        in.nmEnabled = in.nmEnabled || std::filesystem::exists(sysroot / w / "NetworkManager.service", ec);
    }
    return in;
}

}  // namespace agent
