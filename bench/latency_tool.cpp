// Measurement helper for bench/watch (not part of the product):
//   latency_tool repair address|route VIP...   delete each VIP's address (or host route)
//       through rtnetlink and time until the kernel announces it back (the agent's repair)
//   latency_tool floor address|route VIP...    the same, putting it back itself (no agent):
//       the kernel's cost at that size, the floor under the repair latency
//   latency_tool repair|floor range PREFIX...   each range's local route in table local
//       deleted once (IPv4 or IPv6)
//   latency_tool http-rate HOST PORT PATH RPS SECONDS   GETs at a fixed rate on one
//       keep-alive connection, latency of each
//   latency_tool withdraw STATE_DIR VIP TABLE ROUNDS [ROUTER_NETNS]   run in a real
//       server's namespace next to `run` with "announce": sends "drain VIP" to the daemon's
//       control socket and times until the VIP's route leaves TABLE, and (with the router's
//       named namespace) until the router's FIB changes its route to the VIP; then "undrain
//       VIP", until the route is back and the router's route is multipath again
//   latency_tool repair|floor rule RIP TABLE PRIORITY PORT...   each port's NAT rule
//       (from RIP ipproto tcp sport PORT lookup TABLE, the agent's protocol) deleted once
//       through rtnetlink, until the kernel announces it back
//   latency_tool lookup RIP CLIENT PORT COUNT   the NAT reply path's lookup as the agent
//       asks it (netcfg::lookupPath: RTM_GETROUTE with ipproto and sport), COUNT times
// Prints p50/p99/max in milliseconds.
#include <arpa/inet.h>
#include "support/http_client.h"
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <linux/fib_rules.h>

#include "netcfg/netlink.h"
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

void report(const char* what, std::vector<double> ms, int failures) {
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))]; };
    std::printf("%-28s n=%zu p50=%.3f ms p99=%.3f ms max=%.3f ms failures=%d\n", what, ms.size(), pct(0.50), pct(0.99),
                ms.empty() ? 0.0 : ms.back(), failures);
}

// A socket for changes and one joined to `groups` for the kernel's notifications.
struct NlPair {
    nl_sock* ops = nullptr;
    nl_sock* events = nullptr;
    int efd = -1;
    template <class... G>
    explicit NlPair(G... groups) : ops(nl_socket_alloc()), events(nl_socket_alloc()) {
        nl_connect(ops, NETLINK_ROUTE);
        nl_socket_disable_seq_check(events);
        nl_connect(events, NETLINK_ROUTE);
        nl_socket_add_memberships(events, groups..., 0);
        nl_socket_set_buffer_size(events, 4 << 20, 0);
        efd = nl_socket_get_fd(events);
    }
    ~NlPair() {
        nl_socket_free(ops);
        nl_socket_free(events);
    }
};

// Reads notifications from fd until match(message) holds (true) or the deadline (false).
template <class Match>
bool waitMessage(int fd, Clock::time_point deadline, Match match) {
    char buf[65536];
    while (Clock::now() < deadline) {
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
        if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) continue;
        int len = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
            if (match(h)) return true;
    }
    return false;
}

