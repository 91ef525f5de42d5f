#pragma once
// Every command: its flags, help text, usage line and the function that carries it out
// (agent/cli/commands.h). The one table the argument parser, --help and dispatch read.
#include <map>
#include <set>
#include <string>

#include "agent/cli/cli.h"

namespace agent {

struct CommandSpec {
    std::set<std::string> flags;  // command-specific flags
    std::string help;
    std::string synopsis;  // the usage line after the command's name
    int (*run)(const Options&) = nullptr;  // what carries it out (agent/cli/commands.h)
};

const std::map<std::string, CommandSpec>& commands();

}  // namespace agent
