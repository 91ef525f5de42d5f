// Wires the command line to the commands.
#include <cstdio>
#include <string>
#include <vector>

#include "agent/cli/cli.h"
#include "agent/version.h"

int main(int argc, char** argv) {
    using namespace agent;
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto options = parseArgs(args);
    if (!options) {
        // The error, the command's own usage line, and where the rest is: not the whole help.
        const std::string command = commandIn(args);
        std::fprintf(stderr, "lvs-rs-agent: %s\n%sSee `lvs-rs-agent %s--help`.\n", options.error().c_str(),
                     commandUsage(command).c_str(), command.empty() ? "" : (command + " ").c_str());
        return kUsage;
    }
    if (options->version) {
        std::printf("lvs-rs-agent %s\n", kVersion);
        return kOk;
    }
    if (options->help) {
        std::fputs((options->command.empty() ? usage() : commandHelp(options->command)).c_str(), stdout);
        return kOk;
    }
    const std::string& c = options->command;
    // A one-shot command writes all its change lines at once (10,000 VIPs make 20,000
    // lines); the daemon's go out line by line as they happen.
    static char logBuffer[1 << 16];
    if (c == "run")
        std::setvbuf(stderr, nullptr, _IOLBF, 0);
    else
        std::setvbuf(stderr, logBuffer, _IOFBF, sizeof logBuffer);
    return dispatch(*options);
}
