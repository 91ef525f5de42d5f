#pragma once
// An IPv4 or IPv6 address as a plain value type, parsed and printed with inet_pton/ntop.
#include <array>
#include <compare>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>
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
    // "198.18.0.0/24": the address with a prefix length (len < 0: the host prefix).
    std::string cidr(int len) const { return str() + "/" + std::to_string(len < 0 ? hostPrefix() : len); }
    // A VIP's name: the address alone, or a range's "198.18.0.0/24" (len >= 0).
    std::string name(int len) const { return len < 0 ? str() : cidr(len); }
    // Whether other lies in this address's prefix of length len (same family).
    bool covers(int len, const IpAddress& other) const;
    // This address with every bit past len cleared.
    IpAddress masked(int len) const;

    auto operator<=>(const IpAddress&) const = default;
};

// The address as a URL or socket string writes it: "198.51.100.1", "[2001:db8::1]".
std::string bracketed(const IpAddress& ip);
// "198.51.100.1:80", "[2001:db8::1]:80"
std::string hostPort(const IpAddress& ip, int port);

// "ADDR:PORT" or "[IPV6]:PORT", split and checked; the error says which part is wrong.
struct HostPort {
    IpAddress address;
    int port = 0;  // 0-65535 (whether 0 is acceptable is the caller's call)
};
struct HostPortError {
    enum class Part { Shape, Address, Port };
    Part part = Part::Shape;
    std::string text;  // the offending part as given
};
std::expected<HostPort, HostPortError> parseHostPort(std::string_view text);

// The first address of a family (AF_INET, AF_INET6) in list, or nullptr.
inline const IpAddress* ofFamily(const std::vector<IpAddress>& list, int family) {
    for (const auto& a : list)
        if (a.family == family) return &a;
    return nullptr;
}

}  // namespace netcfg
