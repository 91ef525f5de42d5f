#include <malloc.h>
#include <sys/resource.h>

#include "agent/base/log.h"
#include "agent/cli/commands.h"
#include "agent/cli/daemon_client.h"
#include "agent/daemon/daemon.h"
#include "agent/daemon/notify.h"

namespace agent {

int reportFailure(const Reconciler::PassResult& r) {
    for (const auto& c : r.conflicts) logError(describe(c));
    if (r.outcome == Reconciler::PassResult::Outcome::Refused) {
        logError("refused; nothing was changed");
        return kUsage;
    }
    logError(r.error);
    return kFailed;
}

int runRun(const Options& o) {
    logTimestamps(true);
    auto cfg = loadOrReport(o, true);
    if (!cfg) {
        // Under systemd this line is what `systemctl status` shows next to the failure.
        SystemdNotifier().status("configuration rejected, nothing changed: see `journalctl -u lvs-rs-agent`");
        return kUsage;
    }
    // A long-running process with a handful of mostly idle threads: one malloc arena per
    // thread would only hold on to memory.
    mallopt(M_ARENA_MAX, 2);
    // Large temporaries (a dump, a plan of 20,000 actions) always get pages of their own,
    // returned when freed; glibc would otherwise raise this threshold after the first one
    // and leave them as holes among the long-lived objects (4 MiB at 10,000 VIPs).
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    // The API holds up to 512 connections (plus those being closed): more than the usual
    // soft limit of 1,024 descriptors leaves room for.
    if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 4096) {
        nofile.rlim_cur = std::min<rlim_t>(4096, nofile.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (auto why = refusalWhileDaemonRuns(o.stateDir, "run")) {
        logError(*why);
        return kFailed;
    }
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError(session.error());
        return kFailed;
    }
    // Subscribed before the first look at the kernel, so no change falls in between.
    auto events = netcfg::ChangeEvents::open();
    if (!events) {
        logError(events.error().message);
        return kFailed;
    }
    Daemon d(DaemonOptions{.stateDir = o.stateDir, .configPath = o.config, .cliVips = o.vips, .configDir = o.configDir}, std::move(*cfg),
             std::move(*session), std::make_unique<netcfg::ChangeEvents>(std::move(*events)));
    switch (d.run()) {
        case Daemon::Exit::Ok: return kOk;
        case Daemon::Exit::Refused: return kUsage;
        case Daemon::Exit::Failed: return kFailed;
    }
    return kFailed;
}

}  // namespace agent
