#pragma once
// The reconciler: plan -> apply -> findings, for `start`/`stop` and for `run`.
//  - converge(): a full look at the kernel, one plan applied as a transaction (all or
//    nothing), verified by a second full look (start, stop) or by the kernel's acks
//    (the daemon's first pass and its exit).
//  - resync(), onChanges(), checkSysctls(), repair(): the daemon's incremental mode.
//    A mirror of what the agent cares about (KernelView) follows rtnetlink changes;
//    only the items a change touched are marked dirty and planned; each action is
//    applied on its own (one failing item never undoes another); each item has its own
//    flap damping and its own retry backoff; its findings are replaced only when planned.
// It is built on the Netlink interface, a SysctlTree and a StateFile, so unit tests drive
// it with FakeNetlink, a folder standing in for /proc/sys, and fake changes.
#include <chrono>
#include <expected>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/reconcile/executor.h"
#include "agent/reconcile/finding.h"
#include "agent/reconcile/flap_damper.h"
#include "agent/reconcile/plan.h"
#include "agent/reconcile/state_model.h"
#include "netcfg/events.h"

namespace agent {

class Reconciler {
public:
    using Clock = std::chrono::steady_clock;

    Reconciler(netcfg::Netlink& netlink, const sysctl::SysctlTree& sysctls, const StateFile& stateFile, Owned owned,
               Desired desired, tunnel::TunnelDriver* tunnel = nullptr);

    const Desired& desired() const { return desired_; }
    const Owned& owned() const { return owned_; }
    const Observed& observed() const { return observed_; }
    // Where the repairs' own problems go (a state file that cannot be written).
    void setLog(LogLine log) { log_ = std::move(log); }
    // A new desired state (a reload); every item is planned again by the next pass.
    void setDesired(Desired d);
    // The VIPs to announce now (ready, not drained, not opted out): those that changed are
    // planned by the next pass; their changes follow readiness and are not drift. Ends
    // the hold of a fresh start (Desired::holdAnnounced).
    void setAnnounced(std::set<netcfg::IpAddress> vips);

    enum class Verify { Dump, Acks };
    struct PassResult {
        enum class Outcome { Done, Refused, Failed };
        Outcome outcome = Outcome::Done;
        int changes = 0;
        std::vector<Finding> conflicts;  // Refused: nothing was changed
        std::string error;               // Failed
        bool drifted = false;            // applied, but the check found something undone meanwhile
        bool ok() const { return outcome == Outcome::Done; }
    };
    // Start, stop, and the daemon's first pass and its exit. With Verify::Acks the
    // mirror is left current (from the dump and the acks) for the incremental mode.
    PassResult converge(const LogLine& log, Verify verify);

    // --- incremental mode ---
    // A full dump and a fresh read of the sysctls: the mirror is replaced and every item
    // is dirty. At start, after lost notifications, on the periodic resync, and when lo
    // changes (the kernel flushes routes with a link without announcing each).
    std::expected<void, std::string> resync();
    // Applies notifications to the mirror; marks the items whose state they changed.
    // The agent's own changes, already in the mirror from their acks, change nothing.
    void onChanges(const std::vector<netcfg::Change>& changes);
    bool resyncDue() const { return resyncDue_; }
    // Reads the sysctls again; marks the ones whose value changed.
    void checkSysctls();
    // Asks the kernel for each NAT port's reply path (its own lookup, as a reply would
    // go); a family whose answer changed is planned again.
    void checkNatPaths();
    // Asks the tunnel driver again (no events tell of tc filters); marks what changed.
    void checkTunnel();
    tunnel::TunnelDriver* tunnel() const { return tunnel_; }
    // The two-box marks' table, through driver (nullptr: none can be written).
    void setMarks(netcfg::MarksDriver* driver) { marks_ = driver; }
    // Reads the marks' table and the peers' MACs again (no event tells of nftables here);
    // the marks' item is planned again when either changed.
    void checkMarks();

    struct Repaired {
        std::vector<Action> changed;  // succeeded (what the kernel now has)
        std::vector<Action> followed;  // succeeded: announce routes that followed readiness (not drift)
        std::vector<std::pair<Action, ActionError>> failed;
        std::set<Subject> findingsChanged;  // items whose findings differ from before
        std::optional<std::string> fightLine;  // a new flap-damping step, to log
    };
    // Plans the dirty items whose backoff has passed and applies each action on its own.
    // `countAsRepairs`: false for a reload's changes (not drift; never damped).
    Repaired repair(Clock::time_point now, bool countAsRepairs);
    bool hasDirty() const { return !dirty_.empty(); }
    std::size_t dirtyCount() const { return dirty_.size(); }
    // The earliest time a dirty item may be repaired; nullopt when nothing is dirty.
    std::optional<Clock::time_point> nextRepairAt() const;

    // The plan a new desired state would get over the mirror (its settings read now),
    // changing nothing: what a reload checks before it applies anything.
    Plan preview(const Desired& d) const;
    // The conflicts of p that the items do not have already (new with the change).
    std::vector<Finding> newConflicts(const Plan& p) const;

    // Findings by item, current after every pass.
    const std::map<Subject, std::vector<Finding>>& findings() const { return findings_; }
    std::vector<Finding> allFindings() const;
    FlapDamper& damper() { return damper_; }
    const FlapDamper& damper() const { return damper_; }

private:
    // A full look at the kernel and the whole plan over it; the findings follow the plan.
    std::expected<Plan, std::string> lookAndPlan();
    void markAll();
    void markVip(const netcfg::IpAddress& ip);
    void markAnnounce(const netcfg::IpAddress& ip);
    void markNat(int family);
    void confirm(const Action& a);  // an acked action, into the mirror
    Executor executor(const LogLine& log) const { return Executor{netlink_, sysctls_, stateFile_, log, tunnel_, marks_}; }
    Clock::time_point allowedAt(const Subject& s) const;

    netcfg::Netlink& netlink_;
    tunnel::TunnelDriver* tunnel_;
    netcfg::MarksDriver* marks_ = nullptr;
    const sysctl::SysctlTree& sysctls_;
    sysctl::SysctlReader reader_;  // the sysctls checked every tick, kept open
    std::set<sysctl::ConfKey> readerKeys_;  // the keys reader_ holds open
    const StateFile& stateFile_;
    Owned owned_;  // what the state file says
    Desired desired_;
    Observed observed_;
    std::set<Subject> dirty_;
    std::set<Subject> following_;  // announce items whose next change follows readiness
    bool resyncDue_ = false;
    std::map<Subject, std::vector<Finding>> findings_;
    struct Retry {
        int failures = 0;
        Clock::time_point at{};
    };
    std::map<Subject, Retry> retries_;
    FlapDamper damper_;
    LogLine log_;
};

// A label for the damper and the counters: "address 198.51.100.1/32", "route ...",
// "net.ipv4.conf.all.arp_ignore", "link lo".
std::string settingOf(const Action& a);
// "address", "route", "sysctl", "link": the repairs_total kinds.
std::string kindOf(const Action& a);

}  // namespace agent
