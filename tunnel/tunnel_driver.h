#pragma once
// The tunnel as the agent sees it: the decapsulation program's filters on each interface's
// clsact hooks, and what its maps hold. The libbpf implementation (tunnel_driver.cpp)
// talks to the kernel; the unit tests' FakeTunnelDriver (tests/support) stands in for it.
// The reconciler plans over what this reports, and changes the kernel only through it.
// Changes answer as netcfg's do: the errno of a refusal, and whether anything changed
// (a clsact qdisc that was already there is Effect::AlreadyDone, so it is never recorded
// as the agent's own).
//
// The agent's filters are told by place and by program: handle kTunnelHandle at priority
// kTunnelPriority, running lvs_decap (ingress) or lvs_mss (egress). Nothing else on a hook
// is ever touched; a clsact qdisc is created when absent and removed only by the one who
// created it, once no filter is left on it.
#include <array>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "netcfg/ip_address.h"
#include "netcfg/netlink.h"
#include "tunnel/tunnel_program.h"

namespace tunnel {

inline constexpr std::uint32_t kTunnelHandle = 0x1d5;
inline constexpr std::uint32_t kTunnelPriority = 0xa6;

// What the program's maps hold.
struct TunnelMaps {
    TunnelSettings settings;
    std::set<IpAddress> vips;
    std::set<IpAddress> directors;
    bool operator==(const TunnelMaps&) const = default;
};

// One interface's hooks as the kernel has them.
struct TunnelHook {
    bool clsact = false;   // the interface has a clsact qdisc
    bool ingress = false;  // the agent's filter runs the program the agent holds
    bool egress = false;
    bool foreignIngress = false;  // the agent's place holds another program (an older run's)
    bool foreignEgress = false;
    bool attached() const { return ingress && egress; }
    bool operator==(const TunnelHook&) const = default;
};

struct TunnelStats {
    std::map<IpAddress, TunnelCounters> vips;
    std::array<std::uint64_t, kTunnelDropReasons> drops{};
};

class TunnelDriver {
public:
    virtual ~TunnelDriver() = default;
    // Holds the program: the one the agent's filters on `ifindexes` run (taken up as it
    // is, maps and counters included), else a new one loaded now. The error is the
    // kernel's refusal (no BPF, no permission, the verifier), in one line.
    // With mayLoad false (status, doctor), nothing is loaded: only what runs is taken up.
    virtual std::expected<void, std::string> prepare(const std::vector<int>& ifindexes, bool mayLoad = true) = 0;
    virtual bool prepared() const = 0;
    // The maps of the program held (nullopt: none held).
    virtual std::optional<TunnelMaps> maps() const = 0;
    // The interface's hooks; an error when the kernel cannot be asked.
    virtual std::expected<TunnelHook, std::string> hook(int ifindex) = 0;
    // Adds a clsact qdisc; one already there is AlreadyDone.
    virtual netcfg::NetResult createClsact(int ifindex) = 0;
    // Attaches the program held to both hooks of the clsact qdisc (replacing what the
    // agent's place holds).
    virtual netcfg::NetResult attach(int ifindex) = 0;
    // Removes the agent's filters (only where they run an lvs_* program), and the clsact
    // qdisc when `removeClsact` and nothing else is left on it; nothing there: AlreadyDone.
    virtual netcfg::NetResult detach(int ifindex, bool removeClsact) = 0;
    // Makes the maps hold `want`; a VIP keeps its counters while it stays. Already so: AlreadyDone.
    virtual netcfg::NetResult sync(const TunnelMaps& want) = 0;
    virtual TunnelStats stats() const = 0;
    // Grows whenever a counter of stats() moves: one read where stats() takes one per VIP.
    virtual std::uint64_t activity() const = 0;

    // The descriptors that keep the held program and its maps alive, named, for systemd's
    // store (as one bundle); a restart hands them back through offer(). programId 0: none held.
    struct Descriptors {
        std::uint32_t programId = 0;
        std::vector<std::pair<std::string, int>> fds;
    };
    virtual Descriptors descriptors() const { return {}; }
    // What a previous process kept, by those names: prepare() takes the program up, with its
    // counters, before looking elsewhere. Returns the program's id, 0 when the descriptors
    // are not the agent's program.
    virtual std::uint32_t offer(std::multimap<std::string, agent::UniqueFd> /*fds*/) { return 0; }
};

// The kernel's, through libbpf (tc hooks, program and maps) and libnl (filter count).
std::unique_ptr<TunnelDriver> makeKernelTunnelDriver();

}  // namespace tunnel