// Waits for RTM_NEWADDR / RTM_NEWROUTE announcing `addr` (4 bytes).
bool waitAnnounced(int fd, bool route, const in_addr& addr, Clock::time_point deadline) {
    return waitMessage(fd, deadline, [&](const nlmsghdr* h) {
            if (!route && h->nlmsg_type == RTM_NEWADDR) {
                auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
                int alen = IFA_PAYLOAD(h);
                for (auto* a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                    if (a->rta_type == IFA_LOCAL && std::memcmp(RTA_DATA(a), &addr, 4) == 0) return true;
            }
            if (route && h->nlmsg_type == RTM_NEWROUTE) {
                auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
                if (rt->rtm_table != RT_TABLE_MAIN) return false;
                int alen = RTM_PAYLOAD(h);
                for (auto* a = RTM_RTA(rt); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                    if (a->rta_type == RTA_DST && std::memcmp(RTA_DATA(a), &addr, 4) == 0) return true;
            }
            return false;
    });
}

// A route via lo (ifindex 1) marked as the agent's: a VIP's host route in table main, or a
// range's local route in table local.
rtnl_route* loRoute(nl_addr* dst, int table, int type, int scope) {
    rtnl_route* r = rtnl_route_alloc();
    rtnl_route_set_family(r, nl_addr_get_family(dst));
    rtnl_route_set_table(r, table);
    rtnl_route_set_type(r, type);
    rtnl_route_set_dst(r, dst);
    rtnl_route_set_protocol(r, 177);
    rtnl_route_set_scope(r, scope);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    rtnl_route_nh_set_ifindex(nh, 1);
    rtnl_route_add_nexthop(r, nh);
    return r;
}
rtnl_route* hostRoute(nl_addr* dst) { return loRoute(dst, RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK); }
rtnl_route* localRoute(nl_addr* dst) { return loRoute(dst, RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST); }

// Each range's local route deleted once (and with `floor` put back by the tool): a range
// deleted again within seconds is a fight, which the agent's flap damper slows on purpose.
int rangeRepair(const std::vector<std::string>& prefixes, bool floor) {
    NlPair nl(RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE);
    nl_sock* ops = nl.ops;
    const int efd = nl.efd;
    std::vector<double> ms;
    int failures = 0;
    for (const auto& prefix : prefixes) {
        nl_addr* na = nullptr;
        if (nl_addr_parse(prefix.c_str(), AF_UNSPEC, &na) < 0) return 2;
        const int family = nl_addr_get_family(na);
        const unsigned len = nl_addr_get_prefixlen(na);
        std::vector<unsigned char> bytes(static_cast<unsigned char*>(nl_addr_get_binary_addr(na)),
                                         static_cast<unsigned char*>(nl_addr_get_binary_addr(na)) + nl_addr_get_len(na));
        char junk[65536];
        while (::recv(efd, junk, sizeof junk, MSG_DONTWAIT) > 0) {
        }
        const auto t0 = Clock::now();
        rtnl_route* r = localRoute(na);
        int err = rtnl_route_delete(ops, r, 0);
        if (err >= 0 && floor) err = rtnl_route_add(ops, r, NLM_F_CREATE);
        rtnl_route_put(r);
        nl_addr_put(na);
        if (err < 0) {
            ++failures;
            continue;
        }
        const bool back = waitMessage(efd, t0 + std::chrono::seconds(2), [&](const nlmsghdr* h) {
            if (h->nlmsg_type != RTM_NEWROUTE) return false;
            auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
            if (rt->rtm_family != family || rt->rtm_table != RT_TABLE_LOCAL || rt->rtm_dst_len != len) return false;
            int alen = RTM_PAYLOAD(h);
            for (auto* a = RTM_RTA(rt); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == RTA_DST && std::memcmp(RTA_DATA(a), bytes.data(), bytes.size()) == 0) return true;
            return false;
        });
        if (back)
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        else
            ++failures;
    }
    report(floor ? "kernel floor (range)" : "repair latency (range)", ms, failures);
    return failures == 0 ? 0 : 1;
}

// The VIP as a /32 on lo.
rtnl_addr* loAddress(nl_addr* local) {
    rtnl_addr* ad = rtnl_addr_alloc();
    rtnl_addr_set_ifindex(ad, 1);
    rtnl_addr_set_family(ad, AF_INET);
    rtnl_addr_set_local(ad, local);
    rtnl_addr_set_prefixlen(ad, 32);
    return ad;
}

// With `floor`, the tool puts each object back itself right after deleting it: the
// kernel's own cost of the two changes and the notification, without any agent (the
// floor under the agent's repair latency at that size).
int repair(bool route, const std::vector<std::string>& vips, bool floor = false) {
    nl_sock* ops = nl_socket_alloc();
    nl_sock* events = nl_socket_alloc();
    nl_connect(ops, NETLINK_ROUTE);
    nl_socket_disable_seq_check(events);
    nl_connect(events, NETLINK_ROUTE);
    nl_socket_add_memberships(events, route ? RTNLGRP_IPV4_ROUTE : RTNLGRP_IPV4_IFADDR, 0);
    nl_socket_set_buffer_size(events, 4 << 20, 0);
    const int efd = nl_socket_get_fd(events);
    std::vector<double> ms;
    int failures = 0;
    for (const auto& v : vips) {
        in_addr a{};
        inet_pton(AF_INET, v.c_str(), &a);
        nl_addr* na = nl_addr_build(AF_INET, &a, 4);
        nl_addr_set_prefixlen(na, 32);
        char junk[65536];
        while (::recv(efd, junk, sizeof junk, MSG_DONTWAIT) > 0) {
        }
        const auto t0 = Clock::now();
        int err;
        if (route) {
            rtnl_route* r = hostRoute(na);
            err = rtnl_route_delete(ops, r, 0);
            rtnl_route_put(r);
        } else {
            rtnl_addr* ad = loAddress(na);
            err = rtnl_addr_delete(ops, ad, 0);
            rtnl_addr_put(ad);
        }
        if (err >= 0 && floor) {
            if (route) {
                rtnl_route* r = hostRoute(na);
                err = rtnl_route_add(ops, r, NLM_F_CREATE);
                rtnl_route_put(r);
            } else {
                rtnl_addr* ad = loAddress(na);
                err = rtnl_addr_add(ops, ad, 0);
                rtnl_addr_put(ad);
            }
        }
        nl_addr_put(na);
        if (err < 0) {
            ++failures;
            continue;
        }
        if (waitAnnounced(efd, route, a, t0 + std::chrono::seconds(2)))
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        else
            ++failures;
    }
    report(floor ? (route ? "kernel floor (route)" : "kernel floor (address)")
                 : (route ? "repair latency (route)" : "repair latency (address)"),
           ms, failures);
    nl_socket_free(ops);
    nl_socket_free(events);
    return 0;
}

rtnl_rule* natRule(nl_addr* src, int table, int priority, int port) {
    rtnl_rule* r = rtnl_rule_alloc();
    rtnl_rule_set_family(r, nl_addr_get_family(src));
    rtnl_rule_set_src(r, src);
    rtnl_rule_set_table(r, static_cast<std::uint32_t>(table));
    rtnl_rule_set_prio(r, static_cast<std::uint32_t>(priority));
    rtnl_rule_set_action(r, FR_ACT_TO_TBL);
    rtnl_rule_set_ipproto(r, 6);
    rtnl_rule_set_sport(r, static_cast<std::uint16_t>(port));
    rtnl_rule_set_protocol(r, 177);
    return r;
}

// Each port's rule deleted once (with `floor` put back by the tool itself).
int ruleRepair(const std::string& rip, int table, int priority, const std::vector<std::string>& ports, bool floor) {
    NlPair nl(RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE);
    nl_sock* ops = nl.ops;
    const int efd = nl.efd;
    nl_addr* src = nullptr;
    if (nl_addr_parse(rip.c_str(), AF_UNSPEC, &src) < 0) return 2;
    nl_addr_set_prefixlen(src, nl_addr_get_family(src) == AF_INET ? 32 : 128);
    std::vector<double> ms;
    int failures = 0;
    for (const auto& p : ports) {
        const int port = std::stoi(p);
        char junk[65536];
        while (::recv(efd, junk, sizeof junk, MSG_DONTWAIT) > 0) {
        }
        const auto t0 = Clock::now();
        rtnl_rule* r = natRule(src, table, priority, port);
        int err = rtnl_rule_delete(ops, r, 0);
        if (err >= 0 && floor) err = rtnl_rule_add(ops, r, NLM_F_CREATE);
        rtnl_rule_put(r);
        if (err < 0) {
            ++failures;
            continue;
        }
        const bool back = waitMessage(efd, t0 + std::chrono::seconds(2), [&](const nlmsghdr* h) {
            if (h->nlmsg_type != RTM_NEWRULE) return false;
            auto* fr = static_cast<const fib_rule_hdr*>(NLMSG_DATA(h));
            int alen = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(fib_rule_hdr)));
            for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(fr) + NLMSG_ALIGN(sizeof(fib_rule_hdr)));
                 RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == FRA_SPORT_RANGE && static_cast<const fib_rule_port_range*>(RTA_DATA(a))->start == port) return true;
            return false;
        });
        if (back)
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        else
            ++failures;
    }
    nl_addr_put(src);
    report(floor ? "kernel floor (nat rule)" : "repair latency (nat rule)", ms, failures);
    return failures == 0 ? 0 : 1;
}

