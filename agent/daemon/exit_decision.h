#pragma once
// On SIGTERM: is this a stop (drain, then undo everything) or a restart (hand over to the
// next process: the VIPs, routes and ARP settings stay, readiness never drops)? Only a real
// stop undoes. When unsure, it is a stop: never leave VIPs behind by mistake.
//
// The evidence, strongest first:
//   1. the type of the job systemd has pending for the unit, asked over D-Bus: restart,
//      try-restart, reload-or-restart (systemctl restart, the package's restart after an
//      upgrade) -> hand over; stop (systemctl stop, disable --now, removal, shutdown) ->
//      stop;
//   2. without a telling job (no bus, not under systemd, no job; and the packaged unit's
//      dynamic user cannot ask dbus-daemon, which drops callers it cannot resolve): a
//      hand-over marker (STATE_DIR/restart-requested) written at most kMarkerFreshSeconds
//      ago -> hand over. The unit's ExecStop= (`lvs-rs-agent exit-hook`, as root) writes
//      it for a restart job and removes it for a stop; the Debian postinst writes it
//      before an upgrade's restart;
//   3. otherwise -> stop.
#include <optional>
#include <string>

namespace agent {

struct ExitEvidence {
    // The pending job's type ("restart", "stop", "" for none); nullopt: it could not be
    // asked (jobError says why).
    std::optional<std::string> jobType;
    std::string jobError;
    // The hand-over marker's age in seconds; nullopt: there is none.
    std::optional<double> markerAgeSeconds;
};

struct ExitDecision {
    bool handOver = false;
    std::string why;  // for the log: what decided it
};

inline constexpr double kMarkerFreshSeconds = 120;

ExitDecision decideExit(const ExitEvidence& e);

// restart, try-restart, reload-or-restart, reload-or-try-restart: the job types that
// start the unit again after stopping it.
bool isRestartJob(const std::string& jobType);

}  // namespace agent
