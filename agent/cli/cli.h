#pragma once
// The command line: `lvs-rs-agent COMMAND [options]`.
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace agent {

inline constexpr const char* kDefaultStateDir = "/run/lvs-rs-agent";

struct Options {
    std::string command;
    std::optional<std::string> config;
    std::optional<std::string> configDir;  // the drop-ins (default: conf.d beside the config)
    std::vector<std::string> vips;
    std::string stateDir = kDefaultStateDir;
    bool dryRun = false;
    bool json = false;
    bool all = false;
    std::string format;         // director-config
    std::string directorCheck;  // director-config
    std::string sysroot = "/";  // doctor, import
    std::vector<std::string> fromFiles;  // import
    bool help = false;
    bool version = false;
};

// Exit codes shared by every command; status follows LSB (0, 3, 4) on top of these.
enum Exit : int { kOk = 0, kFailed = 1, kUsage = 2, kNotRunning = 3, kUnknown = 4 };

std::expected<Options, std::string> parseArgs(const std::vector<std::string>& args);
std::string usage();
std::string commandHelp(const std::string& command);

}  // namespace agent
