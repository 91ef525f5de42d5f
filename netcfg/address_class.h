#pragma once
// What kind of address an IpAddress is, for the checks that a VIP (or a range) must be a
// unicast host address: the classification here, the wording beside it.
#include <optional>
#include <string>

#include "netcfg/ip_address.h"

namespace netcfg {

enum class AddressClass {
    Unicast,           // a host address of a global or private unicast range
    Unspecified,       // 0.0.0.0, ::
    ThisNetwork,       // 0.0.0.0/8
    Loopback,          // 127/8, ::1
    LinkLocal,         // 169.254/16, fe80::/10
    Multicast,         // 224/4, ff00::/8
    Broadcast,         // 255.255.255.255
    Reserved,          // 240/4
    V4Compatible,      // ::a.b.c.d (deprecated, RFC 4291)
    V4Mapped,          // ::ffff:a.b.c.d
};

AddressClass classify(const IpAddress& ip);

// Why ip is not a usable host address (a VIP), in one sentence naming it; nullopt when it is.
std::optional<std::string> hostAddressProblem(const IpAddress& ip);

}  // namespace netcfg
