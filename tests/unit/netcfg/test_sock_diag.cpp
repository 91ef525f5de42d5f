#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <netinet/tcp.h>

#include <cstring>

#include "netcfg/sock_diag.h"

using namespace netcfg;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
LocalPrefix host(const char* s) { return {.address = ip(s), .length = ip(s).hostPrefix()}; }
LocalPrefix range(const char* s, int len) { return {.address = ip(s), .length = len}; }

// A socket as the kernel's filter sees it: its family and local address (an IPv4 address
// of an IPv6 socket v4-mapped).
struct Entry {
    int family;
    std::uint32_t saddr[4];
};
Entry v4(const char* s) {
    Entry e{.family = AF_INET, .saddr = {}};
    inet_pton(AF_INET, s, e.saddr);
    return e;
}
Entry v6(const char* s) {
    Entry e{.family = AF_INET6, .saddr = {}};
    inet_pton(AF_INET6, s, e.saddr);
    return e;
}
Entry mapped(const char* s) {
    Entry e{.family = AF_INET6, .saddr = {0, 0, htonl(0xffff), 0}};
    inet_pton(AF_INET, s, &e.saddr[3]);
    return e;
}

bool bitsMatch(const void* a, const void* b, int bits) {
    const auto* x = static_cast<const std::uint8_t*>(a);
    const auto* y = static_cast<const std::uint8_t*>(b);
    for (int i = 0; i < bits; ++i) {
        const std::uint8_t m = static_cast<std::uint8_t>(0x80u >> (i % 8));
        if ((x[i / 8] & m) != (y[i / 8] & m)) return false;
    }
    return true;
}

// The kernel's inet_diag_bc_run for the two operations the filter uses.
bool run(const std::vector<std::uint8_t>& bc, const Entry& e) {
    int len = static_cast<int>(bc.size());
    const std::uint8_t* p = bc.data();
    while (len > 0) {
        inet_diag_bc_op op;
        std::memcpy(&op, p, sizeof op);
        bool yes = true;
        if (op.code == INET_DIAG_BC_S_COND) {
            inet_diag_hostcond c;
            std::memcpy(&c, p + sizeof op, sizeof c);
            const std::uint8_t* addr = p + sizeof op + sizeof c;
            if (c.family != e.family) {
                const bool isMapped = e.family == AF_INET6 && c.family == AF_INET && e.saddr[0] == 0 && e.saddr[1] == 0 &&
                                      e.saddr[2] == htonl(0xffff);
                yes = isMapped && bitsMatch(&e.saddr[3], addr, c.prefix_len);
            } else {
                yes = bitsMatch(e.saddr, addr, c.prefix_len);
            }
        } else if (op.code == INET_DIAG_BC_JMP) {
            yes = false;
        } else {
            FAIL("an operation the filter does not use: ", int(op.code));
        }
        const int step = yes ? op.yes : op.no;
        len -= step;
        p += step;
    }
    return len == 0;
}

// The kernel's inet_diag_bc_audit (for these operations): true when it accepts the bytecode.
bool audit(const std::vector<std::uint8_t>& bc) {
    const int total = static_cast<int>(bc.size());
    auto validCc = [&](int cc) {
        int len = total;
        const std::uint8_t* p = bc.data();
        while (len >= 0) {
            if (cc > len) return false;
            if (cc == len) return true;
            inet_diag_bc_op op;
            std::memcpy(&op, p, sizeof op);
            if (op.yes < 4 || op.yes & 3) return false;
            len -= op.yes;
            p += op.yes;
        }
        return false;
    };
    int len = total;
    const std::uint8_t* p = bc.data();
    while (len > 0) {
        inet_diag_bc_op op;
        std::memcpy(&op, p, sizeof op);
        int minLen = static_cast<int>(sizeof op);
        if (op.code == INET_DIAG_BC_S_COND) {
            inet_diag_hostcond c;
            std::memcpy(&c, p + sizeof op, sizeof c);
            const int addrLen = c.family == AF_INET ? 4 : c.family == AF_INET6 ? 16 : -1;
            if (addrLen < 0 || c.prefix_len > 8 * addrLen) return false;
            minLen += static_cast<int>(sizeof c) + addrLen;
            if (len < minLen) return false;
        } else if (op.code != INET_DIAG_BC_JMP) {
            return false;
        }
        if (op.no < minLen || op.no > len + 4 || op.no & 3) return false;
        if (op.no < len && !validCc(len - op.no)) return false;
        if (op.yes < minLen || op.yes > len + 4 || op.yes & 3) return false;
        p += op.yes;
        len -= op.yes;
    }
    return len == 0;
}

}  // namespace

