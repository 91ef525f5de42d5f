#pragma once
// The configuration: parsed from JSON (or --vip), validated completely once, then frozen.
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "netcfg/ip_address.h"

namespace agent {

struct ArpSettings {
    int ignore = 1;
    int announce = 2;
    std::vector<std::string> interfaces{"lo", "all"};
};

// A check of the local service on a VIP: DR cannot rewrite ports, so the service must
// answer on VIP:port itself (a service bound only to the RIP never sees the traffic).
struct ServiceCheck {
    enum class Type { Tcp, Http, Https, Exec, Dns };
    netcfg::IpAddress vip;
    int port = 0;  // 0: none (an exec check without one)
    Type type = Type::Tcp;
    // http, https
    std::string path = "/";
    std::optional<std::string> host;       // Host header (and, for https, SNI); else the VIP, no SNI
    std::vector<int> expectStatus{200};    // any of these
    std::optional<std::string> expectBody;  // a substring of the body's first 64 KiB
    bool verify = false;                   // https: the chain (system CAs or caFile) and the name
    std::optional<std::string> caFile;
    // exec: an absolute path and its arguments, no shell
    std::vector<std::string> command;
    // dns (UDP): the question
    std::string query;
    std::string qtype = "A";
    int intervalMs = 2000;
    int timeoutMs = 1000;
    int rise = 2;  // consecutive successes to go up
    int fall = 3;  // consecutive failures to go down
    // A NAT VIP's check (its VIP lives on the director): the director of the VIP's family.
    // The probe then goes where the director sends, this server's own address facing it
    // (the source the kernel picks to reach the director, found at each probe), on `port`.
    std::optional<netcfg::IpAddress> natDirector{};

