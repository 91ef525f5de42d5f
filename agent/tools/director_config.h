#pragma once
// `director-config`: what the director needs for this real server, ready to paste: a
// keepalived virtual_server/real_server block with an HTTP_GET check of /ready/<vip>, or
// HAProxy backends with `option httpchk` and agent-check.
#include <expected>
#include <string>

#include "agent/config/config.h"

namespace agent {

enum class DirectorFormat { Keepalived, Haproxy };

struct DirectorTarget {
    std::string rip;  // the real server's own address, as the director reaches it
    int apiPort = 0;  // where this agent's HTTP API listens
    // The real server's address of the other family (--rip), for the VIPs of that family:
    // LVS-DR forwards to a real server of the VIP's own family. Empty: none given.
    std::string otherRip;
};

// "http://198.51.100.60:9100" -> {rip, port}; without a URL, api.listen when it names an
// address (not 0.0.0.0 or ::). rips (--rip): the real server's address of the other
// family. Every VIP must have a real server address of its family (keepalived).
std::expected<DirectorTarget, std::string> directorTarget(const Config& cfg, const std::string& checkUrl,
                                                          const std::vector<std::string>& rips = {},
                                                          DirectorFormat format = DirectorFormat::Keepalived);

std::string renderDirectorConfig(const Config& cfg, DirectorFormat format, const DirectorTarget& target);

}  // namespace agent