// The agent's reply-path lookup, COUNT times (one port).
int lookupCost(const std::string& rip, const std::string& client, int port, int count) {
    const auto src = netcfg::IpAddress::parse(rip);
    const auto dst = netcfg::IpAddress::parse(client);
    if (!src || !dst) return 2;
    std::vector<double> ms;
    int failures = 0;
    for (int i = 0; i < count; ++i) {
        const auto t0 = Clock::now();
        const auto a = netcfg::lookupPath(*src, *dst, 6, port);
        if (!a) {
            ++failures;
            continue;
        }
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    report("reply-path lookup", ms, failures);
    return failures == 0 ? 0 : 1;
}

int httpRate(const std::string& host, int port, const std::string& path, int rps, int seconds) {
    testhttp::Connection c(host, port);
    const std::string req = testhttp::request("GET", path);
    std::vector<double> ms;
    int failures = 0;
    const auto period = std::chrono::nanoseconds(1000000000LL / rps);
    auto next = Clock::now();
    const auto end = next + std::chrono::seconds(seconds);
    while (next < end) {
        std::this_thread::sleep_until(next);
        const auto t0 = Clock::now();
        std::optional<testhttp::Reply> r;
        if (c.ok() || c.open(host, port)) r = c.send(req) ? c.read() : std::nullopt;
        if (!r) {
            c.close();
            ++failures;
        } else {
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        next += period;
    }
    report(("GET " + path + " at " + std::to_string(rps) + "/s").c_str(), ms, failures);
    return 0;
}

// A route message for `addr` (4 bytes): its table, whether it has several next hops.
struct RouteSeen {
    bool del = false;
    int table = 0;
    bool multipath = false;
};

// Waits for a route message about addr matching want(); true when one came in time.
template <class Want>
bool waitRoute(int fd, const in_addr& addr, Clock::time_point deadline, Want want) {
    return waitMessage(fd, deadline, [&](const nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) return false;
        auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
        RouteSeen seen{.del = h->nlmsg_type == RTM_DELROUTE, .table = rt->rtm_table};
        bool ours = false;
        int alen = RTM_PAYLOAD(h);
        for (auto* a = RTM_RTA(rt); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
            if (a->rta_type == RTA_DST && rt->rtm_dst_len == 32 && std::memcmp(RTA_DATA(a), &addr, 4) == 0) ours = true;
            if (a->rta_type == RTA_TABLE) seen.table = static_cast<int>(*static_cast<const std::uint32_t*>(RTA_DATA(a)));
            if (a->rta_type == RTA_MULTIPATH) seen.multipath = true;
        }
        return ours && want(seen);
    });
}

// A route-event socket in the current namespace, or in the named one (ip netns).
int routeEvents(const std::string& netns) {
    int back = -1;
    if (!netns.empty()) {
        back = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        const int ns = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (back < 0 || ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
            std::fprintf(stderr, "cannot enter namespace %s\n", netns.c_str());
            std::exit(1);
        }
        ::close(ns);
    }
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_ROUTE;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        std::fprintf(stderr, "cannot open a route-event socket\n");
        std::exit(1);
    }
    if (back >= 0) {
        ::setns(back, CLONE_NEWNET);
        ::close(back);
    }
    return fd;
}

