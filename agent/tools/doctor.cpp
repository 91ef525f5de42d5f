#include "agent/tools/doctor.h"

#include <fnmatch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "agent/reconcile/plan.h"
#include "agent/tools/ini.h"

namespace agent {
namespace {

using V = DoctorCheck::Verdict;

void add(std::vector<DoctorCheck>& out, const std::string& check, V v, std::string what, std::string fix = "") {
    out.push_back({.check = check, .verdict = v, .what = std::move(what), .fix = std::move(fix)});
}

int sysctlOf(const DoctorInput& in, const std::string& iface, const std::string& key) {
    auto i = in.sysctls.find(iface);
    if (i == in.sysctls.end()) return 0;
    auto k = i->second.find(key);
    return k == i->second.end() ? 0 : k->second;
}

// The planner's findings on each VIP (the address, a real interface that has it too), and
// what only doctor looks for: the VIP on lo with a wider prefix.
void checkVips(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    const Desired desired = desiredFrom(in.config);
    const Observed observed{.kernel = KernelView(in.kernel), .tunnel = {}, .sysctls = {}, .sysctlErrors = {}};
    std::set<Subject> vips;
    for (const auto& v : in.config.vips) vips.insert(Subject::address(v.address));
    const Plan p = plan(desired, observed, Owned{}, &vips);
    for (const auto& entry : in.config.vips) {
        const netcfg::IpAddress& vip = entry.address;
        std::optional<int> widerOnLo;
        for (const auto& a : observed.kernel.addressesOf(vip))
            if (a.ifindex == observed.kernel.loIndex() && a.prefixlen != vip.hostPrefix()) widerOnLo = a.prefixlen;
        auto about = [&](FindingKind k) {
            return std::find_if(p.findings.begin(), p.findings.end(),
                                [&](const Finding& f) { return f.subject == Subject::address(vip) && f.kind == k; }) != p.findings.end();
        };
        if (const int len = entry.prefixLen; len >= 0) {
            const std::string range = vip.cidr(len);
            if (about(FindingKind::LocalRouteMissing))
                add(out, "range-local-route", V::Fail, "local route " + range + " dev lo is missing from table local: this server drops the range's traffic",
                    "lvs-rs-agent start (or run the service)");
            else
                add(out, "range-local-route", V::Ok, "local route " + range + " dev lo is in table local");
            for (const auto& f : p.findings)
                if (f.subject == Subject::address(vip) && isConflict(f.kind))
                    add(out, "range-conflict", V::Fail, describe(f), "narrow the range in the configuration");
            continue;
        }
        // A .0 or .255 VIP is a host in a /23 or wider; it is not where it is the network or
        // broadcast address of a subnet on this host (the kernel takes packets to it as broadcast).
        if (vip.isV4())
            for (const auto& a : in.kernel.addresses) {
                if (!a.address.isV4() || a.prefixlen > 30 || a.ifindex == observed.kernel.loIndex()) continue;
                std::uint32_t net = 0, addr = 0;
                for (int i = 0; i < 4; ++i) {
                    net = (net << 8) | a.address.bytes[static_cast<std::size_t>(i)];
                    addr = (addr << 8) | vip.bytes[static_cast<std::size_t>(i)];
                }
                const std::uint32_t mask = a.prefixlen == 0 ? 0 : ~std::uint32_t{0} << (32 - a.prefixlen);
                if ((net & mask) != (addr & mask) || ((addr & ~mask) != 0 && (addr & ~mask) != ~mask)) continue;
                add(out, "vip-subnet", V::Fail,
                    vip.str() + " is the " + ((addr & ~mask) == 0 ? "network" : "broadcast") + " address of " +
                        observed.kernel.linkName(a.ifindex) + "'s subnet " + a.address.str() + "/" + std::to_string(a.prefixlen) +
                        ": this host takes packets to it as broadcast",
                    "choose a VIP that is a host address of that subnet (or outside it)");
            }
        if (widerOnLo)
            add(out, "vip-on-lo", V::Fail,
                vip.str() + " is bound on lo as /" + std::to_string(*widerOnLo) + ": lo then claims the whole subnet",
                "ip addr del " + vip.str() + "/" + std::to_string(*widerOnLo) + " dev lo; lvs-rs-agent start");
        else if (about(FindingKind::AddressMissing))
            add(out, "vip-on-lo", V::Fail, vip.hostCidr() + " is not bound on lo: this server drops the traffic the director sends",
                "lvs-rs-agent start (or run the service)");
        else
            add(out, "vip-on-lo", V::Ok, vip.hostCidr() + " is bound on lo");
        for (const auto& f : p.findings)
            if (f.subject == Subject::address(vip) && f.kind == FindingKind::OnRealInterface)
                add(out, "vip-on-real-interface", V::Fail, describe(f),
                    "ip addr del " + vip.str() + " dev " + f.other + " (the VIP belongs on lo only)");
    }
}

void checkArp(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    const int wantIgnore = in.config.arp.ignore, wantAnnounce = in.config.arp.announce;
    for (const auto& l : in.kernel.links) {
        if (!l.up || l.loopback) continue;
        const int ig = sysctl::effective(sysctlOf(in, "all", "arp_ignore"), sysctlOf(in, l.name, "arp_ignore"));
        const int an = sysctl::effective(sysctlOf(in, "all", "arp_announce"), sysctlOf(in, l.name, "arp_announce"));
        const std::string values = "effective arp_ignore " + std::to_string(ig) + ", arp_announce " + std::to_string(an) +
                                   " (max of all and " + l.name + ")";
        if (ig < wantIgnore || an < wantAnnounce)
            add(out, "arp-effective", V::Fail,
                l.name + ": " + values + ": " + (ig < wantIgnore ? "it answers ARP for the VIP" : "it announces the VIP as ARP source"),
                "lvs-rs-agent start (sets net.ipv4.conf.all.arp_ignore=" + std::to_string(wantIgnore) + ", arp_announce=" +
                    std::to_string(wantAnnounce) + ")");
        else
            add(out, "arp-effective", V::Ok, l.name + ": " + values);
    }
}

void checkSysctlFiles(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    static const std::regex line(R"(^\s*-?\s*net[./]ipv4[./]conf[./]([^./\s=]+)[./](arp_ignore|arp_announce)\s*=\s*(-?\d+)\s*$)");
    bool any = false;
    for (const auto& f : in.sysctlFiles) {
        std::istringstream text(f.content);
        std::string l;
        for (int n = 1; std::getline(text, l); ++n) {
            std::smatch m;
            if (!std::regex_match(l, m, line)) continue;
            const std::string iface = m[1], key = m[2];
            const int value = boundedNumber(m[3].str()).value_or(0);
            const int want = key == "arp_ignore" ? in.config.arp.ignore : in.config.arp.announce;
            if (value >= want || iface == "default") continue;
            any = true;
            add(out, "sysctl-files", V::Warn,
                f.path + ":" + std::to_string(n) + " sets net.ipv4.conf." + iface + "." + key + " = " + std::to_string(value) +
                    ": the next `sysctl --system` (or boot) sets it back",
                "edit " + f.path + " line " + std::to_string(n) + " to " + std::to_string(want) + ", or remove the line");
        }
    }
    if (!any) add(out, "sysctl-files", V::Ok, "no sysctl file lowers arp_ignore or arp_announce");
}

void checkServices(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    for (const auto& s : in.config.services) {
        bool onVip = false;
        std::vector<std::string> elsewhere;
        for (const auto& l : in.listeners) {
            if (l.port != s.port) continue;
            const bool wildcard = std::all_of(l.address.bytes.begin(), l.address.bytes.begin() + l.address.size(),
                                              [](auto b) { return b == 0; });
            // A wildcard of the same family, or [::] (which also takes IPv4 unless v6only).
            if (l.address == s.vip || (wildcard && (l.address.family == s.vip.family || !l.address.isV4())))
                onVip = true;
            else
                elsewhere.push_back(l.address.str());
        }
        const std::string where = netcfg::bracketed(s.vip);
        if (onVip)
            add(out, "service-listening", V::Ok, "something listens on " + where + ":" + std::to_string(s.port));
        else if (!elsewhere.empty())
            add(out, "service-listening", V::Fail,
                "port " + std::to_string(s.port) + " listens only on " + elsewhere.front() +
                    ", not on the VIP: DR cannot rewrite addresses or ports, so the service never sees the traffic",
                "bind the service to " + where + ":" + std::to_string(s.port) + " or to the wildcard address");
        else
            add(out, "service-listening", V::Fail, "nothing listens on " + where + ":" + std::to_string(s.port),
                "start the service on port " + std::to_string(s.port));
    }
}

void checkRpFilter(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    // Strict rp_filter drops a packet that arrives on an interface other than the one the
    // route back to its source uses: only possible with more than one interface up.
    int upInterfaces = 0;
    for (const auto& l : in.kernel.links) upInterfaces += l.up && !l.loopback;
    bool any = false;
    for (const auto& l : in.kernel.links) {
        if (!l.up || l.loopback) continue;
        const int rp = sysctl::effective(sysctlOf(in, "all", "rp_filter"), sysctlOf(in, l.name, "rp_filter"));
        if (rp == 1 && upInterfaces > 1) {
            any = true;
            add(out, "rp-filter", V::Warn,
                l.name + " has strict rp_filter (1): with several interfaces, VIP traffic arriving on one whose route back "
                         "to the client is another is dropped",
                "sysctl net.ipv4.conf." + l.name + ".rp_filter=2 (loose) and net.ipv4.conf.all.rp_filter=2");
        }
    }
    if (!any) add(out, "rp-filter", V::Ok, "rp_filter does not drop VIP traffic here");
}

void checkIpvs(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    if (in.config.colocated.enabled()) return;  // a two-box node is a director by design: checkColocated
    const auto virtuals = parseIpvsVirtualAddresses(in.ipvs);
    bool any = false;
    for (const auto& vip : in.config.addresses())
        if (std::find(virtuals.begin(), virtuals.end(), vip) != virtuals.end()) {
            any = true;
            add(out, "ipvs-director", V::Fail,
                vip.str() + " is also an IPVS virtual service on this host: director and real server on one box "
                            "loop packets between each other",
                "make it a two-box cluster: \"colocated\" in the configuration (the agent marks the packets) and fwmark virtual services (lvs-rs-agent director-config); or remove the service");
        }
    if (!any) add(out, "ipvs-director", V::Ok, "this host is not an IPVS director for its VIPs");
}

void checkDefaultRoute(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    if (!in.config.director) return;
    const std::string d = in.config.director->str();
    if (std::find(in.defaultGateways.begin(), in.defaultGateways.end(), d) != in.defaultGateways.end())
        add(out, "default-route", V::Fail,
            "the default route points at the director " + d + ": DR replies must go to the clients directly, not back through it",
            "route replies through the real gateway (ip route replace default via ROUTER)");
    else
        add(out, "default-route", V::Ok, "the default route does not point at the director " + d);
}

// The tunnel-mode real server: the interfaces, the decapsulation on each, the MSS against
// their MTU, and what the running program dropped (each reason points at a fix).
void checkTunnel(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    const TunnelConfig& t = in.config.tunnel;
    if (!t.enabled()) return;
    for (const auto& name : t.interfaces) {
        const netcfg::Link* link = nullptr;
        for (const auto& l : in.kernel.links)
            if (l.name == name) link = &l;
        if (!link) {
            add(out, "tunnel-interface", V::Fail, name + " (tunnel.interfaces) does not exist: nothing is decapsulated there",
                "name the interface the director's tunnel packets arrive on");
            continue;
        }
        if (!link->up)
            add(out, "tunnel-interface", V::Fail, name + " is down: tunnel packets cannot arrive", "ip link set " + name + " up");
        else
            add(out, "tunnel-interface", V::Ok, name + " is up");
        const auto h = in.tunnelHooks.find(name);
        if (h == in.tunnelHooks.end())
            add(out, "tunnel-decap", V::Fail, "the hooks of " + name + " could not be read: " + in.tunnelError, "run doctor as root");
        else if (h->second.attached())
            add(out, "tunnel-decap", V::Ok, "lvs_decap (ingress) and lvs_mss (egress) are attached to " + name);
        else
            add(out, "tunnel-decap", V::Fail,
                std::string("the decapsulation is not attached to ") + name + " (" + (h->second.ingress ? "" : "lvs_decap missing") +
                    (!h->second.ingress && !h->second.egress ? ", " : "") + (h->second.egress ? "" : "lvs_mss missing") +
                    "): tunnel packets for the VIPs are dropped by the stack",
                "start the agent (systemctl start lvs-rs-agent); `lvs-rs-agent status` says what stops it");
        if (t.mss > 0) {
            const int limit = tunnelMss(t, link->mtu);
            if (t.mss > limit)
                add(out, "tunnel-mss", V::Warn,
                    "tunnel.mss " + std::to_string(t.mss) + " does not fit " + name + "'s MTU " + std::to_string(link->mtu ? link->mtu : 1500) +
                        " once encapsulated: clients' full-size segments get fragmented or dropped on the way",
                    "set tunnel.mss to " + std::to_string(limit) + " or less, or leave it out (derived from the MTU)");
            else
                add(out, "tunnel-mss", V::Ok, "tunnel.mss " + std::to_string(t.mss) + " fits " + name + "'s MTU once encapsulated");
        }
    }
    if (!in.tunnelDrops) return;
    struct Reason {
        tunnel::TunnelDrop drop;
        const char* what;
        const char* fix;
    };
    static const Reason reasons[] = {
        {tunnel::TunnelDrop::NotDirector, "from an outer source not in tunnel.directors",
         "if a director sends them, add its address (the tunnel's outer source) to tunnel.directors"},
        {tunnel::TunnelDrop::NotVip, "for an inner destination that is not a VIP here",
         "make the director's virtual services and this server's VIPs match (director-config prints them)"},
        {tunnel::TunnelDrop::GueHeader, "with a GUE header not taken (options such as remcsum, or a control message)",
         "send GUE without remote checksum offload: ipvsadm --tun-nocsum or --tun-csum, not --tun-remcsum"},
        {tunnel::TunnelDrop::Fragment, "fragmented after encapsulation", "lower tunnel.mss, or raise the MTU between director and real server"},
        {tunnel::TunnelDrop::Family, "with inner and outer families that differ (IPv6 in IPv4 or the reverse)",
         "tunnel IPv4 VIPs to this server's IPv4 address and IPv6 VIPs to its IPv6 one"},
        {tunnel::TunnelDrop::Malformed, "whose lengths do not add up", "capture them on the interface: a director or a middlebox mangles them"},
        {tunnel::TunnelDrop::Decap, "that the kernel refused to decapsulate", "check the kernel log"},
    };
    bool any = false;
    for (const auto& r : reasons) {
        const auto n = (*in.tunnelDrops)[static_cast<std::size_t>(r.drop)];
        if (n == 0) continue;
        any = true;
        add(out, "tunnel-drops", V::Warn, std::to_string(n) + " tunnel packet(s) dropped (" + tunnel::name(r.drop) + ") " + r.what, r.fix);
    }
    if (!any) add(out, "tunnel-drops", V::Ok, "no tunnel packet dropped since the program was loaded");
}

void checkLoManagers(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    static const std::regex ifupdown(R"(^\s*(auto|iface|allow-hotplug)\s+lo:\S*)");
    static const std::regex nm(R"(^\s*interface-name\s*=\s*lo\s*$)");
    bool any = false;
    for (const auto& f : in.networkFiles) {
        const bool ifcfg = f.path.find("/ifcfg-lo:") != std::string::npos;
        if (ifcfg) {
            any = true;
            add(out, "lo-managers", V::Warn, f.path + " configures a lo alias that the network scripts manage too",
                "remove " + f.path + " once the agent runs (lvs-rs-agent import shows the equivalent configuration)");
            continue;
        }
        std::istringstream text(f.content);
        std::string l;
        for (int n = 1; std::getline(text, l); ++n) {
            const bool isNm = f.path.find("NetworkManager") != std::string::npos;
            if ((!isNm && std::regex_search(l, ifupdown)) || (isNm && std::regex_search(l, nm))) {
                any = true;
                add(out, "lo-managers", V::Warn,
                    f.path + ":" + std::to_string(n) + (isNm ? " lets NetworkManager manage lo" : " defines a lo alias") +
                        ", which will fight the agent",
                    "remove it (and `ifdown`/`nmcli` it) once the agent runs");
                break;
            }
        }
    }
    if (!any) add(out, "lo-managers", V::Ok, "no ifupdown, ifcfg or NetworkManager configuration manages lo aliases");
}

// Whether a networkd [Match] Name= list (shell globs, "!" negates all) matches "lo". A
// .network without Name= (and with no other match) matches every link.
bool networkMatchesLo(const std::vector<IniLine>& lines) {
    bool anyMatch = false, named = false, lo = false;
    for (const auto& l : lines) {
        if (l.section != "Match") continue;
        anyMatch = true;
        if (l.key != "Name") continue;
        named = true;
        std::istringstream words(l.value);
        std::string w;
        bool negate = false;
        std::vector<std::string> globs;
        while (words >> w) {
            if (w[0] == '!') {
                negate = true;
                w = w.substr(1);
            }
            if (!w.empty()) globs.push_back(w);
        }
        const bool hit = std::any_of(globs.begin(), globs.end(), [](const std::string& g) { return ::fnmatch(g.c_str(), "lo", 0) == 0; });
        lo = negate ? !hit : hit;
    }
    return named ? lo : !anyMatch;
}

// The first systemd-networkd seen to leave foreign addresses and routes on loopback alone
// (start, restart, reload, reconfigure; tests/boot/boot.sh on Debian 12's 252). Older ones
// dropped them (systemd#12050), so the warnings below stand for them, and when the version
// cannot be told.
constexpr int kNetworkdSparesLo = 252;

void checkNetworkManagers(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    const std::string share = "/usr/share/lvs-rs-agent";
    bool any = false;
    const bool sparesLo = in.systemdVersion && *in.systemdVersion >= kNetworkdSparesLo;
    const std::string version = in.systemdVersion ? "systemd-networkd " + std::to_string(*in.systemdVersion) : "systemd-networkd (version unknown)";
    // systemd-networkd managing lo drops the addresses and routes it did not configure
    std::map<std::string, bool> keeps;  // .network path -> KeepConfiguration=static|yes in it or its drop-ins
    std::vector<std::string> matching;  // .network files that match lo
    for (const auto& f : in.networkdFiles) {
        const auto lines = iniLines(f.content);
        const bool dropIn = f.path.find(".network.d/") != std::string::npos;
        const std::string owner = dropIn ? f.path.substr(0, f.path.find(".network.d/") + 8) : f.path;
        for (const auto& l : lines)
            if (l.section == "Network" && l.key == "KeepConfiguration" && (l.value == "static" || l.value == "yes" || l.value == "true"))
                keeps[std::filesystem::path(owner).filename().string()] = true;
        if (!dropIn && networkMatchesLo(lines)) matching.push_back(f.path);
    }
    for (const auto& path : matching) {
        const std::string name = std::filesystem::path(path).filename().string();
        if (keeps[name]) continue;
        any = true;
        const std::string fix = "install " + share + "/networkd-keep-configuration.conf as /etc/systemd/network/" + name +
                                ".d/lvs-rs-agent.conf, then networkctl reload";
        if (sparesLo)
            add(out, "network-managers", V::Ok,
                path + " makes " + version + " manage lo without KeepConfiguration=static; this version leaves the addresses and routes on lo it did not configure alone (older ones remove them); to be independent of the version: " + fix);
        else
            add(out, "network-managers", V::Warn,
                path + " makes " + version + " manage lo without KeepConfiguration=static: versions before " + std::to_string(kNetworkdSparesLo) +
                    " remove the addresses on lo they did not configure when they (re)configure it, the VIPs among them, and the agent has to fight them",
                fix);
    }
    if (!sparesLo && (in.networkdEnabled || !in.networkdFiles.empty())) {
        std::string manage = "yes";
        std::string where;
        for (const auto& f : in.networkdConf)
            for (const auto& l : iniLines(f.content))
                if (l.section == "Network" && l.key == "ManageForeignRoutes") {
                    manage = l.value;
                    where = f.path + ":" + std::to_string(l.line);
                }
        if (manage != "no" && manage != "false" && manage != "0") {
            any = true;
            add(out, "network-managers", V::Warn,
                version + " is in use with ManageForeignRoutes=" + manage + (where.empty() ? " (the default)" : " (" + where + ")") +
                    ": versions before " + std::to_string(kNetworkdSparesLo) + " may remove routes they did not configure when they start, the agent's host routes among them",
                "install " + share + "/networkd.conf.d/lvs-rs-agent.conf as /etc/systemd/networkd.conf.d/lvs-rs-agent.conf, then restart systemd-networkd");
        }
    }
    // NetworkManager (1.42 and later manages lo too) unless lo is unmanaged
    if (in.nmEnabled || !in.nmConf.empty()) {
        bool unmanaged = false;
        for (const auto& f : in.nmConf)
            for (const auto& l : iniLines(f.content))
                if (l.section == "keyfile" && l.key == "unmanaged-devices")
                    unmanaged = l.value.find("interface-name:lo") != std::string::npos || l.value.find("interface-name:=lo") != std::string::npos;
        if (!unmanaged) {
            any = true;
            add(out, "network-managers", V::Warn,
                "NetworkManager is in use and lo is not among its unmanaged-devices: a NetworkManager that manages lo removes addresses it did not configure",
                "install " + share + "/NetworkManager/conf.d/lvs-rs-agent.conf as /etc/NetworkManager/conf.d/99-lvs-rs-agent.conf, then nmcli general reload");
        }
    }
    // netplan renders lo for networkd or NetworkManager when it names it
    static const std::regex netplanLo(R"(^\s+lo:\s*$)");
    for (const auto& f : in.netplanFiles) {
        std::istringstream text(f.content);
        std::string l;
        for (int n = 1; std::getline(text, l); ++n)
            if (std::regex_search(l, netplanLo)) {
                any = true;
                add(out, "network-managers", V::Warn,
                    f.path + ":" + std::to_string(n) + " has netplan configure lo, so its renderer (networkd or NetworkManager) manages lo and removes the VIPs",
                    "leave lo out of netplan (the agent binds the VIPs); if it must stay, apply the networkd or NetworkManager snippet from " + share);
                break;
            }
    }
    if (!any) add(out, "network-managers", V::Ok, "no systemd-networkd, NetworkManager or netplan configuration would remove the agent's addresses or routes");
}

// The text's column (FAIL in capitals, so it stands out) and JSON's value.
const char* verdictWord(V v) { return v == V::Ok ? "ok  " : v == V::Warn ? "warn" : "FAIL"; }
const char* verdictName(V v) { return v == V::Ok ? "ok" : v == V::Warn ? "warn" : "fail"; }

// The NAT-mode real server: each director answering, each port's replies via it, strict
// rp_filter against the route back to the clients, a default route via the director (the
// rules then redundant: fine), NAT rules here that would rewrite the replies.
void checkNat(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    const NatConfig& n = in.config.nat;
    if (!n.enabled()) return;
    for (const auto& d : in.natDirectors) {
        const std::string who = "the NAT director " + d.director.str() + (d.iface.empty() ? "" : " on " + d.iface);
        if (d.reachable())
            add(out, "nat-director", V::Ok, who + " answers (MAC " + d.mac + ")");
        else if (d.reach == DirectorStatus::Reach::Unreachable)
            add(out, "nat-director", V::Fail, who + " does not answer: " + d.why,
                "check that the director is up and holds " + d.director.str() + " (in a VRRP pair: the floating DIP)");
        else
            add(out, "nat-director", V::Warn, who + ": " + d.why, "the running agent keeps it resolved and verified (lvs-rs-agent run)");
    }
    for (const auto& d : n.directors)
        if (std::none_of(in.natDirectors.begin(), in.natDirectors.end(), [&](const DirectorStatus& s) { return s.director == d; }))
            add(out, "nat-director", V::Fail, "no address of this host is on the NAT director " + d.str() + "'s subnet",
                "give this server an address on the director's network (its RIP), or fix nat.director");
    bool pathOk = true;
    for (const auto& p : in.natPorts) {
        if (p.ok) continue;
        pathOk = false;
        add(out, "nat-reply-path", V::Fail,
            std::string(p.ipProto == 17 ? "udp/" : "tcp/") + std::to_string(p.port) + " from " + (p.source.empty() ? "?" : p.source) +
                ": " + p.why,
            "start the agent (lvs-rs-agent start or run): it adds a rule per port and the director's route in table " +
                std::to_string(n.table));
    }
    if (pathOk && !in.natPorts.empty())
        add(out, "nat-reply-path", V::Ok, "every NAT port's replies go via the director (the kernel's own lookup)");
    for (const auto& d : in.natDirectors) {
        const auto oif = in.natClientOif.find(d.director.family);
        if (d.ifindex == 0 || oif == in.natClientOif.end() || oif->second == d.ifindex || d.director.family != AF_INET) continue;
        const int rp = sysctl::effective(sysctlOf(in, "all", "rp_filter"), sysctlOf(in, d.iface, "rp_filter"));
        if (rp == 1)
            add(out, "nat-rp-filter", V::Warn,
                d.iface + " has strict rp_filter (1) and the route back to clients leaves by another interface: the clients' "
                          "packets the director forwards on " + d.iface + " may be dropped",
                "sysctl net.ipv4.conf." + d.iface + ".rp_filter=2 (loose) and net.ipv4.conf.all.rp_filter=2");
    }
    for (const auto& d : n.directors)
        if (std::find(in.defaultGateways.begin(), in.defaultGateways.end(), d.str()) != in.defaultGateways.end())
            add(out, "nat-default-route", V::Ok,
                "the default route already goes via the NAT director " + d.str() +
                    ": the agent's rules are redundant (fine), and all of this host's traffic goes through the director");
    if (!in.natChainsError.empty())
        add(out, "nat-rewrite", V::Warn, "cannot list this host's NAT rules: " + in.natChainsError, "run doctor as root");
    else if (!in.natChains.empty()) {
        std::string list;
        for (const auto& c : in.natChains) list += (list.empty() ? "" : ", ") + c;
        add(out, "nat-rewrite", V::Warn,
            "this host has NAT chains (" + list + "): a SNAT or masquerade of the replies from the NAT ports breaks LVS-NAT "
            "(the director matches the replies by RIP and port)",
            "make sure no NAT rule matches the replies from the NAT ports (e.g. `oifname ... ip saddr RIP tcp sport PORT return` first)");
    } else {
        add(out, "nat-rewrite", V::Ok, "no NAT rule on this host can rewrite the replies");
    }
}

// The two-box node: no plain IPVS service for a VIP (IPVS would balance again what the
// peer director forwarded: the loop), this node's fwmark service, the marks' table as the
// configuration makes it, each peer director's MAC known.
void checkColocated(const DoctorInput& in, std::vector<DoctorCheck>& out) {
    const ColocatedConfig& c = in.config.colocated;
    if (!c.enabled()) return;
    const std::string mark = std::to_string(c.fwmark);
    const std::string fix = "let keepalived use the configuration of `lvs-rs-agent director-config --format keepalived` "
                            "(virtual_server fwmark " + mark + ")";
    const auto vips = in.config.addresses();
    bool plain = false, fwmark = false;
    for (const auto& s : parseIpvsServices(in.ipvs)) {
        fwmark = fwmark || s.fwmark == c.fwmark;
        if (s.fwmark != 0 || std::find(vips.begin(), vips.end(), s.address) == vips.end()) continue;
        plain = true;
        add(out, "colocated-ipvs", V::Fail,
            s.protocol + " " + (s.address.isV4() ? s.address.str() : "[" + s.address.str() + "]") + ":" + std::to_string(s.port) + " is a plain IPVS virtual service for a VIP of this two-box node: IPVS "
            "balances again the packets the peer director forwarded, and the two directors loop them",
            "remove it; " + fix);
    }
    if (!plain && fwmark)
        add(out, "colocated-ipvs", V::Ok, "IPVS has the fwmark " + mark + " virtual service and no plain one for the VIPs");
    else if (!plain)
        add(out, "colocated-ipvs", V::Warn,
            in.ipvs.empty() ? "IPVS is not loaded on this host (no /proc/net/ip_vs): no fwmark " + mark + " service balances the marked packets"
                            : "IPVS has no fwmark " + mark + " virtual service: the marked packets are not balanced here",
            fix);
    const ColocatedReport& r = in.colocated;
    const std::string table = "the marks' table inet " + std::string(netcfg::kMarkTable);
    if (!r.error.empty())
        add(out, "colocated-marks", V::Warn, "cannot read " + table + ": " + r.error, "run doctor as root");
    else if (r.tableInPlace && r.marking)
        add(out, "colocated-marks", V::Ok, table + " marks " + mark + " on the VIPs' packets no peer director forwarded");
    else if (r.tableInPlace)
        add(out, "colocated-marks", V::Fail, table + " is in place but marks nothing while a peer director's MAC is unknown: "
                                             "the fwmark service takes no client packet",
            "see colocated-peer below");
    else
        add(out, "colocated-marks", V::Fail, table + " is missing or not as configured: the clients' packets are not marked, "
                                             "so the fwmark service does not take them",
            "lvs-rs-agent start (or run the service)");
    const KernelView k(in.kernel);
    for (const auto& [peer, mac] : r.peers) {
        const auto ip = netcfg::IpAddress::parse(peer);
        if (ip && !k.addressFacing(*ip))
            add(out, "colocated-peer", V::Fail, "no address of this host is on the peer director " + peer + "'s subnet",
                "the peers are the other directors on this node's segment: fix colocated.peer_directors");
        else if (!mac.empty())
            add(out, "colocated-peer", V::Ok, "the peer director " + peer + " is at MAC " + mac + ": its packets are told from the clients'");
        else
            add(out, "colocated-peer", V::Fail,
                "the peer director " + peer + "'s MAC is not in the neighbour table: its packets cannot be told from the clients', "
                "so nothing is marked",
                "check that " + peer + " is up; the running agent resolves it itself (lvs-rs-agent run)");
    }
}

}  // namespace

std::vector<DoctorCheck> diagnose(const DoctorInput& in) {
    std::vector<DoctorCheck> out;
    checkVips(in, out);
    checkArp(in, out);
    checkSysctlFiles(in, out);
    checkServices(in, out);
    checkRpFilter(in, out);
    checkIpvs(in, out);
    checkDefaultRoute(in, out);
    checkLoManagers(in, out);
    checkNetworkManagers(in, out);
    checkTunnel(in, out);
    checkNat(in, out);
    checkColocated(in, out);
    return out;
}

std::string renderChecks(const std::vector<DoctorCheck>& f) {
    std::ostringstream out;
    int fails = 0, warns = 0;
    for (const auto& x : f) {
        out << verdictWord(x.verdict) << "  " << x.check << ": " << x.what << "\n";
        if (!x.fix.empty()) out << "      fix: " << x.fix << "\n";
        fails += x.verdict == V::Fail;
        warns += x.verdict == V::Warn;
    }
    out << (fails == 0 && warns == 0 ? "nothing wrong found\n"
                                     : std::to_string(fails) + " failed, " + std::to_string(warns) + " warning(s)\n");
    return out.str();
}

std::string checksJson(const std::vector<DoctorCheck>& f) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& x : f)
        j.push_back({{"check", x.check}, {"verdict", verdictName(x.verdict)},
                     {"what", x.what}, {"fix", x.fix}});
    return j.dump(2) + "\n";
}

}  // namespace agent
