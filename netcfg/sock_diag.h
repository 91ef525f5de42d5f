#pragma once
// Connections on the VIPs, from the kernel's socket diagnostics (NETLINK_SOCK_DIAG),
// through libnl's core for the netlink framing. The kernel is handed a bytecode filter on
// the local address (INET_DIAG_REQ_BYTECODE), so only the VIPs' sockets are copied out: a
// busy server's other sockets cost the kernel's walk of its table, never a message each.
// The request is inet_diag's TCPDIAG_GETSOCK form (struct inet_diag_req), which the kernel
// serves for both families in one walk of its established-socket table; the per-family
// SOCK_DIAG_BY_FAMILY (inet_diag_req_v2) walks it once per family (262,144 buckets here:
// 2.0 ms against 1.4 ms a count on the same machine).
//
// What counts: TCP sockets in every state but LISTEN, TIME_WAIT and CLOSE whose local
// address is a VIP or lies in a range, in both families (an IPv4 client of a dual-stack
// [::] listener is an IPv6 socket with a v4-mapped address: it counts for the IPv4 VIP).
// Connections from this host to itself do not (the peer is a VIP, an address of a range,
// the socket's own address or loopback): the agent's service checks, a local client.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <vector>

#include "netcfg/ip_address.h"
#include "netcfg/netlink.h"

namespace netcfg {

// A VIP (length = its host prefix) or a range.
struct LocalPrefix {
    IpAddress address;
    int length = 0;
    bool operator==(const LocalPrefix&) const = default;
};

struct Connection {
    IpAddress local;
    int localPort = 0;
    IpAddress remote;  // a v4-mapped peer of an IPv6 socket is given as IPv4
    int remotePort = 0;
    int state = 0;     // TCP_ESTABLISHED, ...
};

struct ConnectionCount {
    std::vector<std::uint64_t> perPrefix;  // parallel to the prefixes asked about
    std::vector<Connection> listed;        // up to the number asked for, in the kernel's order
};

class ConnectionCounter {
public:
    virtual ~ConnectionCounter() = default;
    // The connections on each of `locals` (see above); `list`: how many to return with
    // their addresses (0: none, only the counts).
    virtual std::expected<ConnectionCount, NetError> count(const std::vector<LocalPrefix>& locals, std::size_t list = 0) = 0;
};

// The kernel's, through a NETLINK_SOCK_DIAG socket of libnl's (opened on first use).
std::unique_ptr<ConnectionCounter> makeKernelConnectionCounter();

// --- the parts, exposed for tests ---

// The bytecode that accepts a socket whose local address lies in any of `prefixes`: one
// INET_DIAG_BC_S_COND per prefix, each followed but the last by an INET_DIAG_BC_JMP to
// the end (accept); a condition that fails jumps past its JMP to the next one, the last
// past the end (reject). Empty input: empty bytecode (no filter).
std::vector<std::uint8_t> localAddressFilter(const std::vector<LocalPrefix>& prefixes);
// The bytecode's size for these prefixes, without building it.
std::size_t filterSize(const std::vector<LocalPrefix>& prefixes);
// At most `maxBytes` of bytecode: the prefixes, widened (a bit at a time, merging those
// that meet) until their filter fits. The kernel then passes a superset, sorted out here.
std::vector<LocalPrefix> fitFilter(std::vector<LocalPrefix> prefixes, std::size_t maxBytes);
// The largest filter one request carries: a netlink attribute's length is 16 bits.
inline constexpr std::size_t kMaxFilterBytes = 65535 - 4;
// The TCP states counted, as inet_diag's idiag_states bit mask.
std::uint32_t countedStates();
// Whether a connection from `remote` to `local` is this host talking to itself.
bool fromThisHost(const IpAddress& local, const IpAddress& remote, const std::vector<LocalPrefix>& locals);

}  // namespace netcfg
