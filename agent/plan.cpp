#include "agent/plan.h"

#include <algorithm>
#include <cerrno>
#include <set>

namespace agent {
namespace {

using netcfg::IpAddress;

std::string sysctlLine(const SetSysctl& s) {
    return sysctl::dotted(s.key) + ": " + std::to_string(s.from) + " -> " + std::to_string(s.to);
}

}  // namespace

Plan plan(const Desired& desired, const Observed& observed, const Owned& owned) {
    Plan p;
    const int lo = observed.loIndex;
    const KernelIndex index(observed.kernel);
    const bool wantsVips = !desired.vips.empty();
    std::set<IpAddress> wanted(desired.vips.begin(), desired.vips.end());

    if (lo == 0 && (wantsVips || !owned.addresses.empty() || !owned.routes.empty())) {
        p.conflicts.push_back("no loopback interface found in this network namespace");
        p.ownedAfter = owned;
        return p;
    }

    // Conflicts: a VIP that a real interface holds, or whose main route points elsewhere,
    // and a configured interface whose settings cannot be read. What they concern is left
    // as it is; the rest is still planned (`start` refuses the whole plan, `run` applies
    // the rest so one bad VIP does not stop the repair of the others).
    std::set<IpAddress> blocked;
    std::set<sysctl::ConfKey> unreadable;
    for (const auto& vip : desired.vips) {
        for (const auto& a : index.addressesOf(vip))
            if (a.ifindex != lo) {
                blocked.insert(vip);
                p.conflicts.push_back(vip.str() + " is already an address of " + observed.linkName(a.ifindex) +
                                      ": this host is a director, or the VIP is wrong; binding it on lo would not help");
            }
        if (desired.hostRoutes && !index.hasRouteVia(lo, vip))
            for (const auto& r : index.routesTo(vip)) {
                blocked.insert(vip);
                p.conflicts.push_back("table main has a route for " + vip.hostCidr() + " via " +
                                      observed.linkName(r.oif) + ", not lo: remove it first");
            }
    }
    for (const auto& [key, value] : desired.sysctls)
        if (auto e = observed.sysctlErrors.find(key); e != observed.sysctlErrors.end()) {
            unreadable.insert(key);
            p.conflicts.push_back(e->second.err == ENOENT
                                      ? "interface " + key.iface + " (arp.interfaces) does not exist: " + e->second.message
                                      : e->second.message);
        }

    Owned after;
    // 1. ARP sysctls to their desired values.
    for (const auto& [key, value] : desired.sysctls) {
        const auto original = owned.sysctlOriginals.find(key);
        if (original != owned.sysctlOriginals.end())
            after.sysctlOriginals[key] = original->second;
        if (unreadable.contains(key)) continue;
        const int current = observed.sysctls.at(key);
        if (current != value) {
            p.actions.push_back(SetSysctl{.key = key, .from = current, .to = value, .restore = false});
            after.sysctlOriginals.emplace(key, current);
        }
    }
    // 2. lo up, 3. addresses, 4. routes.
    if (wantsVips && !observed.loUp) p.actions.push_back(BringLinkUp{.ifindex = lo, .name = observed.linkName(lo)});
    for (const auto& vip : desired.vips) {
        if (blocked.contains(vip)) {
            if (owned.addresses.contains(vip)) after.addresses.insert(vip);
            if (owned.routes.contains(vip)) after.routes.insert(vip);
            continue;
        }
        if (!index.hasAddress(lo, vip)) {
            p.actions.push_back(AddAddress{.vip = vip, .ifindex = lo});
            after.addresses.insert(vip);
        } else if (owned.addresses.contains(vip)) {
            after.addresses.insert(vip);
        }
    }
    if (desired.hostRoutes) {
        for (const auto& vip : desired.vips) {
            if (blocked.contains(vip)) continue;
            if (!index.hasRouteVia(lo, vip)) {
                p.actions.push_back(AddRoute{.vip = vip, .ifindex = lo});
                after.routes.insert(vip);
            } else if (owned.routes.contains(vip) && index.hasOwnRoute(lo, vip)) {
                after.routes.insert(vip);
            }
        }
    }
    // 5. What the agent owns but no longer wants: routes, then addresses.
    for (const auto& vip : owned.routes)
        if ((!desired.hostRoutes || !wanted.contains(vip)) && index.hasOwnRoute(lo, vip))
            p.actions.push_back(DeleteRoute{.vip = vip, .ifindex = lo});
    for (const auto& vip : owned.addresses)
        if (!wanted.contains(vip) && index.hasAddress(lo, vip))
            p.actions.push_back(DeleteAddress{.vip = vip, .ifindex = lo});
    // 6. Sysctls the agent changed but no longer manages go back to what it found.
    for (const auto& [key, original] : owned.sysctlOriginals) {
        if (desired.sysctls.contains(key)) continue;
        const auto current = observed.sysctls.find(key);
        if (current != observed.sysctls.end() && current->second != original)
            p.actions.push_back(SetSysctl{.key = key, .from = current->second, .to = original, .restore = true});
        // An interface that has gone takes its settings with it: nothing left to restore.
    }
    p.ownedAfter = std::move(after);
    return p;
}

std::string describe(const Action& a) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, SetSysctl>) return (x.restore ? "restore " : "set ") + sysctlLine(x);
            if constexpr (std::is_same_v<T, BringLinkUp>) return "bring " + x.name + (x.up ? " up" : " down");
            if constexpr (std::is_same_v<T, AddAddress>) return "add " + x.vip.hostCidr() + " to lo";
            if constexpr (std::is_same_v<T, DeleteAddress>) return "remove " + x.vip.hostCidr() + " from lo";
            if constexpr (std::is_same_v<T, AddRoute>) return "add route " + x.vip.hostCidr() + " dev lo table main";
            if constexpr (std::is_same_v<T, DeleteRoute>) return "remove route " + x.vip.hostCidr() + " dev lo table main";
        },
        a);
}

