#pragma once
// An IPv4 or IPv6 address as a plain value type, parsed and printed with inet_pton/ntop.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netcfg {

struct IpAddress {
    int family = 0;                      // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4

    static std::optional<IpAddress> parse(std::string_view text);
    std::string str() const;
    bool isV4() const;
    int hostPrefix() const { return isV4() ? 32 : 128; }
    std::size_t size() const { return isV4() ? 4 : 16; }
    // "198.51.100.188/32", "2001:db8::1/128"
    std::string hostCidr() const { return str() + "/" + std::to_string(hostPrefix()); }

    auto operator<=>(const IpAddress&) const = default;
};

}  // namespace netcfg
