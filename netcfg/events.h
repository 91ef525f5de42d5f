#pragma once
// rtnetlink notifications (links, IPv4/IPv6 addresses, routes and policy rules) parsed into typed
// changes by libnl's own message parsers (nl_msg_parse), so the agent keeps a mirror of
// the kernel from events instead of dumping it again; qdisc and tc filter messages are
// only counted (the tunnel's hooks are asked for again when one comes). Route messages outside the agent's
// RouteTables or for anything but a host route are dropped from their header, before any
// parsing: a busy routing table costs the agent a header check per message. The same check
// runs in the kernel too, as a socket filter: a routing daemon loading a full table into
// another table wakes the agent for none of it.
#include <linux/filter.h>

#include <cstddef>
#include <expected>
#include <vector>

#include "netcfg/netlink.h"
#include "netcfg/nl_ptr.h"

namespace netcfg {

struct Change {
    enum class Kind { AddressAdded, AddressRemoved, RouteAdded, RouteRemoved, LinkChanged, LinkRemoved,
                      RuleAdded, RuleRemoved, GatewayRouteAdded, GatewayRouteRemoved };
    Kind kind = Kind::AddressAdded;
    InterfaceAddress address{};   // AddressAdded, AddressRemoved
    HostRoute route{};            // RouteAdded, RouteRemoved
    Link link{};                  // LinkChanged (new or changed), LinkRemoved
    Rule rule{};                  // RuleAdded, RuleRemoved (the NAT table's, or the agent's)
    GatewayRoute gatewayRoute{};  // GatewayRouteAdded, GatewayRouteRemoved (the NAT table's default routes)
};

struct Drained {
    std::vector<Change> changes;
    bool overrun = false;     // the kernel dropped some (ENOBUFS): a full resync is due
    std::size_t ignored = 0;  // messages dropped unparsed (other tables, prefixes)
    std::size_t tc = 0;       // qdisc and tc filter messages (RTNLGRP_TC): the tunnel's hooks may have changed
};

// Where the daemon's loop gets its changes from: the kernel's notifications, or a fake.
class EventSource {
public:
    virtual ~EventSource() = default;
    virtual int fd() const = 0;  // readable when changes are pending
    virtual Drained drain() = 0; // reads every pending change without blocking
    // The route tables whose host routes are wanted (table main alone until told).
    virtual void watch(const RouteTables& tables) { tables_ = tables; }

protected:
    RouteTables tables_;
};

// The socket filter (classic BPF) that passes every message but the route messages
// unwantedRoute() drops: a route message passes when it is a host route (/32, /128) in
// table main or in the announce table (RT_TABLE_COMPAT in the header for an id >= 256,
// checked after parsing). A message too short to hold a route header passes (and is
// counted as ignored here). With ranges, a route in table local passes unless the kernel
// made it (an address's own), and one in the announce table passes at any length.
std::vector<sock_filter> routeFilter(const RouteTables& tables);
// Attaches routeFilter(tables) to fd (SO_ATTACH_FILTER replaces the one before).
std::expected<void, NetError> attachRouteFilter(int fd, const RouteTables& tables);

class ChangeEvents final : public EventSource {
public:
    static std::expected<ChangeEvents, NetError> open();

    int fd() const override;
    Drained drain() override;
    // Also moves the kernel's filter to the new tables; if that fails the old filter
    // stays and the header check here still drops what it passes.
    void watch(const RouteTables& tables) override;

    // Parses one datagram's messages into `out` (exposed for tests and fuzzing).
    static void parse(const char* data, std::size_t len, Drained& out, const RouteTables& tables = {});

private:
    explicit ChangeEvents(NlSock sock) : sock_(std::move(sock)) {}
    NlSock sock_;
};

}  // namespace netcfg