std::string pastTense(const Action& a) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, SetSysctl>) return sysctlLine(x) + (x.restore ? " (restored)" : "");
            if constexpr (std::is_same_v<T, BringLinkUp>) return "brought " + x.name + (x.up ? " up" : " down");
            if constexpr (std::is_same_v<T, AddAddress>) return "added " + x.vip.hostCidr() + " to lo";
            if constexpr (std::is_same_v<T, DeleteAddress>) return "removed " + x.vip.hostCidr() + " from lo";
            if constexpr (std::is_same_v<T, AddRoute>) return "added route " + x.vip.hostCidr() + " dev lo table main";
            if constexpr (std::is_same_v<T, DeleteRoute>) return "removed route " + x.vip.hostCidr() + " dev lo table main";
        },
        a);
}

Action inverse(const Action& a) {
    return std::visit(
        [](const auto& x) -> Action {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, SetSysctl>)
                return SetSysctl{.key = x.key, .from = x.to, .to = x.from, .restore = !x.restore};
            if constexpr (std::is_same_v<T, BringLinkUp>) return BringLinkUp{.ifindex = x.ifindex, .name = x.name, .up = !x.up};
            if constexpr (std::is_same_v<T, AddAddress>) return DeleteAddress{.vip = x.vip, .ifindex = x.ifindex};
            if constexpr (std::is_same_v<T, DeleteAddress>) return AddAddress{.vip = x.vip, .ifindex = x.ifindex};
            if constexpr (std::is_same_v<T, AddRoute>) return DeleteRoute{.vip = x.vip, .ifindex = x.ifindex};
            if constexpr (std::is_same_v<T, DeleteRoute>) return AddRoute{.vip = x.vip, .ifindex = x.ifindex};
        },
        a);
}

}  // namespace agent
