#include "netcfg/neighbour.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cstdio>

#include "netcfg/netlink.h"
#include "netcfg/nl_ptr.h"

namespace netcfg {

bool Neighbour::valid() const {
    return (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) != 0 && !mac.empty();
}

bool Neighbour::isStatic() const { return (state & (NUD_PERMANENT | NUD_NOARP)) != 0; }

std::string nudName(int state) {
    switch (state) {
        case NUD_INCOMPLETE: return "incomplete";
        case NUD_REACHABLE: return "reachable";
        case NUD_STALE: return "stale";
        case NUD_DELAY: return "delay";
        case NUD_PROBE: return "probe";
        case NUD_FAILED: return "failed";
        case NUD_NOARP: return "noarp";
        case NUD_PERMANENT: return "permanent";
        case NUD_NONE: return "none";
        default: return "state " + std::to_string(state);
    }
}

namespace {

NetError nlError(int err, const std::string& doing) {
    const int code = err < 0 ? -err : err;
    return NetError{.code = code, .message = doing + ": " + nl_geterror(code)};
}

std::expected<NlSock, NetError> open(const std::string& doing) {
    NlSock sock(nl_socket_alloc());
    if (!sock) return std::unexpected(nlError(NLE_NOMEM, doing));
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) return std::unexpected(nlError(err, doing));
    return sock;
}

NlMsg request(int type, int flags, int ifindex, const IpAddress& ip, int state, int ndmFlags) {
    NlMsg msg(nlmsg_alloc_simple(type, flags));
    if (!msg) return msg;
    ndmsg ndm{};
    ndm.ndm_family = static_cast<unsigned char>(ip.family);
    ndm.ndm_ifindex = ifindex;
    ndm.ndm_state = static_cast<std::uint16_t>(state);
    ndm.ndm_flags = static_cast<std::uint8_t>(ndmFlags);
    if (nlmsg_append(msg.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
        nla_put(msg.get(), NDA_DST, static_cast<int>(ip.size()), ip.bytes.data()) < 0)
        return NlMsg{};
    return msg;
}

std::string macText(const unsigned char* p, int len) {
    std::string out;
    char buf[4];
    for (int i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, i == 0 ? "%02x" : ":%02x", p[i]);
        out += buf;
    }
    return out;
}

bool macBytes(const std::string& text, unsigned char (&out)[32], int& len) {
    len = 0;
    for (std::size_t i = 0; i < text.size() && len < 32;) {
        unsigned v = 0;
        int used = 0;
        if (std::sscanf(text.c_str() + i, "%2x%n", &v, &used) != 1 || used != 2) return false;
        out[len++] = static_cast<unsigned char>(v);
        i += 2;
        if (i < text.size() && text[i++] != ':') return false;
    }
    return len > 0;
}

struct GetContext {
    std::optional<Neighbour> found;
};

int onNeighbour(nl_msg* msg, void* arg) {
    auto* ctx = static_cast<GetContext*>(arg);
    nlmsghdr* h = nlmsg_hdr(msg);
    if (h->nlmsg_type != RTM_NEWNEIGH) return NL_OK;
    nlattr* tb[NDA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return NL_OK;
    const auto* ndm = static_cast<const ndmsg*>(nlmsg_data(h));
    Neighbour n{.state = ndm->ndm_state};
    if (tb[NDA_LLADDR] && nla_len(tb[NDA_LLADDR]) > 0)
        n.mac = macText(static_cast<const unsigned char*>(nla_data(tb[NDA_LLADDR])), nla_len(tb[NDA_LLADDR]));
    if (tb[NDA_FLAGS_EXT] && nla_len(tb[NDA_FLAGS_EXT]) >= 4) n.managed = (nla_get_u32(tb[NDA_FLAGS_EXT]) & NTF_EXT_MANAGED) != 0;
    if (tb[NDA_CACHEINFO] && nla_len(tb[NDA_CACHEINFO]) >= static_cast<int>(sizeof(nda_cacheinfo))) {
        const auto* ci = static_cast<const nda_cacheinfo*>(nla_data(tb[NDA_CACHEINFO]));
        n.confirmedAgo = ci->ndm_confirmed / 100.0;  // clock_t: USER_HZ, 100 on Linux
    }
    ctx->found = std::move(n);
    return NL_OK;
}

}  // namespace

std::expected<std::optional<Neighbour>, NetError> getNeighbour(int ifindex, const IpAddress& ip) {
    const std::string doing = "reading the neighbour entry of " + ip.str();
    auto sock = open(doing);
    if (!sock) return std::unexpected(sock.error());
    NlMsg msg = request(RTM_GETNEIGH, 0, ifindex, ip, 0, 0);
    if (!msg) return std::unexpected(nlError(NLE_NOMEM, doing));
    GetContext ctx;
    nl_socket_modify_cb(sock->get(), NL_CB_VALID, NL_CB_CUSTOM, onNeighbour, &ctx);
    if (int err = nl_send_auto(sock->get(), msg.get()); err < 0) return std::unexpected(nlError(err, doing));
    if (int err = nl_recvmsgs_default(sock->get()); err < 0) {
        if (err == -NLE_OBJ_NOTFOUND) return std::optional<Neighbour>{};
        return std::unexpected(nlError(err, doing));
    }
    return ctx.found;
}

std::expected<void, NetError> changeNeighbour(int ifindex, const IpAddress& ip, NeighbourChange what, const Neighbour& now) {
    const std::string doing = std::string(what == NeighbourChange::Manage ? "keeping " : what == NeighbourChange::Probe ? "probing " : "releasing ") +
                              "the neighbour entry of " + ip.str();
    auto sock = open(doing);
    if (!sock) return std::unexpected(sock.error());
    NlMsg msg;
    unsigned char mac[32];
    int macLen = 0;
    const bool hasMac = macBytes(now.mac, mac, macLen);
    switch (what) {
        case NeighbourChange::Manage:
            // NTF_USE keeps the entry's state as it is (a kernel without managed entries
            // ignores NDA_FLAGS_EXT and resolves it once).
            msg = request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, ip, NUD_NONE, NTF_USE);
            if (msg && nla_put_u32(msg.get(), NDA_FLAGS_EXT, NTF_EXT_MANAGED) < 0) msg.reset();
            break;
        case NeighbourChange::Probe:
            if (!hasMac) return std::unexpected(NetError{.code = NLE_INVAL, .message = doing + ": no MAC to probe"});
            msg = request(RTM_NEWNEIGH, NLM_F_REPLACE, ifindex, ip, NUD_PROBE, 0);
            if (msg && nla_put(msg.get(), NDA_LLADDR, macLen, mac) < 0) msg.reset();
            break;
        case NeighbourChange::Release:
            if (hasMac && now.valid()) {
                msg = request(RTM_NEWNEIGH, NLM_F_REPLACE, ifindex, ip, NUD_STALE, 0);
                if (msg && nla_put(msg.get(), NDA_LLADDR, macLen, mac) < 0) msg.reset();
            } else {
                msg = request(RTM_DELNEIGH, 0, ifindex, ip, 0, 0);
            }
            break;
    }
    if (!msg) return std::unexpected(nlError(NLE_NOMEM, doing));
    if (int err = nl_send_auto(sock->get(), msg.get()); err < 0) return std::unexpected(nlError(err, doing));
    if (int err = nl_wait_for_ack(sock->get()); err < 0) {
        if (what == NeighbourChange::Release && err == -NLE_OBJ_NOTFOUND) return {};
        return std::unexpected(nlError(err, doing));
    }
    return {};
}

}  // namespace netcfg
