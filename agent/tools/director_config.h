#pragma once
// `director-config`: what the director needs for this real server, ready to paste: a
// keepalived virtual_server/real_server block with an HTTP_GET check of /ready/<vip>,
// HAProxy backends with `option httpchk` and agent-check, or ipvsadm commands. With a
// "tunnel" configuration the virtual servers are tunnel ones (lb_kind TUN, ipvsadm -i,
// IPIP or GUE); ranges, which are not decapsulated, stay DR.
#include <expected>
#include <string>

#include "agent/config/config.h"

namespace agent {

enum class DirectorFormat { Keepalived, Haproxy, Ipvsadm };
// How the director forwards to this real server: DR (the MAC rewritten) or a tunnel.
enum class DirectorMethod { Dr, TunIpip, TunGue };

struct DirectorTarget {
    std::string rip;  // the real server's own address, as the director reaches it
    int apiPort = 0;  // where this agent's HTTP API listens
    // The real server's address of the other family (--rip), for the VIPs of that family:
    // LVS-DR forwards to a real server of the VIP's own family, and so does the tunnel
    // (inner and outer families match). Empty: none given.
    std::string otherRip;
    DirectorMethod method = DirectorMethod::Dr;
    int guePort = 0;  // TunGue: the UDP port the real server decapsulates
};

// --method dr|tun and --encap ipip|gue as given ("" when not): the method defaults to
// tun with a "tunnel" configuration and dr without; the encapsulation to IPIP when the
// configuration accepts it, GUE otherwise. Refused: tun without "tunnel", an encapsulation
// the configuration does not accept, either option with HAProxy (which proxies).
std::expected<DirectorMethod, std::string> directorMethod(const Config& cfg, const std::string& method, const std::string& encap,
                                                          DirectorFormat format);

// "http://198.51.100.60:9100" -> {rip, port}; without a URL, api.listen when it names an
// address (not 0.0.0.0 or ::). rips (--rip): the real server's address of the other
// family. Every VIP must have a real server address of its family (keepalived).
std::expected<DirectorTarget, std::string> directorTarget(const Config& cfg, const std::string& checkUrl,
                                                          const std::vector<std::string>& rips = {},
                                                          DirectorFormat format = DirectorFormat::Keepalived,
                                                          DirectorMethod method = DirectorMethod::Dr);

std::string renderDirectorConfig(const Config& cfg, DirectorFormat format, const DirectorTarget& target);

}  // namespace agent
