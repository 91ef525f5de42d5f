#pragma once
// A subscription to rtnetlink's link, address and route notifications (IPv4 and IPv6).
// The agent treats them only as a trigger ("something changed, look again"), never as
// a mirror of the kernel's state, so their content is not parsed.
#include <expected>

#include "netcfg/netlink.h"
#include "netcfg/nl_ptr.h"

namespace netcfg {

class ChangeEvents {
public:
    static std::expected<ChangeEvents, NetError> open();

    int fd() const;

    struct Drained {
        bool changed = false;  // at least one notification arrived
        bool overrun = false;  // the kernel dropped some (ENOBUFS): a full resync is due
    };
    // Reads every pending notification without blocking.
    Drained drain();

private:
    explicit ChangeEvents(NlSock sock) : sock_(std::move(sock)) {}
    NlSock sock_;
};

}  // namespace netcfg