// Sends one line to the daemon's control socket; the reply is read (and dropped) later.
int controlSend(const std::string& stateDir, const std::string& line) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const std::string path = stateDir + "/control.sock";
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -1;
    const std::string msg = line + "\n";
    if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
        ::close(fd);
        return -1;
    }
    return fd;
}
bool controlReplied(int fd) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    char buf[512];
    const bool ok = ::poll(&p, 1, 5000) == 1 && ::recv(fd, buf, sizeof buf, 0) > 2 && std::memcmp(buf, "ok", 2) == 0;
    ::close(fd);
    return ok;
}

int withdraw(const std::string& stateDir, const std::string& vip, int table, int rounds, const std::string& routerNs) {
    in_addr a{};
    if (inet_pton(AF_INET, vip.c_str(), &a) != 1) return 2;
    const int local = routeEvents("");
    const int router = routerNs.empty() ? -1 : routeEvents(routerNs);
    std::vector<double> gone, fibDrop, back, fibBack;
    int failures = 0;
    char junk[65536];
    auto flush = [&] {
        while (::recv(local, junk, sizeof junk, MSG_DONTWAIT) > 0) {
        }
        while (router >= 0 && ::recv(router, junk, sizeof junk, MSG_DONTWAIT) > 0) {
        }
    };
    auto ms = [](Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); };
    for (int i = 0; i < rounds; ++i) {
        flush();
        auto t0 = Clock::now();
        int c = controlSend(stateDir, "drain " + vip);
        if (c < 0 || !waitRoute(local, a, t0 + std::chrono::seconds(5), [&](const RouteSeen& r) { return r.del && r.table == table; })) {
            ++failures;
            if (c >= 0) ::close(c);
            continue;
        }
        gone.push_back(ms(t0));
        // The router replaces the multipath route by the single path left (or deletes it).
        if (router >= 0 && waitRoute(router, a, t0 + std::chrono::seconds(5), [](const RouteSeen& r) { return r.del || !r.multipath; }))
            fibDrop.push_back(ms(t0));
        else if (router >= 0)
            ++failures;
        if (!controlReplied(c)) ++failures;
        flush();
        t0 = Clock::now();
        c = controlSend(stateDir, "undrain " + vip);
        if (c < 0 || !waitRoute(local, a, t0 + std::chrono::seconds(5), [&](const RouteSeen& r) { return !r.del && r.table == table; })) {
            ++failures;
            if (c >= 0) ::close(c);
            continue;
        }
        back.push_back(ms(t0));
        if (router >= 0 && waitRoute(router, a, t0 + std::chrono::seconds(5), [](const RouteSeen& r) { return !r.del && r.multipath; }))
            fibBack.push_back(ms(t0));
        else if (router >= 0)
            ++failures;
        if (!controlReplied(c)) ++failures;
    }
    report("drain -> out of table", gone, 0);
    if (router >= 0) report("drain -> router FIB drops", fibDrop, 0);
    report("undrain -> in table", back, 0);
    if (router >= 0) report("undrain -> router FIB multipath", fibBack, 0);
    std::printf("failures=%d\n", failures);
    ::close(local);
    if (router >= 0) ::close(router);
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() >= 6 && (a[0] == "repair" || a[0] == "floor") && a[1] == "rule")
        return ruleRepair(a[2], std::stoi(a[3]), std::stoi(a[4]), {a.begin() + 5, a.end()}, a[0] == "floor");
    if (a.size() == 5 && a[0] == "lookup") return lookupCost(a[1], a[2], std::stoi(a[3]), std::stoi(a[4]));
    if (a.size() >= 3 && (a[0] == "repair" || a[0] == "floor") && a[1] == "range") return rangeRepair({a.begin() + 2, a.end()}, a[0] == "floor");
    if (a.size() >= 3 && a[0] == "repair") return repair(a[1] == "route", {a.begin() + 2, a.end()});
    if (a.size() >= 3 && a[0] == "floor") return repair(a[1] == "route", {a.begin() + 2, a.end()}, true);
    if (a.size() == 6 && a[0] == "http-rate") return httpRate(a[1], std::stoi(a[2]), a[3], std::stoi(a[4]), std::stoi(a[5]));
    if ((a.size() == 5 || a.size() == 6) && a[0] == "withdraw")
        return withdraw(a[1], a[2], std::stoi(a[3]), std::stoi(a[4]), a.size() == 6 ? a[5] : "");
    std::fprintf(stderr, "usage: latency_tool repair|floor address|route VIP... | repair|floor range PREFIX... | http-rate HOST PORT PATH RPS SECONDS | "
                         "withdraw STATE_DIR VIP TABLE ROUNDS [ROUTER_NETNS]\n");
    return 2;
}
