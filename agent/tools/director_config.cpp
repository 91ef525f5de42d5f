#include "agent/tools/director_config.h"

#include <sys/socket.h>

#include <algorithm>
#include <sstream>

#include "agent/base/text_file.h"

namespace agent {
namespace {

struct Service {
    netcfg::IpAddress vip;
    int port;          // 0: a range with no service named in it (a comment only)
    bool configured;  // from "services"; otherwise a guess at port 80
    bool inRange = false;  // an address of a range: DR only (ranges are not decapsulated)
};

// A range gives a virtual server for each address of it that a service check names (the
// director balances addresses, not prefixes); none is guessed.
void rangeServices(const Config& cfg, const netcfg::IpAddress& net, int len, std::vector<Service>& out) {
    const std::size_t before = out.size();
    for (const auto& s : cfg.services)
        if (net.covers(len, s.vip) &&
            std::none_of(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(), [&](const Service& o) { return o.vip == s.vip && o.port == s.port; }))
            out.push_back({s.vip, s.port, true, true});
    if (out.size() == before) out.push_back({net, 0, false, true});
}

std::string rangeNote(const Config& cfg, const Service& s) {
    return "# range " + cfg.vipText(s.vip) + ": no virtual server; name each address the director balances in \"services\"\n"
           "# (e.g. {\"vip\": \"" + s.vip.str() + "\", \"port\": 80} with the first address of the range): one virtual server each\n";
}

std::vector<Service> servicesOf(const Config& cfg) {
    std::vector<Service> out;
    for (const auto& entry : cfg.vips) {
        const netcfg::IpAddress& vip = entry.address;
        if (entry.isRange()) {
            rangeServices(cfg, vip, entry.prefixLen, out);
            continue;
        }
        bool any = false;
        for (const auto& s : cfg.services)
            if (s.vip == vip) {
                bool seen = false;
                for (const auto& o : out) seen = seen || (o.vip == vip && o.port == s.port);
                if (!seen) out.push_back({vip, s.port, true});
                any = true;
            }
        if (!any) out.push_back({vip, 80, false});
    }
    return out;
}

std::string label(const netcfg::IpAddress& ip) {
    std::string s = ip.str();
    for (char& c : s)
        if (c == '.' || c == ':') c = '_';
    return s;
}

// How the director forwards to this real server for s: ranges are DR whatever the method.
DirectorMethod methodOf(const DirectorTarget& t, const Service& s) { return s.inRange ? DirectorMethod::Dr : t.method; }

// What the forwarding comes to, for the header of the keepalived and ipvsadm output.
std::string forwardingNote(const Config& cfg, const DirectorTarget& t, const std::vector<Service>& services) {
    if (t.method == DirectorMethod::Dr)
        return "# Forwarding: direct routing (DR): the director must share a layer-2 segment with this server.\n";
    std::string directors;
    for (const auto& d : cfg.tunnel.directors) directors += (directors.empty() ? "" : ", ") + d.str();
    std::string note = "# Forwarding: a tunnel, " +
                       std::string(t.method == DirectorMethod::TunGue ? "GUE to UDP port " + std::to_string(t.guePort) : "IPIP") +
                       ". This server decapsulates only what comes from\n# one of tunnel.directors (" + directors +
                       "): the director must send from one of those addresses.\n";
    if (std::any_of(services.begin(), services.end(), [](const Service& s) { return s.inRange; }))
        note += "# The addresses of ranges are not decapsulated: their virtual servers are DR.\n";
    return note;
}

std::string keepalivedKind(const DirectorTarget& t, const Service& s) {
    switch (methodOf(t, s)) {
        case DirectorMethod::Dr: return "lb_kind DR";
        case DirectorMethod::TunIpip: return "lb_kind TUN";
        case DirectorMethod::TunGue: return "lb_kind TUN type gue port " + std::to_string(t.guePort);
    }
    return "";
}

std::string ipvsadmKind(const DirectorTarget& t, const Service& s) {
    switch (methodOf(t, s)) {
        case DirectorMethod::Dr: return "-g";
        case DirectorMethod::TunIpip: return "-i";
        case DirectorMethod::TunGue: return "-i --tun-type gue --tun-port " + std::to_string(t.guePort);
    }
    return "";
}

std::string hostPort(const std::string& host, int port) {
    if (const auto ip = netcfg::IpAddress::parse(host)) return netcfg::hostPort(*ip, port);
    return host + ":" + std::to_string(port);
}

// keepalived's real_server block: weight 0 while the check fails, the check on `path`.
void keepalivedRealServer(std::ostringstream& out, const std::string& realServer, int port, const std::string& path,
                          const DirectorTarget& t, const std::string& comment = "", bool close = true, const std::string& connectIp = "") {
    out << "    real_server " << realServer << (port > 0 ? " " + std::to_string(port) : std::string()) << " {" << comment << "\n"
        << "        weight 100\n"
        << "        # weight 0 instead of removal while not ready: established connections go on\n"
        << "        inhibit_on_failure\n"
        << "        HTTP_GET {\n"
        << "            url {\n"
        << "                path " << path << "\n"
        << "                status_code 200\n"
        << "            }\n"
        << "            connect_ip " << (connectIp.empty() ? t.rip : connectIp) << "\n"
        << "            connect_port " << t.apiPort << "\n"
        << "            connect_timeout 3\n"
        << "            retry 2\n"
        << "            delay_before_retry 1\n"
        << "        }\n"
        << "    }\n";
    if (close) out << "}\n";
}

// Two boxes ("colocated"): one fwmark virtual service per family, this node and each peer
// director as its real servers (DR), and no plain VIP:port service for the marked ports:
// IPVS would balance the unmarked packets (the peer's forwards) through it, and the loop
// would be back. The VRRP instance is the operator's.
std::string renderColocated(const Config& cfg, DirectorFormat format, const DirectorTarget& t) {
    const auto& c = cfg.colocated;
    std::ostringstream out;
    std::string ports;
    for (const auto& p : c.ports) ports += (ports.empty() ? "" : ", ") + p.name();
    out << "# Two-box cluster (\"colocated\"): this node (" << t.rip << ") and its peer director(s) are directors and real\n"
        << "# servers. The agent marks the packets for the VIPs and " << ports << " that no peer director forwarded\n"
        << "# with fwmark " << c.fwmark << "; the fwmark service below balances them, and what a peer forwarded is\n"
        << "# served here, never balanced again. Do not add a plain VIP:port virtual service for these ports:\n"
        << "# IPVS would balance the peer's forwards through it and the loop would be back. The VRRP instance\n"
        << "# holding the VIPs is yours (keepalived's vrrp_instance); each node runs this same service.\n";
    for (int family : {AF_INET, AF_INET6}) {
        bool vips = false;
        for (const auto& v : cfg.vips) vips = vips || v.address.family == family;
        if (!vips) continue;
        const auto self = netcfg::IpAddress::parse(t.rip);
        const std::string selfHere = self && self->family == family ? t.rip : t.otherRip;
        std::vector<std::string> nodes;
        if (!selfHere.empty()) nodes.push_back(selfHere);
        for (const auto& p : c.peers)
            if (p.family == family) nodes.push_back(p.str());
        if (format == DirectorFormat::Ipvsadm) {
            const std::string fam = family == AF_INET6 ? " -6" : "";
            out << "ipvsadm -A -f " << c.fwmark << fam << " -s wlc\n";
            for (const auto& n : nodes) out << "ipvsadm -a -f " << c.fwmark << fam << " -r " << n << " -g -w 100\n";
            continue;
        }
        out << "virtual_server fwmark " << c.fwmark << " {\n"
            << "    delay_loop 2\n"
            << "    lb_algo wlc\n"
            << "    lb_kind DR\n"
            << (family == AF_INET6 ? "    ip_family inet6\n" : "");
        // A fwmark service has no protocol and its real servers no port (keepalived clears them).
        for (const auto& n : nodes)
            // each node's own agent answers for it (a peer's at its address, on the same port)
            keepalivedRealServer(out, n, 0, "/ready", t, n == selfHere ? "  # this node" : "  # a peer director", false,
                                 n == selfHere ? t.rip : n);
        out << "}\n";
    }
    return out.str();
}

// VS/NAT: a virtual service per NAT VIP and port, forwarded to this server's RIP and its
// port (which may differ: NAT rewrites it), the check on /ready/<nat vip> (the reply path
// of its family, its director answering, its services).
std::string natNote(const Config& cfg) {
    std::string directors;
    for (const auto& d : cfg.nat.directors) directors += (directors.empty() ? "" : ", ") + d.str();
    return "# VS/NAT (\"nat\"): the director rewrites VIP:virtual_port to this server's address and port; this\n"
           "# server sends those replies back via " + directors + " (policy rules at priority " + std::to_string(cfg.nat.priority) +
           ", table " + std::to_string(cfg.nat.table) + "),\n"
           "# so the director must forward (net.ipv4.ip_forward=1, net.ipv6.conf.all.forwarding=1) and hold that\n"
           "# address on this server's network. The check polls /ready/<vip>: 200 only while the reply path is in\n"
           "# place, the director answers and the VIP's services are up.\n";
}

void renderNat(const Config& cfg, DirectorFormat format, const DirectorTarget& t, std::ostringstream& out) {
    if (!cfg.nat.enabled()) return;
    const bool ripV4 = netcfg::IpAddress::parse(t.rip).value().isV4();
    out << natNote(cfg);
    for (const auto& vip : cfg.nat.vips) {
        const std::string& rs = vip.isV4() == ripV4 ? t.rip : t.otherRip;
        if (rs.empty()) continue;  // directorTarget() refuses this
        for (const auto& p : cfg.nat.ports) {
            const bool udp = p.ipProto == 17;
            if (format == DirectorFormat::Ipvsadm) {
                const std::string service = std::string(udp ? "-u " : "-t ") + netcfg::hostPort(vip, p.virtualPort);
                out << "ipvsadm -A " << service << " -s wlc\n"
                    << "ipvsadm -a " << service << " -r " << hostPort(rs, p.port) << " -m -w 100\n";
            } else if (format == DirectorFormat::Keepalived) {
                out << "virtual_server " << vip.str() << " " << p.virtualPort << " {\n"
                    << "    delay_loop 2\n"
                    << "    lb_algo wlc\n"
                    << "    lb_kind NAT\n"
                    << "    protocol " << (udp ? "UDP" : "TCP") << "\n";
                keepalivedRealServer(out, rs, p.port, "/ready/" + vip.str(), t);
            } else if (!udp) {  // HAProxy proxies TCP: this server is an ordinary backend server at RIP:port
                out << "backend lvs_nat_" << label(vip) << "_" << p.virtualPort << "\n"
                    << "    option httpchk GET /ready/" << vip.str() << "\n"
                    << "    http-check expect status 200\n"
                    << "    server rs_" << label(netcfg::IpAddress::parse(rs).value()) << " " << hostPort(rs, p.port) << " check addr "
                    << t.rip << " port " << t.apiPort << " inter 2s fall 2 rise 2\n";
            }
        }
    }
}

}  // namespace

namespace {
std::expected<DirectorTarget, std::string> checkTarget(const Config& cfg, const std::string& checkUrl);
}  // namespace

std::expected<DirectorMethod, std::string> directorMethod(const Config& cfg, const std::string& method, const std::string& encap,
                                                          DirectorFormat format) {
    if (format == DirectorFormat::Haproxy) {
        if (!method.empty() || !encap.empty())
            return std::unexpected(std::string(method.empty() ? "--encap" : "--method") +
                                   " is for keepalived and ipvsadm: HAProxy proxies the connection, it neither routes nor tunnels it");
        return DirectorMethod::Dr;
    }
    if (!method.empty() && method != "dr" && method != "tun")
        return std::unexpected("--method " + quoteInput(method, false) + ": dr or tun");
    if (!encap.empty() && encap != "ipip" && encap != "gue") return std::unexpected("--encap " + quoteInput(encap, false) + ": ipip or gue");
    const bool tunnel = cfg.tunnel.enabled();
    if (method == "tun" && !tunnel)
        return std::unexpected("--method tun: the configuration has no \"tunnel\", so this real server decapsulates nothing");
    if (method == "dr" || (method.empty() && !tunnel)) {
        if (!encap.empty()) return std::unexpected("--encap " + encap + " is for --method tun (a \"tunnel\" configuration)");
        return DirectorMethod::Dr;
    }
    if (encap == "ipip" && !cfg.tunnel.ipip) return std::unexpected("--encap ipip: tunnel.encap does not accept ipip on this real server");
    if (encap == "gue" && !cfg.tunnel.gue) return std::unexpected("--encap gue: tunnel.encap does not accept gue on this real server");
    if (encap == "gue" || (encap.empty() && !cfg.tunnel.ipip)) return DirectorMethod::TunGue;
    return DirectorMethod::TunIpip;
}

std::expected<DirectorTarget, std::string> directorTarget(const Config& cfg, const std::string& checkUrl,
                                                          const std::vector<std::string>& rips, DirectorFormat format,
                                                          DirectorMethod method) {
    auto t = checkTarget(cfg, checkUrl);
    if (!t) return t;
    t->method = method;
    t->guePort = method == DirectorMethod::TunGue ? cfg.tunnel.guePort : 0;
    const bool checkV4 = netcfg::IpAddress::parse(t->rip).value().isV4();
    for (const auto& text : rips) {
        const auto ip = netcfg::IpAddress::parse(text);
        if (!ip) return std::unexpected("--rip " + quoteInput(text, false) + " is not an IP address");
        if (ip->isV4() == checkV4)
            return std::unexpected("--rip " + ip->str() + ": the real server's " + (checkV4 ? "IPv4" : "IPv6") + " address is " + t->rip +
                                   " (from --director-check or api.listen); --rip gives the other family's");
        if (!t->otherRip.empty()) return std::unexpected("--rip given twice for " + std::string(checkV4 ? "IPv6" : "IPv4"));
        t->otherRip = ip->str();
    }
    std::vector<netcfg::IpAddress> vips = cfg.addresses();
    vips.insert(vips.end(), cfg.nat.vips.begin(), cfg.nat.vips.end());
    if (format != DirectorFormat::Haproxy && t->otherRip.empty())
        for (const auto& vip : vips)
            if (vip.isV4() != checkV4)
                return std::unexpected("VIP " + vip.str() + " is " + (checkV4 ? "IPv6" : "IPv4") + ", and the director forwards it to a real server address of that family: give --rip " +
                                       (checkV4 ? "IPV6-RIP (e.g. --rip 2001:db8::60)" : "IPV4-RIP (e.g. --rip 198.51.100.60)") +
                                       "; the check still polls " + t->rip);
    return t;
}

namespace {

std::expected<DirectorTarget, std::string> checkTarget(const Config& cfg, const std::string& checkUrl) {
    if (checkUrl.empty()) {
        if (!cfg.api.enabled) return std::unexpected("the configuration has no \"api\": the director has nothing to poll");
        if (cfg.api.host == "0.0.0.0" || cfg.api.host == "::")
            return std::unexpected("api.listen is " + cfg.api.host +
                                   ": give --director-check http://RIP:PORT with the address the director reaches");
        return DirectorTarget{.rip = cfg.api.host, .apiPort = cfg.api.port, .otherRip = {}};
    }
    const std::string prefix = "http://";
    if (checkUrl.rfind(prefix, 0) != 0)
        return std::unexpected("--director-check \"" + checkUrl + "\" must look like http://198.51.100.60:9100");
    std::string rest = checkUrl.substr(prefix.size());
    if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
    using Part = netcfg::HostPortError::Part;
    const auto hp = netcfg::parseHostPort(rest);
    if (!hp) {
        const auto& e = hp.error();
        if (e.part == Part::Shape) return std::unexpected("--director-check: missing port in \"" + checkUrl + "\"");
        if (e.part == Part::Address) return std::unexpected("--director-check: \"" + e.text + "\" is not an IP address");
        return std::unexpected("--director-check: port \"" + e.text + "\" must be 1-65535");
    }
    if (hp->port == 0) return std::unexpected("--director-check: port \"0\" must be 1-65535");
    return DirectorTarget{.rip = hp->address.str(), .apiPort = hp->port, .otherRip = {}};
}

}  // namespace

std::string renderDirectorConfig(const Config& cfg, DirectorFormat format, const DirectorTarget& t) {
    std::ostringstream out;
    const auto services = servicesOf(cfg);
    const bool ripV4 = netcfg::IpAddress::parse(t.rip).value().isV4();
    // DR and the tunnel forward to the real server's address of the VIP's family; the
    // check polls the agent wherever the director reaches it.
    auto realServerOf = [&](const Service& s) -> const std::string& { return s.vip.isV4() == ripV4 ? t.rip : t.otherRip; };
    if (cfg.colocated.enabled() && format != DirectorFormat::Haproxy) {  // fwmark services only (the NAT part as ever)
        out << renderColocated(cfg, format, t);
        renderNat(cfg, format, t, out);
        return out.str();
    }
    if (format == DirectorFormat::Ipvsadm) {
        out << "# ipvsadm: this real server (" << t.rip << ") for each of its VIPs, generated by lvs-rs-agent.\n"
            << (services.empty() ? std::string() : forwardingNote(cfg, t, services))
            << "# -A once per virtual service on the director, -a for each of its real servers. ipvsadm\n"
            << "# checks nothing: while http://" << hostPort(t.rip, t.apiPort) << "/ready/<vip> does not answer 200, set this\n"
            << "# server's weight to 0 (ipvsadm -e ... -w 0), never delete it (-d): at weight 0 IPVS sends it\n"
            << "# no new connection and its established ones go on; deleted, IPVS drops their packets.\n";
        for (const auto& s : services) {
            const std::string& realServer = realServerOf(s);
            if (realServer.empty()) continue;  // directorTarget() refuses this
            if (s.port == 0) {
                out << rangeNote(cfg, s);
                continue;
            }
            if (!s.configured) out << "# no service configured for " << s.vip.str() << ": port 80 assumed\n";
            const std::string service = netcfg::hostPort(s.vip, s.port);
            out << "ipvsadm -A -t " << service << " -s wlc\n"
                << "ipvsadm -a -t " << service << " -r " << hostPort(realServer, s.port) << " " << ipvsadmKind(t, s) << " -w 100\n";
        }
        renderNat(cfg, format, t, out);
        return out.str();
    }
    if (format == DirectorFormat::Keepalived) {
        out << "# keepalived: this real server (" << t.rip << ") for each of its VIPs, generated by lvs-rs-agent.\n"
            << (services.empty() ? std::string() : forwardingNote(cfg, t, services))
            << "# The check polls the agent's /ready/<vip>: 200 only when the VIP is bound, its ARP settings\n"
            << "# are right, its services answer on the VIP and the server is not draining.\n";
        for (const auto& s : services) {
            const std::string& realServer = realServerOf(s);
            if (realServer.empty()) continue;  // directorTarget() refuses this for keepalived
            if (s.port == 0) {
                out << rangeNote(cfg, s);
                continue;
            }
            if (!s.configured) out << "# no service configured for " << s.vip.str() << ": port 80 assumed\n";
            out << "virtual_server " << s.vip.str() << " " << s.port << " {\n"
                << "    delay_loop 2\n"
                << "    lb_algo wlc\n"
                << "    " << keepalivedKind(t, s) << "\n"
                << "    protocol TCP\n";
            keepalivedRealServer(out, realServer, s.port, "/ready/" + s.vip.str(), t);
        }
        renderNat(cfg, format, t, out);
        return out.str();
    }
    out << "# HAProxy: this real server (" << t.rip << ") for each of its VIPs, generated by lvs-rs-agent.\n"
        << "# A server that fails its check gets no new session; its established ones go on (no\n"
        << "# on-marked-down shutdown-sessions here: keep it that way, or a drain cuts them).\n"
        << "# httpchk polls the agent's /ready/<vip>";
    if (cfg.api.agentCheckPort > 0)
        out << ";\n# agent-check sends the VIP (agent-send) to port " << cfg.api.agentCheckPort
            << " and reads up/ready, drain or down for that VIP\n# (`lvs-rs-agent drain --vip VIP` drains this server in that VIP's backend only)";
    out << ".\n";
    for (const auto& s : services) {
        if (s.port == 0) {
            out << rangeNote(cfg, s);
            continue;
        }
        if (!s.configured) out << "# no service configured for " << s.vip.str() << ": port 80 assumed\n";
        out << "backend lvs_" << label(s.vip) << "_" << s.port << "\n"
            << "    option httpchk GET /ready/" << s.vip.str() << "\n"
            << "    http-check expect status 200\n"
            << "    server rs_" << label(netcfg::IpAddress::parse(t.rip).value()) << " " << hostPort(t.rip, s.port)
            << " check addr " << t.rip << " port " << t.apiPort << " inter 2s fall 2 rise 2";
        if (cfg.api.agentCheckPort > 0)
            out << " agent-check agent-addr " << t.rip << " agent-port " << cfg.api.agentCheckPort << " agent-send \"" << s.vip.str()
                << "\\n\" agent-inter 2s";
        out << "\n";
    }
    renderNat(cfg, format, t, out);
    return out.str();
}

}  // namespace agent