TEST_SUITE("sock_diag") {
    TEST_CASE("the filter accepts the sockets on any VIP or range, and only those, and the kernel's audit takes it") {
        const std::vector<LocalPrefix> prefixes{host("198.51.100.188"), range("198.18.0.0", 16), host("2001:db8::188"),
                                                range("2001:db8:1::", 64)};
        const auto bc = localAddressFilter(prefixes);
        CHECK(bc.size() == filterSize(prefixes));
        CHECK(audit(bc));
        CHECK(run(bc, v4("198.51.100.188")));
        CHECK(run(bc, v4("198.18.200.7")));
        CHECK(run(bc, v6("2001:db8::188")));
        CHECK(run(bc, v6("2001:db8:1::42")));
        CHECK(run(bc, mapped("198.51.100.188")));  // an IPv4 client of a [::] listener
        CHECK(run(bc, mapped("198.18.0.1")));
        CHECK_FALSE(run(bc, v4("198.51.100.189")));
        CHECK_FALSE(run(bc, v4("198.19.0.1")));
        CHECK_FALSE(run(bc, v6("2001:db8::189")));
        CHECK_FALSE(run(bc, v6("2001:db8:2::1")));
        CHECK_FALSE(run(bc, mapped("203.0.113.9")));
        // Each one alone, in both families' orders.
        for (const auto& p : prefixes) {
            const auto one = localAddressFilter({p});
            CHECK(audit(one));
        }
        CHECK(localAddressFilter({}).empty());
    }

    TEST_CASE("thousands of VIPs: the filter is widened until it fits one attribute, and still covers every VIP") {
        std::vector<LocalPrefix> many;
        for (int i = 0; i < 10000; ++i)
            many.push_back(host(("198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str()));
        many.push_back(host("2001:db8::1"));
        CHECK(filterSize(many) > kMaxFilterBytes);
        const auto fit = fitFilter(many, kMaxFilterBytes);
        CHECK(filterSize(fit) <= kMaxFilterBytes);
        CHECK(fit.size() < many.size());
        const auto bc = localAddressFilter(fit);
        CHECK(audit(bc));
        CHECK(run(bc, v4("198.18.0.1")));
        CHECK(run(bc, v4("198.18.39.250")));
        CHECK(run(bc, v6("2001:db8::1")));
        // What already fits is kept as it is (only deduplicated and ordered).
        const std::vector<LocalPrefix> few{host("198.51.100.2"), host("198.51.100.1"), host("198.51.100.1")};
        CHECK(fitFilter(few, kMaxFilterBytes) == std::vector<LocalPrefix>{host("198.51.100.1"), host("198.51.100.2")});
        // A VIP inside a range is folded into it.
        CHECK(fitFilter({range("198.18.0.0", 16), host("198.18.3.4")}, kMaxFilterBytes) == std::vector<LocalPrefix>{range("198.18.0.0", 16)});
    }

    TEST_CASE("every TCP state counts but LISTEN, TIME_WAIT and CLOSE") {
        const std::uint32_t s = countedStates();
        for (int state : {TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSING})
            CHECK((s & (1u << state)) != 0);
        for (int state : {TCP_LISTEN, TCP_TIME_WAIT, TCP_CLOSE}) CHECK((s & (1u << state)) == 0);
    }

    TEST_CASE("a connection from this host to itself is not counted") {
        const std::vector<LocalPrefix> vips{host("198.51.100.188"), range("198.18.0.0", 16)};
        CHECK(fromThisHost(ip("198.51.100.188"), ip("198.51.100.188"), vips));  // the agent's service check
        CHECK(fromThisHost(ip("198.18.0.5"), ip("198.18.0.5"), vips));
        CHECK(fromThisHost(ip("198.51.100.188"), ip("127.0.0.1"), vips));
        CHECK(fromThisHost(ip("198.51.100.188"), ip("198.18.3.3"), vips));
        CHECK(fromThisHost(ip("2001:db8::188"), ip("::1"), vips));
        CHECK_FALSE(fromThisHost(ip("198.51.100.188"), ip("198.51.100.200"), vips));  // a client
    }
}
