#pragma once
// One function per command; each returns the process exit code.
#include <optional>

#include "agent/cli/cli.h"
#include "agent/config/config.h"
#include "agent/reconcile/reconciler.h"

namespace agent {

// Loads --config/--vip; logs each problem and returns nullopt on a bad configuration.
// `changes`: the command would have changed something (its refusal says nothing was).
std::optional<Config> loadOrReport(const Options& o, bool changes = false);

// Logs why a start/stop pass failed; the exit code: 2 for a conflict, 1 otherwise.
int reportFailure(const Reconciler::PassResult& r);

int runStart(const Options& o);
int runRun(const Options& o);
int runStop(const Options& o);
int runStatus(const Options& o);
int runCheck(const Options& o);
int runDrain(const Options& o, bool drain);  // drain / undrain a running daemon
int runReload(const Options& o);             // reload a running daemon and report the outcome
int runExitHook(const Options& o);           // the unit's ExecStop=: leave the hand-over marker for a restart
int runDirectorConfig(const Options& o);
int runRouterConfig(const Options& o);
int runDoctor(const Options& o);
int runImport(const Options& o);

}  // namespace agent
