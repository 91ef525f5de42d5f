#include "support/fake_tunnel_driver.h"

#include <cerrno>
#include <utility>

namespace tunnel {
namespace {

netcfg::NetResult refused(int err, const std::string& why) { return std::unexpected(netcfg::NetError{.code = 0, .err = err, .message = why}); }

}  // namespace

std::expected<void, std::string> FakeTunnelDriver::prepare(const std::vector<int>& ifindexes, bool mayLoad) {
    if (program) return {};
    for (int i : ifindexes) {
        const auto it = hooks.find(i);
        if (attachedProgram && it != hooks.end() && it->second.ours[0]) {
            program = attachedProgram;
            return {};
        }
    }
    if (!mayLoad) return {};
    if (!loadError.empty()) return std::unexpected(loadError);
    program = TunnelMaps{};
    // A new program: the filters of an older one no longer run what the agent holds.
    for (auto& [i, h] : hooks)
        for (int d = 0; d < 2; ++d)
            if (h.ours[d]) h.ours[d] = false, h.foreign[d] = true;
    return {};
}

std::expected<TunnelHook, std::string> FakeTunnelDriver::hook(int ifindex) {
    TunnelHook out;
    const auto it = hooks.find(ifindex);
    if (!interfaces.contains(ifindex) || it == hooks.end()) return out;
    out.clsact = it->second.clsact;
    out.ingress = it->second.ours[0] && program.has_value();
    out.egress = it->second.ours[1] && program.has_value();
    out.foreignIngress = it->second.foreign[0] || (it->second.ours[0] && !program);
    out.foreignEgress = it->second.foreign[1] || (it->second.ours[1] && !program);
    return out;
}

netcfg::NetResult FakeTunnelDriver::createClsact(int ifindex) {
    if (!interfaces.contains(ifindex)) return refused(ENODEV, "no such device");
    if (std::exchange(hooks[ifindex].clsact, true)) return netcfg::Effect::AlreadyDone;
    return netcfg::Effect::Changed;
}

netcfg::NetResult FakeTunnelDriver::attach(int ifindex) {
    if (!program) return refused(0, "no tunnel program held");
    if (!interfaces.contains(ifindex)) return refused(ENODEV, "no such device");
    if (!attachError.empty()) return refused(0, attachError);
    const auto it = hooks.find(ifindex);
    if (it == hooks.end() || !it->second.clsact) return refused(EINVAL, "no clsact qdisc");
    ++attaches;
    Hooks& h = it->second;
    h.ours[0] = h.ours[1] = true;
    h.foreign[0] = h.foreign[1] = false;
    return netcfg::Effect::Changed;
}

netcfg::NetResult FakeTunnelDriver::detach(int ifindex, bool removeClsact) {
    ++detaches;
    const auto it = hooks.find(ifindex);
    if (it == hooks.end()) return netcfg::Effect::AlreadyDone;
    Hooks& h = it->second;
    for (int d = 0; d < 2; ++d) h.ours[d] = h.foreign[d] = false;
    if (removeClsact && h.others == 0) hooks.erase(it);
    return netcfg::Effect::Changed;
}

netcfg::NetResult FakeTunnelDriver::sync(const TunnelMaps& want) {
    if (!program) return refused(0, "no tunnel program held");
    ++syncs;
    program = want;
    return netcfg::Effect::Changed;
}

}  // namespace tunnel
