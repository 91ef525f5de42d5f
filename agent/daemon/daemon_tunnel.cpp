// The tunnel decapsulation, as the daemon keeps it: its program's descriptors in
// systemd's store across a restart (one bundle: the store tells descriptors apart by
// inode, and every BPF object shares one), and its counters in the snapshot.
#include "agent/base/log.h"
#include "agent/daemon/daemon.h"

namespace agent {

void Daemon::takeStoredTunnel() {
    const auto kept = inherited_.find(kTunnelBundle);
    if (kept == inherited_.end()) return;
    auto fds = unbundleFds(kept->second.get());
    inherited_.erase(kept);
    notifier_.removeStoredFd(kTunnelBundle);  // read once: a new bundle is stored after the first pass
    if (!fds) logWarning(fds.error() + "; the tunnel program is loaded anew");
    if (auto* driver = reconciler_->tunnel(); driver && fds) {
        const std::uint32_t offered = driver->offer(std::move(*fds));
        if (offered != 0) logInfo("the tunnel program kept across the restart (id " + std::to_string(offered) + ") is offered for taking up");
    }
}

void Daemon::keepTunnelStored() {
    if (!state_.converged() || !notifier_.underSystemd()) return;  // the program is decided by the first pass
    const auto* driver = reconciler_->tunnel();
    const auto d = driver ? driver->descriptors() : tunnel::TunnelDriver::Descriptors{};
    if (d.programId == storedTunnel_) return;
    if (storedTunnel_ != 0) notifier_.removeStoredFd(kTunnelBundle);
    storedTunnel_ = d.programId;
    if (d.fds.empty()) return;
    auto bundle = bundleFds(d.fds);
    if (!bundle || !notifier_.storeFd(kTunnelBundle, bundle->get()))
        logWarning("the tunnel program's descriptors are not kept in systemd's store (" + (bundle ? std::string("refused") : bundle.error()) +
                   "): a restart loads it anew");
}

std::uint64_t Daemon::tunnelActivity() const {
    const auto* driver = reconciler_->tunnel();
    return cfg_.tunnel.enabled() && driver && driver->prepared() ? driver->activity() : 0;
}

void Daemon::fillTunnel(api::TunnelState& out) const {
    if (!cfg_.tunnel.enabled()) return;
    out.enabled = true;
    const auto& seen = reconciler_->observed().tunnel;
    if (seen.maps) out.mss = seen.maps->settings.mss;
    for (const auto& name : cfg_.tunnel.interfaces) {
        const auto h = seen.hooks.find(name);
        out.interfaces.push_back({.name = name, .attached = h != seen.hooks.end() && h->second.attached()});
    }
    auto* driver = reconciler_->tunnel();
    if (!driver || !driver->prepared()) return;
    const auto stats = driver->stats();
    for (const auto& [vip, c] : stats.vips)
        out.vips.push_back({.vip = vip.str(), .ipipPackets = c.ipipPackets, .ipipBytes = c.ipipBytes,
                            .guePackets = c.guePackets, .gueBytes = c.gueBytes, .mssClamped = c.mssClamped});
    for (int i = 0; i < tunnel::kTunnelDropReasons; ++i)
        out.drops.emplace_back(tunnel::name(static_cast<tunnel::TunnelDrop>(i)), stats.drops[static_cast<std::size_t>(i)]);
}

}  // namespace agent
