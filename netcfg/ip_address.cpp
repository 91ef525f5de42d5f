#include "netcfg/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

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

std::string IpAddress::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == 0 || !inet_ntop(family, bytes.data(), buf, sizeof buf)) return "?";
    return buf;
}

}  // namespace netcfg
