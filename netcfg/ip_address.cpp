#include "netcfg/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

namespace netcfg {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    const std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return std::nullopt;
}

bool IpAddress::isV4() const { return family == AF_INET; }

IpAddress IpAddress::masked(int len) const {
    IpAddress m = *this;
    const int bits = static_cast<int>(size()) * 8;
    for (int i = std::max(len, 0); i < bits; ++i) m.bytes[static_cast<std::size_t>(i / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
    return m;
}

bool IpAddress::covers(int len, const IpAddress& other) const {
    return family == other.family && masked(len) == other.masked(len);
}

std::string bracketed(const IpAddress& ip) { return ip.isV4() ? ip.str() : "[" + ip.str() + "]"; }

std::string hostPort(const IpAddress& ip, int port) { return bracketed(ip) + ":" + std::to_string(port); }

std::expected<HostPort, HostPortError> parseHostPort(std::string_view text) {
    using Part = HostPortError::Part;
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) return std::unexpected(HostPortError{.part = Part::Shape, .text = std::string(text)});
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon)
            return std::unexpected(HostPortError{.part = Part::Shape, .text = std::string(text)});
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    const auto ip = IpAddress::parse(host);
    if (!ip) return std::unexpected(HostPortError{.part = Part::Address, .text = std::string(host)});
    int value = 0;
    if (port.empty() || port.size() > 5) return std::unexpected(HostPortError{.part = Part::Port, .text = std::string(port)});
    for (char c : port) {
        if (c < '0' || c > '9') return std::unexpected(HostPortError{.part = Part::Port, .text = std::string(port)});
        value = value * 10 + (c - '0');
    }
    if (value > 65535) return std::unexpected(HostPortError{.part = Part::Port, .text = std::string(port)});
    return HostPort{.address = *ip, .port = value};
}

std::string IpAddress::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == 0 || !inet_ntop(family, bytes.data(), buf, sizeof buf)) return "?";
    return buf;
}

}  // namespace netcfg
