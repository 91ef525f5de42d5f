// Connections per VIP from NETLINK_SOCK_DIAG. libnl's core opens the socket, frames the
// request (nlmsg_alloc_simple, nlmsg_append, nla_put) and receives each datagram
// (nl_recv); the messages of a datagram are walked in place with nlmsg_ok/nlmsg_next,
// so a dump of 10,000 sockets costs no allocation per socket.
#include "netcfg/sock_diag.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "netcfg/nl_ptr.h"

namespace netcfg {
namespace {

constexpr std::size_t kOp = sizeof(inet_diag_bc_op);        // 4
constexpr std::size_t kCond = sizeof(inet_diag_hostcond);   // 8, the address follows

std::size_t condSize(const LocalPrefix& p) { return kOp + kCond + (p.address.isV4() ? 4 : 16); }

void put(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

NetError failed(const std::string& doing, int err) {
    return NetError{.code = 0, .err = err, .message = doing + ": " + std::strerror(err)};
}

// Where a local address belongs: exact VIPs by a sorted lookup, ranges by a scan (few).
class Index {
public:
    explicit Index(const std::vector<LocalPrefix>& locals) : locals_(locals) {
        for (std::size_t i = 0; i < locals.size(); ++i) {
            if (locals[i].length == locals[i].address.hostPrefix()) exact_.emplace_back(locals[i].address, i);
            else ranges_.push_back(i);
        }
        std::sort(exact_.begin(), exact_.end());
    }
    // The position of the prefix holding ip (a VIP first, then the narrowest range), or -1.
    long find(const IpAddress& ip) const {
        const auto it = std::lower_bound(exact_.begin(), exact_.end(), std::make_pair(ip, std::size_t{0}));
        if (it != exact_.end() && it->first == ip) return static_cast<long>(it->second);
        long best = -1;
        for (const auto i : ranges_)
            if (locals_[i].address.covers(locals_[i].length, ip) && (best < 0 || locals_[i].length > locals_[static_cast<std::size_t>(best)].length))
                best = static_cast<long>(i);
        return best;
    }

private:
    const std::vector<LocalPrefix>& locals_;
    std::vector<std::pair<IpAddress, std::size_t>> exact_;
    std::vector<std::size_t> ranges_;
};

bool loopback(const IpAddress& ip) {
    if (ip.isV4()) return ip.bytes[0] == 127;
    return std::all_of(ip.bytes.begin(), ip.bytes.begin() + 15, [](auto b) { return b == 0; }) && ip.bytes[15] == 1;
}

bool fromHost(const IpAddress& local, const IpAddress& remote, const Index& index) {
    return remote == local || loopback(remote) || index.find(remote) >= 0;
}

// An address of a diag message: IPv4, IPv6, or the IPv4 address inside a v4-mapped IPv6 one.
IpAddress addressOf(int family, const __be32* words) {
    IpAddress ip;
    const auto* b = reinterpret_cast<const std::uint8_t*>(words);
    const bool mapped = family == AF_INET6 && words[0] == 0 && words[1] == 0 && words[2] == htonl(0xffff);
    if (family == AF_INET || mapped) {
        ip.family = AF_INET;
        std::copy(b + (mapped ? 12 : 0), b + (mapped ? 16 : 4), ip.bytes.begin());
    } else {
        ip.family = AF_INET6;
        std::copy(b, b + 16, ip.bytes.begin());
    }
    return ip;
}

class KernelCounter : public ConnectionCounter {
public:
    std::expected<ConnectionCount, NetError> count(const std::vector<LocalPrefix>& locals, std::size_t list) override {
        ConnectionCount out;
        out.perPrefix.assign(locals.size(), 0);
        if (locals.empty()) return out;
        if (auto c = connect(); !c) return std::unexpected(c.error());
        const Index index(locals);
        // One request for both families: inet_diag's TCPDIAG_GETSOCK form (struct
        // inet_diag_req) is dispatched with sdiag_family AF_UNSPEC, so the kernel walks its
        // table of established sockets once, where SOCK_DIAG_BY_FAMILY walks it per
        // family. An IPv4 condition also matches an IPv6 socket's v4-mapped address.
        if (auto d = dump(fitFilter(locals, kMaxFilterBytes), index, list, out); !d) return std::unexpected(d.error());
        return out;
    }

private:
    std::expected<void, NetError> connect() {
        if (sock_) return {};
        NlSock sk(nl_socket_alloc());
        if (!sk) return std::unexpected(failed("the socket diagnostics socket", ENOMEM));
        if (const int e = nl_connect(sk.get(), NETLINK_SOCK_DIAG); e < 0)
            return std::unexpected(NetError{.code = -e, .err = 0, .message = std::string("the socket diagnostics socket: ") + nl_geterror(e)});
        nl_socket_set_buffer_size(sk.get(), 1 << 20, 0);
        sock_ = std::move(sk);
        return {};
    }

    std::expected<void, NetError> dump(const std::vector<LocalPrefix>& filter, const Index& index, std::size_t list, ConnectionCount& out) {
        const NlMsg msg(nlmsg_alloc_simple(TCPDIAG_GETSOCK, NLM_F_REQUEST | NLM_F_DUMP));
        if (!msg) return std::unexpected(failed("a socket diagnostics request", ENOMEM));
        inet_diag_req req{};
        req.idiag_states = countedStates();
        const auto bc = localAddressFilter(filter);
        if (nlmsg_append(msg.get(), &req, sizeof req, NLMSG_ALIGNTO) < 0 ||
            nla_put(msg.get(), INET_DIAG_REQ_BYTECODE, static_cast<int>(bc.size()), bc.data()) < 0)
            return std::unexpected(failed("a socket diagnostics request", EMSGSIZE));
        if (const int e = nl_send_auto(sock_.get(), msg.get()); e < 0)
            return std::unexpected(NetError{.code = -e, .err = 0, .message = std::string("asking for the sockets: ") + nl_geterror(e)});
        for (;;) {
            unsigned char* raw = nullptr;
            sockaddr_nl peer{};
            const int n = nl_recv(sock_.get(), &peer, &raw, nullptr);
            const std::unique_ptr<unsigned char, decltype(&std::free)> buf(raw, &std::free);
            if (n <= 0)
                return std::unexpected(NetError{.code = -n, .err = 0, .message = std::string("reading the sockets: ") + (n < 0 ? nl_geterror(n) : "end of stream")});
            int left = n;
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf.get()); nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
                if (h->nlmsg_type == NLMSG_DONE) return {};
                if (h->nlmsg_type == NLMSG_ERROR) {
                    const auto* e = static_cast<const nlmsgerr*>(nlmsg_data(h));
                    return std::unexpected(failed("the kernel refused the socket dump", e->error < 0 ? -e->error : EINVAL));
                }
                if (h->nlmsg_type != TCPDIAG_GETSOCK || nlmsg_datalen(h) < static_cast<int>(sizeof(inet_diag_msg))) continue;
                const auto* m = static_cast<const inet_diag_msg*>(nlmsg_data(h));
                const IpAddress local = addressOf(m->idiag_family, m->id.idiag_src);
                const IpAddress remote = addressOf(m->idiag_family, m->id.idiag_dst);
                const long at = index.find(local);  // the kernel's filter may pass a superset (fitFilter)
                if (at < 0 || fromHost(local, remote, index)) continue;
                ++out.perPrefix[static_cast<std::size_t>(at)];
                if (out.listed.size() < list)
                    out.listed.push_back({.local = local, .localPort = ntohs(m->id.idiag_sport), .remote = remote,
                                          .remotePort = ntohs(m->id.idiag_dport), .state = m->idiag_state});
            }
        }
    }

