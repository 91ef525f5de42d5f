#pragma once
// The configuration: parsed from JSON (or --vip), validated completely once, then frozen.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "netcfg/ip_address.h"

namespace agent {

struct ArpSettings {
    int ignore = 1;
    int announce = 2;
    std::vector<std::string> interfaces{"lo", "all"};
};

struct Config {
    std::string source;  // the file it came from, or "--vip"
    std::vector<netcfg::IpAddress> vips;
    ArpSettings arp;
    bool hostRoutes = true;
};

// Every problem found, one line each: "FILE: FIELD: PROBLEM".
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

inline constexpr const char* kDefaultConfigPath = "/etc/lvs-rs-agent/config.json";

// Parses a JSON document. cliVips, when not empty, replace the document's "vips".
Config parseConfig(const std::string& text, const std::string& source,
                   const std::vector<std::string>& cliVips = {});

// --vip alone: no file is read, every other setting keeps its default.
// --config (or the default path) with or without --vip: the file is read.
Config loadConfig(const std::optional<std::string>& path, const std::vector<std::string>& cliVips);

// Why text is not a usable VIP, or nullopt with out set.
std::optional<std::string> vipProblem(const std::string& text, netcfg::IpAddress& out);

}  // namespace agent
