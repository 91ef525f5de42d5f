#pragma once
// nftables through libnftables, the library the nft tool is built on (Debian's
// libnftables-dev): the agent's own table for the two-box marks (issue 34), never another.
//
//   table inet lvs_rs_agent {
//     set peer_macs { type ether_addr; ... }                 the other directors' MACs
//     set vips4 / vips6 { ... }                               the VIPs of each family (with
//                                                               ranges: flags interval, prefixes)
//     set ports { type inet_proto . inet_service; ... }       tcp . 80, udp . 53
//     chain prerouting { type filter hook prerouting priority mangle; policy accept;
//       ip daddr @vips4 meta l4proto . th dport @ports ether saddr != @peer_macs meta mark set MARK
//       ip6 ... (the same for IPv6) }
//   }
//
// One rule per family: a packet for a VIP and port that no peer director forwarded is
// marked (the local fwmark service takes it); one a peer forwarded is not (it is served
// here, never balanced again). With `marking` false (a peer's MAC unknown) the chain has
// no rule: an empty peer set must never mark everything.
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "netcfg/ip_address.h"

struct nft_ctx;

namespace netcfg {

inline constexpr const char* kMarkTable = "lvs_rs_agent";  // family inet

struct MarkSpec {
    std::uint32_t mark = 0;
    std::vector<IpAddress> vips;
    std::vector<std::pair<int, int>> ports;  // (IPPROTO_TCP or IPPROTO_UDP, port)
    std::set<std::string> peerMacs;          // "52:54:00:00:00:52", lower case
    bool marking = true;
    std::vector<std::pair<IpAddress, int>> ranges{};  // VIP ranges (network, prefix length): the sets then hold intervals
    bool operator==(const MarkSpec&) const = default;
};

// The whole table, replacing any earlier one in the same transaction (nothing in between
// without it).
std::string markTableScript(const MarkSpec& spec);
// The peer set changed in place, in one transaction: no rule rewritten, no window without
// marks.
std::string peerSetScript(const std::set<std::string>& remove, const std::set<std::string>& add);
// Deletes the table (only the agent's).
std::string deleteMarkTableScript();

// What the table holds, read back (`list table inet lvs_rs_agent`, JSON).
struct MarkTableSeen {
    std::set<std::string> peerMacs;
    std::set<IpAddress> vips;
    std::set<std::pair<IpAddress, int>> ranges;  // prefix elements of the VIP sets
    std::set<std::pair<int, int>> ports;
    std::vector<std::string> rules;  // each rule's expressions (their JSON, canonical), in order
    bool hooked = false;             // the chain is on prerouting at the mangle priority
    bool operator==(const MarkTableSeen&) const = default;
};
// nullopt: the listing holds no such table.
std::optional<MarkTableSeen> parseMarkTable(const std::string& json);

// Whether what the table holds is what spec asks for: the sets, the chain on its hook, and
// one marking rule per family with VIPs (none while marking is off), each matching the VIP
// set, the port set and "not from a peer" and setting spec's mark.
bool markTableMatches(const MarkTableSeen& seen, const MarkSpec& spec);
// Only the peer set differs (changed in place; the rest is as spec asks).
bool onlyPeersDiffer(const MarkTableSeen& seen, const MarkSpec& spec);

// The agent's use of nftables, as an interface: the kernel's (libnftables) and a fake for
// unit tests (tests/support).
class MarksDriver {
public:
    virtual ~MarksDriver() = default;
    virtual std::expected<std::optional<MarkTableSeen>, std::string> read() = 0;
    virtual std::expected<void, std::string> apply(const MarkSpec& spec) = 0;  // the whole table, replaced
    virtual std::expected<void, std::string> updatePeers(const std::set<std::string>& remove, const std::set<std::string>& add) = 0;
    virtual std::expected<void, std::string> remove() = 0;  // no table afterwards (none before is fine)
};
std::expected<std::unique_ptr<MarksDriver>, std::string> openKernelMarks();

// A libnftables context: commands in, text or JSON out, errors as nft words them.
class Nftables {
public:
    static std::expected<Nftables, std::string> open();
    Nftables(Nftables&&) noexcept;
    Nftables& operator=(Nftables&&) noexcept;
    ~Nftables();
    // Runs a script as one transaction; returns what nft printed (JSON when asked).
    std::expected<std::string, std::string> run(const std::string& script, bool json = false);
    // The agent's table (nullopt: there is none).
    std::expected<std::optional<MarkTableSeen>, std::string> readMarkTable();

private:
    explicit Nftables(nft_ctx* ctx);
    struct Free {
        void operator()(nft_ctx* c) const;
    };
    std::unique_ptr<nft_ctx, Free> ctx_;
};

}  // namespace netcfg
