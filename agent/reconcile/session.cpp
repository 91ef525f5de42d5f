#include "agent/reconcile/session.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "agent/base/log.h"
#include "agent/base/text_file.h"
#include "agent/base/unique_fd.h"

namespace agent {

Session::Session(std::unique_ptr<netcfg::Netlink> nl, std::string stateDir, sysctl::SysctlTree tree,
                 std::unique_ptr<tunnel::TunnelDriver> tunnel, std::unique_ptr<netcfg::ConnectionCounter> connections)
    : netlink_(std::move(nl)),
      tunnel_(std::move(tunnel)),
      connections_(std::move(connections)),
      sysctls_(std::move(tree)),
      stateFile_(std::move(stateDir)) {}

std::expected<Session, std::string> Session::open(const std::string& stateDir) {
    auto nl = netcfg::openKernelNetlink();
    if (!nl) return std::unexpected(nl.error().message);
    Session s(std::move(*nl), stateDir, sysctl::SysctlTree(), tunnel::makeKernelTunnelDriver(), netcfg::makeKernelConnectionCounter());
    if (auto marks = netcfg::openKernelMarks()) s.setMarks(std::move(*marks));  // else the marks' item says "nftables is not open"
    return s;
}

std::expected<Session::Locked, std::string> Session::lockAndLoad(std::chrono::milliseconds wait) {
    auto lock = DirLock::acquire(stateFile_.dir(), wait, logInfo);
    if (!lock) return std::unexpected(lock.error());
    if (auto torn = stateFile_.discardTornWrite(); !torn)
        return std::unexpected(torn.error());
    else if (*torn)
        logInfo("removed " + (stateFile_.dir() / "state.json.tmp").string() +
                ", left by a write that a crash cut short (nothing it lists was applied)");
    auto owned = stateFile_.load();
    if (!owned) return std::unexpected(owned.error());
    return Locked{.lock = std::move(*lock), .owned = std::move(*owned)};
}

std::expected<Plan, std::string> Session::dryRun(const Desired& desired) {
    auto owned = stateFile_.load();
    if (!owned) return std::unexpected(owned.error());
    auto observed = observe(desired, *owned);
    if (!observed) return std::unexpected(observed.error());
    return plan(desired, *observed, *owned);
}

std::filesystem::path daemonMarkerPath(const std::filesystem::path& stateDir) { return stateDir / "daemon.pid"; }

std::expected<void, std::string> writeDaemonMarker(const std::filesystem::path& stateDir) {
    const auto path = daemonMarkerPath(stateDir);
    const std::string text = std::to_string(::getpid()) + "\n";
    const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0 || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return std::unexpected("writing " + path.string() + ": " + std::strerror(errno));
    return {};
}

void clearDaemonMarker(const std::filesystem::path& stateDir) { ::unlink(daemonMarkerPath(stateDir).c_str()); }

std::optional<long> daemonMarker(const std::filesystem::path& stateDir) {
    auto text = readLimited(daemonMarkerPath(stateDir).string(), {.maxBytes = 64, .deadline = std::chrono::milliseconds(1000), .allowPipe = false});
    if (!text) return std::nullopt;
    try {
        return std::stol(*text);
    } catch (const std::exception&) {
        return 0;  // there, but not a pid: still a daemon's
    }
}

void printPlan(const Plan& p) {
    for (const auto& c : p.conflicts()) std::printf("conflict: %s\n", describe(c).c_str());
    if (p.empty()) std::printf("nothing to do: already in place\n");
    for (const auto& a : p.actions) std::printf("would %s\n", describe(a).c_str());
}

}  // namespace agent
