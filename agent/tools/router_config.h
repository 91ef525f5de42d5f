#pragma once
// `router-config`: what this real server's routing daemon needs to carry the VIPs the
// agent announces (the ready ones, kept in the kernel table of "announce") into BGP,
// ready to paste: a BIRD 2 configuration (kernel protocols learning that table, only
// routes of proto 177 and host length; BGP sessions exporting them), or FRR's (zebra's
// import-table and bgpd's redistribute table, through a route-map passing host routes;
// IPv4 only in FRR 8).
#include <expected>
#include <string>
#include <vector>

#include "agent/config/config.h"

namespace agent {

enum class RouterFormat { Bird, Frr };

struct RouterTarget {
    std::vector<std::string> neighbors;  // the routers' addresses (canonical)
    long long localAs = 64500;           // documentation ASNs (RFC 5398) by default
    long long peerAs = 64496;
    std::string routerId = "192.0.2.10";  // an IPv4 address (--router-id)
    // What the operator must look at before using the output: defaults taken for the AS
    // numbers or the router id, a VIP family no neighbor's session carries.
    std::vector<std::string> warnings;
};

// Checks --neighbor (addresses), --local-as and --peer-as (1-4294967295); the
// configuration must have "announce".
std::expected<RouterTarget, std::string> routerTarget(const Config& cfg, const std::vector<std::string>& neighbors,
                                                      const std::string& localAs, const std::string& peerAs,
                                                      const std::string& routerId);

std::string renderRouterConfig(const Config& cfg, RouterFormat format, const RouterTarget& target);

// The VIPs FRR 8 cannot announce: IPv4 VIPs bound as an address on lo (a connected route in
// zebra wins over the imported table route). A range, even a /32, is not one of them.
std::vector<std::string> connectedInFrr(const Config& cfg);

}  // namespace agent
