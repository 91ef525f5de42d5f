#pragma once
// One deleter template turns each libnl release function into a unique_ptr owner.
// Objects borrowed while iterating a cache are never wrapped.
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

#include <memory>

namespace netcfg {

template <class T, void (*F)(T*)>
struct NlFree {
    void operator()(T* p) const noexcept { F(p); }
};

using NlSock = std::unique_ptr<nl_sock, NlFree<nl_sock, nl_socket_free>>;
using NlCache = std::unique_ptr<nl_cache, NlFree<nl_cache, nl_cache_free>>;
using NlAddr = std::unique_ptr<nl_addr, NlFree<nl_addr, nl_addr_put>>;
using NlRtAddr = std::unique_ptr<rtnl_addr, NlFree<rtnl_addr, rtnl_addr_put>>;
using NlRoute = std::unique_ptr<rtnl_route, NlFree<rtnl_route, rtnl_route_put>>;
using NlMsg = std::unique_ptr<nl_msg, NlFree<nl_msg, nlmsg_free>>;
using NlLink = std::unique_ptr<rtnl_link, NlFree<rtnl_link, rtnl_link_put>>;
using NlRule = std::unique_ptr<rtnl_rule, NlFree<rtnl_rule, rtnl_rule_put>>;

}  // namespace netcfg
