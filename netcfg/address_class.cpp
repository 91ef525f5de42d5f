#include "netcfg/address_class.h"

#include <algorithm>

namespace netcfg {

AddressClass classify(const IpAddress& a) {
    const auto& b = a.bytes;
    if (a.isV4()) {
        if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return AddressClass::Unspecified;
        if (b[0] == 0) return AddressClass::ThisNetwork;
        if (b[0] == 127) return AddressClass::Loopback;
        if (b[0] == 169 && b[1] == 254) return AddressClass::LinkLocal;
        if (b[0] >= 224 && b[0] <= 239) return AddressClass::Multicast;
        if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return AddressClass::Broadcast;
        if (b[0] >= 240) return AddressClass::Reserved;
        return AddressClass::Unicast;
    }
    const auto zero = [&](std::size_t n) { return std::all_of(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n), [](auto x) { return x == 0; }); };
    if (zero(15) && b[15] == 0) return AddressClass::Unspecified;
    if (zero(15) && b[15] == 1) return AddressClass::Loopback;
    if (zero(12)) return AddressClass::V4Compatible;
    if (b[0] == 0xff) return AddressClass::Multicast;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::LinkLocal;
    if (zero(10) && b[10] == 0xff && b[11] == 0xff) return AddressClass::V4Mapped;
    return AddressClass::Unicast;
}

std::optional<std::string> hostAddressProblem(const IpAddress& a) {
    const std::string s = a.str();
    const bool v4 = a.isV4();
    switch (classify(a)) {
        case AddressClass::Unicast: return std::nullopt;
        case AddressClass::Unspecified: return s + " is the unspecified address";
        case AddressClass::ThisNetwork: return s + " is in 0.0.0.0/8 (\"this network\"), not a host address";
        case AddressClass::Loopback: return s + (v4 ? " is a loopback address" : " is the loopback address");
        case AddressClass::LinkLocal: return s + " is a link-local address";
        case AddressClass::Multicast: return s + " is a multicast address";
        case AddressClass::Broadcast: return s + " is the broadcast address";
        case AddressClass::Reserved: return s + " is in the reserved range 240.0.0.0/4";
        case AddressClass::V4Compatible: {
            const auto& b = a.bytes;
            const std::string v4text = std::to_string(b[12]) + "." + std::to_string(b[13]) + "." + std::to_string(b[14]) + "." +
                                       std::to_string(b[15]);
            return s + " is a deprecated IPv4-compatible IPv6 address (RFC 4291); write the IPv4 address " + v4text + " instead";
        }
        case AddressClass::V4Mapped: return s + " is an IPv4-mapped address; write the IPv4 address instead";
    }
    return std::nullopt;
}

}  // namespace netcfg
