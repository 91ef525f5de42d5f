#include "agent/reconcile/director_watch.h"

#include <linux/neighbour.h>

#include <algorithm>

namespace agent {

namespace {

using Reach = DirectorStatus::Reach;

double seconds(DirectorWatch::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string arpName(const netcfg::IpAddress& ip) { return ip.family == AF_INET6 ? "NDP" : "ARP"; }

// The fields of a look that the operator sees (the rest moves every second).
void describeEntry(DirectorStatus& st, const std::optional<netcfg::Neighbour>& n) {
    st.neighbourState = n ? netcfg::nudName(n->state) : "";
    st.managed = n && n->managed;
    st.isStatic = n && n->isStatic();
    st.confirmedAgo = n && n->valid() ? n->confirmedAgo : -1;
    if (n && n->valid()) st.mac = n->mac;
}

}  // namespace

void DirectorWatch::follow(netcfg::Netlink& nl, const Desired& desired, const KernelView& k) {
    std::vector<DirectorStatus> next;
    auto add = [&](const netcfg::IpAddress& d, DirectorStatus::Role role) {
        DirectorStatus st{.director = d, .role = role};
        if (const auto rip = k.addressFacing(d)) {
            st.ifindex = rip->ifindex;
            st.iface = k.linkName(rip->ifindex);
        }
        next.push_back(std::move(st));
    };
    if (desired.nat && !desired.holdNat)
        for (const auto& d : desired.nat->directors) add(d, DirectorStatus::Role::Nat);
    if (desired.colocated && !desired.holdMarks)
        for (const auto& d : desired.colocated->peers) add(d, DirectorStatus::Role::Peer);
    std::vector<Memory> memory(next.size());
    std::vector<std::string> logged(next.size());
    // What is still followed keeps its history; what is not is let go.
    for (std::size_t i = 0; i < status_.size(); ++i) {
        const auto& old = status_[i];
        const auto it = std::find_if(next.begin(), next.end(), [&](const DirectorStatus& s) {
            return s.director == old.director && s.ifindex == old.ifindex && s.role == old.role;
        });
        if (it == next.end()) {
            releaseManagedNeighbour(nl, old.ifindex, old.director);
            continue;
        }
        const auto at = static_cast<std::size_t>(it - next.begin());
        *it = old;
        memory[at] = memory_[i];
        logged[at] = lastLogged_[i];
    }
    status_ = std::move(next);
    memory_ = std::move(memory);
    lastLogged_ = std::move(logged);
}

const DirectorStatus* DirectorWatch::find(int family) const {
    for (const auto& s : status_)
        if (s.role == DirectorStatus::Role::Nat && s.director.family == family) return &s;
    return nullptr;
}

std::vector<std::string> DirectorWatch::step(netcfg::Netlink& nl, Clock::time_point now) {
    using netcfg::NeighbourChange;
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < status_.size(); ++i) {
        auto& st = status_[i];
        auto& m = memory_[i];
        const std::string who = (st.role == DirectorStatus::Role::Nat ? "NAT director " : "peer director ") + st.director.str();
        if (st.ifindex == 0) {
            st.reach = Reach::Unreachable;
            st.why = "no address of this host is on its subnet";
            continue;
        }
        auto got = nl.neighbour(st.ifindex, st.director);
        if (!got) {
            st.reach = Reach::Unknown;
            st.why = "its neighbour entry cannot be read: " + got.error().message;
            continue;
        }
        const auto& n = *got;
        const std::string before = st.mac;
        describeEntry(st, n);
        if (n && n->managed) m.managedSeen = true;
        const bool managedKernel = m.managedSeen || m.manages < 3;
        const auto manage = [&](bool evenIfManaged) {
            if (!managedKernel && !evenIfManaged) return;
            if (!evenIfManaged && m.lastManage && seconds(now - *m.lastManage) < 1.0) return;
            ++m.manages;
            m.lastManage = now;
            (void)nl.changeNeighbour(st.ifindex, st.director, NeighbourChange::Manage, n.value_or(netcfg::Neighbour{}));
        };
        if (n && n->valid() && !before.empty() && n->mac != before) {
            ++st.macChanges;
            lines.push_back(who + " answers from a new MAC: " + before + " -> " + n->mac + " (a failover to the other director?)");
        }
        if (n && n->isStatic()) {
            m.unresolvedSince.reset();
            st.reach = Reach::Reachable;
            st.why.clear();
        } else if (n && n->valid()) {
            m.unresolvedSince.reset();
            // Nothing confirmed it for a second: have the kernel verify it now.
            if (n->confirmedAgo >= kProbeAfter && n->state != NUD_PROBE && (!m.lastProbe || seconds(now - *m.lastProbe) >= 1.0)) {
                if (nl.changeNeighbour(st.ifindex, st.director, NeighbourChange::Probe, *n)) {
                    ++st.probes;
                    m.lastProbe = now;
                    if (managedKernel) manage(true);  // the probe cleared the flag
                }
            } else if (!n->managed) {
                manage(false);
            }
            if (n->confirmedAgo < kUnreachableAfter) {
                st.reach = Reach::Reachable;
                st.why.clear();
            } else if (m.lastProbe && seconds(now - *m.lastProbe) >= kUnreachableAfter - kProbeAfter) {
                st.reach = Reach::Unreachable;
                st.why = "it has not answered " + arpName(st.director) + " for 3 s or more";
            } else {
                st.reach = Reach::Unknown;
                st.why = "verifying that it answers " + arpName(st.director);
            }
        } else {
            if (!m.unresolvedSince) m.unresolvedSince = now;
            // No entry, or a failed one: resolve it again (a managed entry re-resolves by itself).
            if (!n || n->state == NUD_FAILED) manage(true);
            else if (!n->managed) manage(false);
            if (n && n->state == NUD_FAILED) {
                st.reach = Reach::Unreachable;
                st.why = "it does not answer " + arpName(st.director) + " on " + st.iface;
            } else if (seconds(now - *m.unresolvedSince) >= kUnreachableAfter) {
                st.reach = Reach::Unreachable;
                st.why = "it has not answered " + arpName(st.director) + " on " + st.iface + " for 3 s or more";
            } else {
                st.reach = Reach::Unknown;
                st.why = "resolving its MAC on " + st.iface;
            }
        }
        // The transitions worth a line: unreachable (and why), reachable (again).
        auto& last = lastLogged_[i];
        if (st.reach == Reach::Unreachable && last != st.why) {
            lines.push_back(who + " is unreachable: " + st.why);
            last = st.why;
        } else if (st.reach == Reach::Reachable && last != "reachable") {
            lines.push_back(who + (last.empty() ? " is reachable" : " is reachable again") + " (MAC " + st.mac + " on " + st.iface +
                            (st.isStatic ? ", a static entry" : st.managed ? ", kept resolved by the kernel" : "") + ")");
            last = "reachable";
        }
    }
    return lines;
}

void releaseManagedNeighbour(netcfg::Netlink& nl, int ifindex, const netcfg::IpAddress& ip) {
    if (ifindex == 0) return;
    auto n = nl.neighbour(ifindex, ip);
    if (n && *n && (*n)->managed && !(*n)->isStatic()) (void)nl.changeNeighbour(ifindex, ip, netcfg::NeighbourChange::Release, **n);
}

void DirectorWatch::release(netcfg::Netlink& nl) {
    for (const auto& st : status_) releaseManagedNeighbour(nl, st.ifindex, st.director);
}

std::optional<DirectorStatus> lookAtDirector(netcfg::Netlink& nl, const KernelView& k, const netcfg::IpAddress& director) {
    const auto rip = k.addressFacing(director);
    if (!rip) return std::nullopt;
    DirectorStatus st{.director = director, .ifindex = rip->ifindex, .iface = k.linkName(rip->ifindex)};
    auto n = nl.neighbour(st.ifindex, director);
    if (!n) {
        st.why = "its neighbour entry cannot be read: " + n.error().message;
        return st;
    }
    describeEntry(st, *n);
    if (!*n) {
        st.why = "not resolved (no entry: nothing has been sent to it yet)";
    } else if ((*n)->isStatic() || ((*n)->valid() && (*n)->confirmedAgo < DirectorWatch::kUnreachableAfter)) {
        st.reach = Reach::Reachable;
    } else if ((*n)->valid()) {
        st.why = "resolved (" + st.neighbourState + "), last confirmed " + std::to_string(static_cast<long long>((*n)->confirmedAgo)) +
                 " s ago: only the daemon verifies it";
    } else {
        st.reach = (*n)->state == NUD_FAILED ? Reach::Unreachable : Reach::Unknown;
        st.why = std::string((*n)->state == NUD_FAILED ? "it does not answer " : "not resolved yet: ") + arpName(director) + " (" + st.neighbourState + ")";
    }
    return st;
}

}  // namespace agent