    // Its identity, kept across a reload and shown to operators: "tcp 198.51.100.188:80",
    // "https 198.51.100.188:443/health host www.example.org", "exec 198.51.100.188
    // /usr/local/lib/check-db --fast", "dns 198.51.100.53:53 example.org A".
    std::string name() const;
    bool operator==(const ServiceCheck&) const = default;
};
const char* typeName(ServiceCheck::Type t);  // "tcp", "http", "https", "exec", "dns"

// How a drain (drain, drain --vip, SIGTERM, a VIP removed by reload) ends: once no
// connection is left on what it drains, but not before minSeconds (the directors must
// have seen the 503 and stopped sending), and at maxSeconds whatever is left.
struct DrainSettings {
    int minSeconds = 5;   // director-config's checks see a 503 within 4 s (README "Planned maintenance")
    int maxSeconds = 60;
    bool operator==(const DrainSettings&) const = default;
};
inline constexpr int kDefaultDrainMinSeconds = 5;

struct ApiSettings {
    bool enabled = false;
    std::string host;  // "127.0.0.1", "::", ...
    int port = 0;
    std::string tokenFile;  // empty: remote drain/undrain refused (403)
    std::string token;      // read from tokenFile at load
    int agentCheckPort = 0;    // 0: no HAProxy agent-check responder
    int agentCheckWeight = -1; // -1: no weight in agent-check replies
    // How long agent-check waits for a client's agent-send line (a VIP) before it answers
    // for the whole server: HAProxy's agent-inter (or timeout check) must be longer.
    int agentCheckWaitMs = 200;
};

// Readiness to routers: each VIP that is ready (and not drained, not opted out) is kept as
// VIP/32 (/128) dev lo proto 177 in this kernel table, for BIRD or FRR to carry into BGP.
struct AnnounceSettings {
    std::uint32_t table = 0;   // 0: no announcing
    std::uint32_t metric = 0;  // the route's metric (RTA_PRIORITY)
    bool enabled() const { return table != 0; }
    bool operator==(const AnnounceSettings&) const = default;
};

// Tunnel-mode real server: IPIP / GUE from the directors to the VIPs, decapsulated by the
// agent's tc-BPF program on `interfaces` (tunnel/). Off when `interfaces` is empty.
struct TunnelConfig {
    std::vector<std::string> interfaces;
    bool ipip = true;   // IPv4-in-IPv4 (proto 4), IPv6-in-IPv6 (proto 41)
    bool gue = false;   // the inner packet right after a UDP header to guePort
    int guePort = 0;
    std::vector<netcfg::IpAddress> directors;  // the outer sources accepted
    int mss = 0;  // the largest MSS a VIP's SYN-ACK advertises; 0: from the interfaces' MTU
    bool enabled() const { return !interfaces.empty(); }
    bool operator==(const TunnelConfig&) const = default;
};
// The MSS that keeps an encapsulated segment within `mtu`: the outer header (IPv4 20,
// IPv6 40, and UDP 8 for GUE), the inner IP header and TCP's 20 taken off, for the worst
// of the configured families and encapsulations.
int tunnelMss(const TunnelConfig& t, unsigned mtu);

// VS/NAT real server: the director rewrites VIP:virtual_port to this server's RIP:port, and
// the replies must go back through it (it rewrites their source back to the VIP). The
// agent sends only these services' replies there, by policy routing: a rule per port
// (`from RIP ipproto P sport N lookup table`) and `default via DIRECTOR` in that table.
struct NatPort {
    int ipProto = 6;      // IPPROTO_TCP (6) or IPPROTO_UDP (17)
    int port = 0;         // where this server's service answers: the rules' source port
    int virtualPort = 0;  // the director's virtual service port (= port unless NAT maps it)
    // "tcp/80", "udp/53", "tcp/8080" (the virtual port is shown where it is used)
    std::string name() const;
    bool operator==(const NatPort&) const = default;
};
inline constexpr std::uint32_t kDefaultNatTable = 201;
inline constexpr std::uint32_t kDefaultNatPriority = 1000;
struct NatConfig {
    std::vector<netcfg::IpAddress> directors;  // the director's address on this server's network, at most one per family
    std::vector<netcfg::IpAddress> vips;       // the director's virtual addresses (never bound here)
    std::vector<NatPort> ports;
    std::uint32_t table = kDefaultNatTable;
    std::uint32_t priority = kDefaultNatPriority;
    bool enabled() const { return !directors.empty(); }
    // The director of a family (AF_INET, AF_INET6), or nullptr.
    const netcfg::IpAddress* director(int family) const { return netcfg::ofFamily(directors, family); }
    bool isVip(const netcfg::IpAddress& ip) const {
        for (const auto& v : vips)
            if (v == ip) return true;
        return false;
    }
    bool operator==(const NatConfig&) const = default;
};

// Two-box clusters ("colocated"): this real server is also a director (keepalived with
// fwmark virtual services); packets for a VIP and port that no peer director forwarded
// get the mark, so the local fwmark service balances them, and those a peer forwarded
// are served here, never balanced again (the forwarding loop of two directors).
struct ColocatedConfig {
    std::vector<netcfg::IpAddress> peers;   // the other directors' addresses on the shared segment
    std::uint32_t fwmark = 0;               // the mark of this node's fwmark virtual service
    std::vector<NatPort> ports;             // the VIPs' ports (port == virtualPort)
    bool enabled() const { return fwmark != 0; }
    bool operator==(const ColocatedConfig&) const = default;
};

// The widest ranges accepted: a /16 of IPv4 (65,536 addresses), a /64 of IPv6.
inline constexpr int kWidestRange4 = 16;
inline constexpr int kWidestRange6 = 64;

// One VIP as configured: an address, or a range (AnyIP: one local route in table local
// instead of an address on lo); where it came from; how it is treated. Everything the
// configuration says about one VIP is here, so a new per-VIP setting is one field (and
// its parsing in parseVipEntry).
struct Vip {
    netcfg::IpAddress address;  // a range: its network address
    int prefixLen = -1;         // a range's length; -1: a single address
    std::string source{};       // the file it came from (the main file or a drop-in), or "--vip"
    bool drained = false;       // "drained": true: reported not ready from the start
    bool announce = true;       // "announce": false: never put in the announce table

