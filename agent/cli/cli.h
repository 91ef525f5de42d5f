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
    bool ready = false;         // status: not ready exits 3 too
    bool wait = false;          // drain: until drained
    std::string timeout;        // drain --wait: seconds (empty: the drain's max_seconds)
    bool offline = false;       // check: the file alone, no look at the kernel
    std::string output;         // import: the file to write
    std::string format;         // director-config
    std::string directorCheck;  // director-config
    std::vector<std::string> rips;  // director-config: the real server's address of the other family
    std::string method, encap;      // director-config: dr|tun, ipip|gue ("" when not given)
    std::vector<std::string> neighbors;  // router-config: the routers to peer with
    std::string localAs, peerAs, routerId;  // router-config (empty: the defaults)
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
// Runs the command o names (parseArgs accepted it) and returns its exit code.
int dispatch(const Options& o);
// "usage: lvs-rs-agent COMMAND ..." (one line), or empty for an unknown command.
std::string commandUsage(const std::string& command);
// The command the arguments name (skipping option values), or empty.
std::string commandIn(const std::vector<std::string>& args);
// The candidate within two edits of word (and less than half of it), or empty.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace agent
