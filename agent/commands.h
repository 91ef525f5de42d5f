#pragma once
// One function per command; each returns the process exit code.
#include <optional>

#include "agent/cli.h"
#include "agent/config.h"

namespace agent {

// Loads --config/--vip; logs each problem and returns nullopt on a bad configuration.
std::optional<Config> loadOrReport(const Options& o);

int runStart(const Options& o);
int runStop(const Options& o);
int runStatus(const Options& o);
int runCheck(const Options& o);
int runDrain(const Options& o, bool drain);
int runDirectorConfig(const Options& o);
int runDoctor(const Options& o);
int runImport(const Options& o);  // drain / undrain a running daemon

}  // namespace agent