    NlSock sock_;
};

}  // namespace

std::uint32_t countedStates() {
    std::uint32_t all = 0;
    for (int s = TCP_ESTABLISHED; s <= TCP_CLOSING; ++s) all |= 1u << s;
    all |= 1u << 12;  // TCP_NEW_SYN_RECV: a handshake under way
    return all & ~((1u << TCP_LISTEN) | (1u << TCP_TIME_WAIT) | (1u << TCP_CLOSE));
}

std::size_t filterSize(const std::vector<LocalPrefix>& prefixes) {
    std::size_t n = 0;
    for (const auto& p : prefixes) n += condSize(p) + kOp;
    return prefixes.empty() ? 0 : n - kOp;  // no jump after the last condition
}

std::vector<std::uint8_t> localAddressFilter(const std::vector<LocalPrefix>& prefixes) {
    std::vector<std::uint8_t> out;
    const std::size_t total = filterSize(prefixes);
    out.reserve(total);
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
        const auto& p = prefixes[i];
        const std::size_t len = condSize(p);
        // yes: on to the jump that accepts; no: past it, to the next condition (the last:
        // past the end, which rejects).
        const inet_diag_bc_op cond{.code = INET_DIAG_BC_S_COND, .yes = static_cast<std::uint8_t>(len),
                                   .no = static_cast<std::uint16_t>(len + kOp)};
        put(out, &cond, kOp);
        inet_diag_hostcond hc{};
        hc.family = static_cast<std::uint8_t>(p.address.family);
        hc.prefix_len = static_cast<std::uint8_t>(p.length);
        hc.port = -1;
        put(out, &hc, kCond);
        put(out, p.address.bytes.data(), p.address.size());
        if (i + 1 == prefixes.size()) break;
        const std::size_t rest = total - out.size();  // from this jump to the end
        const inet_diag_bc_op jump{.code = INET_DIAG_BC_JMP, .yes = static_cast<std::uint8_t>(kOp), .no = static_cast<std::uint16_t>(rest)};
        put(out, &jump, kOp);
    }
    return out;
}

std::vector<LocalPrefix> fitFilter(std::vector<LocalPrefix> prefixes, std::size_t maxBytes) {
    auto merge = [](std::vector<LocalPrefix>& v) {
        std::sort(v.begin(), v.end(), [](const LocalPrefix& a, const LocalPrefix& b) {
            return std::tie(a.address, a.length) < std::tie(b.address, b.length);
        });
        std::vector<LocalPrefix> kept;
        for (const auto& p : v)
            if (kept.empty() || kept.back().address.family != p.address.family || !kept.back().address.covers(kept.back().length, p.address) ||
                kept.back().length > p.length)
                kept.push_back(p);
        v = std::move(kept);
    };
    merge(prefixes);
    while (filterSize(prefixes) > maxBytes) {
        for (auto& p : prefixes)
            if (p.length > 0) {
                --p.length;
                p.address = p.address.masked(p.length);
            }
        merge(prefixes);
    }
    return prefixes;
}

bool fromThisHost(const IpAddress& local, const IpAddress& remote, const std::vector<LocalPrefix>& locals) {
    return fromHost(local, remote, Index(locals));
}

std::unique_ptr<ConnectionCounter> makeKernelConnectionCounter() { return std::make_unique<KernelCounter>(); }

}  // namespace netcfg
