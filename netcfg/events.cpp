#include "netcfg/events.h"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace netcfg {

std::expected<ChangeEvents, NetError> ChangeEvents::open() {
    NlSock sock(nl_socket_alloc());
    if (!sock) return std::unexpected(NetError{.code = NLE_NOMEM, .message = "allocating a netlink socket"});
    nl_socket_disable_seq_check(sock.get());
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(NetError{.code = -err, .message = std::string("connecting to rtnetlink: ") + nl_geterror(err)});
    if (int err = nl_socket_add_memberships(sock.get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                            RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0);
        err < 0)
        return std::unexpected(NetError{.code = -err, .message = std::string("subscribing to rtnetlink groups: ") + nl_geterror(err)});
    nl_socket_set_nonblocking(sock.get());
    nl_socket_set_buffer_size(sock.get(), 1 << 20, 0);
    return ChangeEvents(std::move(sock));
}

int ChangeEvents::fd() const { return nl_socket_get_fd(sock_.get()); }

ChangeEvents::Drained ChangeEvents::drain() {
    Drained d;
    std::array<char, 16384> buf;
    for (;;) {
        const ssize_t n = ::recv(fd(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) {
            d.changed = true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOBUFS) {
            d.overrun = d.changed = true;
            continue;
        }
        return d;  // EAGAIN, or an error the next full resync will cover
    }
}

}  // namespace netcfg