    bool isRange() const { return prefixLen >= 0; }
    // "198.51.100.188", or a range's "198.18.0.0/24": how the VIP is named to operators.
    std::string name() const { return address.name(prefixLen); }
    // Whether ip is this VIP, or an address of this range.
    bool holds(const netcfg::IpAddress& ip) const { return isRange() ? address.covers(prefixLen, ip) : address == ip; }
    bool operator==(const Vip&) const = default;
};

struct Config {
    std::string source;  // the file it came from, or "--vip"
    std::vector<Vip> vips;  // in configuration order: the main file's, then each drop-in's
    std::vector<std::string> dropIns;  // the drop-in files read, in order
    AnnounceSettings announce;
    TunnelConfig tunnel;
    ArpSettings arp;
    bool hostRoutes = true;
    // Watch mode (`run`).
    int checkIntervalMs = 1000;  // re-read of the ARP sysctls (no change events exist)
    DrainSettings drain;         // "drain": {"min_seconds", "max_seconds"} ("drain_seconds": the maximum)
    int resyncSeconds = 30;      // a full look at the kernel even without events (lost ones)
    bool keepOnExit = false;     // leave everything in place when `run` exits
    ApiSettings api;
    std::vector<ServiceCheck> services;
    // The director's own address, for doctor: DR replies must not route back through it.
    // (NAT is the opposite: its replies must; "nat" names its director itself.)
    std::optional<netcfg::IpAddress> director;
    NatConfig nat;
    ColocatedConfig colocated;

    // The VIP keyed by vip (a range by its network address), or nullptr.
    const Vip* find(const netcfg::IpAddress& vip) const;
    // A range's prefix length; -1 for a plain VIP (or none).
    int rangeLength(const netcfg::IpAddress& vip) const {
        const Vip* v = find(vip);
        return v ? v->prefixLen : -1;
    }
    // How the VIP keyed by vip is named to operators ("198.18.0.0/24" for a range).
    std::string vipText(const netcfg::IpAddress& vip) const { return vip.name(rangeLength(vip)); }
    // The VIP that holds ip: ip itself, or the range that covers it.
    std::optional<netcfg::IpAddress> vipHolding(const netcfg::IpAddress& ip) const;
    // Every VIP's key, in order.
    std::vector<netcfg::IpAddress> addresses() const;
    bool hasRanges() const;
};

// Every problem found, one line each: "FILE: FIELD: PROBLEM".
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

inline constexpr const char* kDefaultConfigPath = "/etc/lvs-rs-agent/config.json";

// Parses a JSON document. cliVips, when not empty, replace the document's "vips".
// otherVips: VIPs configured elsewhere (drop-ins): services may name them, and "vips"
// may then be missing or empty here.
Config parseConfig(const std::string& text, const std::string& source,
                   const std::vector<std::string>& cliVips = {}, const std::vector<netcfg::IpAddress>& otherVips = {});

// --vip alone: no file is read, every other setting keeps its default.
// --config (or the default path) with or without --vip: the file is read, then the
// drop-ins: configDir/*.json (default: conf.d beside the file) in lexical order, each
// holding only "vips" and "services". A VIP in two files, or any problem in any file, is
// an error naming the file and the field; nothing is taken from a set with a problem.
// onThisHost: also what only this host can say (serviceHostProblems); false for
// `check --offline`, which validates the files alone.
Config loadConfig(const std::optional<std::string>& path, const std::vector<std::string>& cliVips,
                  const std::optional<std::string>& configDir = std::nullopt, bool onThisHost = true);
// What the service checks need of this host, one line each: an exec command that is not
// an executable file belonging to root or to self (the agent's user) in directories
// nobody else may write (keepalived's script_security), a ca_file that cannot be read.
std::vector<std::string> serviceHostProblems(const Config& cfg, unsigned self);
// Where the drop-ins of a configuration file are looked for by default.
std::string defaultConfigDir(const std::string& configPath);
inline const std::vector<std::string> kDropInKeys{"vips", "services"};
// Every key of the main file (its sections' own keys are checked where they are parsed).
inline const std::vector<std::string> kMainFileKeys{"vips", "arp", "host_routes", "announce", "tunnel", "nat", "colocated",
                                                    "check_interval_ms", "drain", "drain_seconds", "resync_interval_seconds",
                                                    "keep_on_exit", "api", "services", "director"};

// text as a VIP ("198.51.100.188", or with its host prefix "/32"), or why it is not one.
std::expected<netcfg::IpAddress, std::string> parseVip(const std::string& text);
// text as a range ("198.18.0.0/24"): its network address and length, or why it is not one.
struct Range {
    netcfg::IpAddress network;
    int length = 0;
};
std::expected<Range, std::string> parseRange(const std::string& text);
// Where VIPs and ranges overlap (a VIP in a range, two ranges sharing addresses), one line
// each naming both, and where each came from when drop-ins are in use.
std::vector<std::string> overlapProblems(const Config& cfg);

}  // namespace agent
