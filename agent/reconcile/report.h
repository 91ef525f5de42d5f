#pragma once
// What is expected and what the kernel has, per VIP and per setting, with the findings
// of the plan. `status` prints it; the daemon renders each VIP's part for /status.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/reconcile/director_watch.h"
#include "agent/reconcile/finding.h"
#include "agent/reconcile/plan.h"
#include "agent/reconcile/state_model.h"

namespace agent {

struct VipReport {
    netcfg::IpAddress vip;
    bool bound = false;         // VIP/32 (/128) on lo
    bool addressOwned = false;  // added by the agent
    bool routeWanted = true;
    bool routePresent = false;  // a host route via lo in table main
    bool routeOwned = false;
    std::vector<Finding> findings;  // this VIP's own
    // A range: its length; `bound` and `addressOwned` then say its local route in table
    // local is there and was added by the agent (a range has no host route).
    int rangeLen = -1;
    // TCP connections on it (every state but LISTEN, TIME_WAIT, CLOSE; not from this
    // host), when counted.
    std::optional<std::uint64_t> connections{};
    std::string text() const { return vip.name(rangeLen); }
    bool ok() const { return findings.empty(); }
};

struct SysctlReport {
    sysctl::ConfKey key;
    int expected = 0;
    std::optional<int> kernel;     // nullopt: could not be read
    std::optional<int> effective;  // max(all, iface); nullopt for "all" and "default"
    std::optional<int> original;   // what the agent found before changing it
    std::string error;
    bool ok = false;
};

// The tunnel decapsulation: where it is attached, what its maps hold, its counters.
struct TunnelReport {
    bool enabled = false;
    std::vector<std::string> interfaces;              // configured
    std::map<std::string, tunnel::TunnelHook> hooks;  // as found
    std::map<std::string, bool> owned;                // the agent's filters there (true: and its clsact qdisc)
    std::optional<tunnel::TunnelMaps> maps;           // of the program that runs
    std::optional<tunnel::TunnelStats> stats;         // read from its maps
};

// A NAT port's reply path as the kernel's own lookup answered it.
struct NatPortReport {
    int family = 0;
    int ipProto = 6;
    int port = 0;
    std::string source{};      // this server's address the rule matches ("" : none facing the director)
    std::string via{}, dev{};  // where the kernel sends the replies ("" via: directly)
    std::uint32_t table = 0;
    bool ok = false;           // via the director, on the link facing it
    std::string why{};         // not ok: why
};
// Each NAT port of each family (the directors' order, then the ports').
std::vector<NatPortReport> natPorts(const Desired& desired, const Observed& observed);

struct NatReport {
    bool enabled = false;
    std::uint32_t table = 0, priority = 0;
    std::vector<NatPortReport> ports;
    std::vector<DirectorStatus> directors;  // looked at once (status), or as the daemon watches them
};

// The two-box marks: the table, the peers' MACs, and this node's role now.
struct ColocatedReport {
    bool enabled = false;
    std::uint32_t mark = 0;
    std::vector<std::pair<std::string, std::string>> peers;  // address, MAC ("": not known)
    bool tableInPlace = false;  // as the configuration and the peers' MACs make it
    bool marking = false;       // its rules are there (every peer's MAC known)
    std::vector<std::string> activeOn;  // "198.51.100.188 on eth0": VIPs held on a real interface (the active director)
    std::string error{};                // nftables could not be asked: why
};
// The marks as desired against the marks as observed (not enabled: no "colocated").
ColocatedReport colocatedReport(const Desired& desired, const Observed& observed);

struct ReadinessReport {
    TunnelReport tunnel;
    ColocatedReport colocated;
    NatReport nat;
    std::vector<VipReport> vips;
    std::vector<SysctlReport> sysctls;
    bool loUp = false;
    std::vector<Finding> findings;       // every unmet condition
    std::vector<std::string> unmanaged;  // addresses on lo the agent does not manage
    std::vector<std::string> ownedElsewhere;  // on lo, added by the agent (`start --vip`) but not in this configuration
    bool unknown = false;                // something could not be read (permission)
    bool ownershipUnknown = false;       // the agent's state could not be read: whose is not known

    bool inPlace() const { return findings.empty() && !unknown; }
};

// The kernel facts of one VIP, with its findings taken from `findings`.
VipReport reportVip(const netcfg::IpAddress& vip, const Desired& desired, const KernelView& kernel, const Owned& owned,
                    std::vector<Finding> findings);
// Addresses on lo the agent does not manage ("203.0.113.9/32"); 127/8 and ::1 left out.
std::vector<std::string> unmanagedOnLo(const Desired& desired, const KernelView& kernel);
ReadinessReport buildReport(const Desired& desired, const Observed& observed, const Owned& owned,
                            const std::vector<Finding>& findings);

std::string renderText(const ReadinessReport& r, bool listUnmanaged);
nlohmann::json toJson(const ReadinessReport& r);
nlohmann::json toJson(const VipReport& v);
nlohmann::json toJson(const Finding& f);

}  // namespace agent
