#pragma once
// What every command that reads or changes the kernel shares: the netlink socket, the
// sysctl tree, the state file and its lock. The reconciler does the work.
#include <chrono>
#include <expected>
#include <memory>
#include <string>

#include "agent/reconcile/lock.h"
#include "agent/reconcile/plan.h"
#include "agent/reconcile/reconciler.h"
#include "agent/reconcile/state_file.h"
#include "agent/reconcile/state_model.h"
#include "netcfg/sock_diag.h"

namespace agent {

class Session {
public:
    static std::expected<Session, std::string> open(const std::string& stateDir);
    // A session over a given Netlink (the daemon's unit tests pass a FakeNetlink).
    Session(std::unique_ptr<netcfg::Netlink> nl, std::string stateDir, sysctl::SysctlTree tree = sysctl::SysctlTree(),
            std::unique_ptr<tunnel::TunnelDriver> tunnel = nullptr, std::unique_ptr<netcfg::ConnectionCounter> connections = nullptr);

    netcfg::Netlink& netlink() { return *netlink_; }
    tunnel::TunnelDriver* tunnel() { return tunnel_.get(); }
    // The connections on the VIPs (socket diagnostics); nullptr: none can be counted.
    netcfg::ConnectionCounter* connections() { return connections_.get(); }
    const sysctl::SysctlTree& sysctls() const { return sysctls_; }
    const StateFile& stateFile() const { return stateFile_; }

    std::expected<Observed, std::string> observe(const Desired& d, const Owned& owned) {
        return agent::observe(*netlink_, sysctls_, d, owned, tunnel_.get(), /*mayLoad=*/false, marks_.get());
    }
    Reconciler reconciler(Owned owned, Desired desired) {
        Reconciler r(*netlink_, sysctls_, stateFile_, std::move(owned), std::move(desired), tunnel_.get());
        r.setMarks(marks_.get());
        return r;
    }
    // The two-box marks' table (nullptr: nftables could not be opened).
    netcfg::MarksDriver* marks() { return marks_.get(); }
    void setMarks(std::unique_ptr<netcfg::MarksDriver> m) { marks_ = std::move(m); }

    // Takes the state-dir lock (waiting up to `wait`), then reads what the agent owns.
    struct Locked {
        DirLock lock;
        Owned owned;
    };
    std::expected<Locked, std::string> lockAndLoad(std::chrono::milliseconds wait);
    // The plan against the live kernel and the state file, changing nothing (--dry-run).
    std::expected<Plan, std::string> dryRun(const Desired& desired);

private:
    std::unique_ptr<netcfg::Netlink> netlink_;
    std::unique_ptr<tunnel::TunnelDriver> tunnel_;
    std::unique_ptr<netcfg::MarksDriver> marks_;
    std::unique_ptr<netcfg::ConnectionCounter> connections_;
    sysctl::SysctlTree sysctls_;
    StateFile stateFile_;
};

void printPlan(const Plan& p);

// STATE_DIR/daemon.pid: `run` owns this state dir. Written when the daemon has its lock,
// removed when it exits having done what it should (undone, or keep_on_exit), and by a
// start or stop that takes the state over. Left behind by kill -9 or a crash, so
// `status` can tell a dead daemon (exit 1) from one that never ran.
std::filesystem::path daemonMarkerPath(const std::filesystem::path& stateDir);
std::expected<void, std::string> writeDaemonMarker(const std::filesystem::path& stateDir);
void clearDaemonMarker(const std::filesystem::path& stateDir);
// The pid the marker names, or nullopt when there is none (or it is unreadable).
std::optional<long> daemonMarker(const std::filesystem::path& stateDir);

}  // namespace agent
