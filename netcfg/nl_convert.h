#pragma once
// libnl objects to the plain value types, shared by the dump and the event parser, so a
// notification and a dump describe the kernel the same way. Objects are borrowed.
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include <optional>
#include <vector>

#include "netcfg/netlink.h"

namespace netcfg {

IpAddress fromNlAddr(nl_addr* a);  // family 0 when not an IPv4/IPv6 address
Link toLink(rtnl_link* l);
std::optional<InterfaceAddress> toAddress(rtnl_addr* a);
// Only host routes (full-length destination) in `tables`, and with ranges the local routes
// of table local and the agent's prefix routes of the announce table; nullopt for the rest.
std::optional<HostRoute> toHostRoute(rtnl_route* r, const RouteTables& tables);
// A policy rule that looks up the NAT table or carries the agent's protocol; nullopt for
// the rest (and for every rule when there is no NAT table).
std::optional<Rule> toRule(rtnl_rule* r, const RouteTables& tables);
// A default route via a gateway in the NAT table; nullopt for anything else.
std::optional<GatewayRoute> toGatewayRoute(rtnl_route* r, const RouteTables& tables);
// The gateways of a route's next hops.
std::vector<IpAddress> gatewaysOf(rtnl_route* r);

}  // namespace netcfg
