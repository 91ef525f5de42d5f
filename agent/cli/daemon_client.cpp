#include "agent/cli/daemon_client.h"

#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "agent/reconcile/session.h"
#include "api/control_socket.h"

namespace agent {

DaemonProbe probeDaemon(const std::string& stateDir, int timeoutSeconds) {
    DaemonProbe p;
    if (::access(stateDir.c_str(), X_OK) != 0 && (errno == EACCES || errno == EPERM)) {
        p.state = DaemonProbe::State::NoPermission;
        p.error = stateDir + " is root's (mode 0700)";
        return p;
    }
    const auto marker = daemonMarker(stateDir);
    if (marker) p.pid = *marker;
    const auto sock = std::filesystem::path(stateDir) / "control.sock";
    std::error_code ec;
    if (std::filesystem::exists(sock, ec)) {
        auto reply = api::controlRequest(sock, "readiness", timeoutSeconds);
        if (reply) {
            p.state = DaemonProbe::State::Running;
            p.readiness = api::parseReadinessReply(*reply);
            if (p.readiness && (*p.readiness)["pid"].is_number_integer()) p.pid = (*p.readiness)["pid"].get<long>();
            return p;
        }
        p.error = reply.error();
    } else {
        p.error = "no control socket at " + sock.string();
    }
    p.state = marker ? DaemonProbe::State::Dead : DaemonProbe::State::None;
    return p;
}

std::optional<std::string> refusalWhileDaemonRuns(const std::string& stateDir, const std::string& command) {
    const auto p = probeDaemon(stateDir, 1);
    if (p.state != DaemonProbe::State::Running) return std::nullopt;
    const std::string who = "`lvs-rs-agent run`" + (p.pid > 0 ? " (pid " + std::to_string(p.pid) + ")" : std::string()) +
                            " owns " + stateDir + " and keeps its VIPs in place itself; ";
    if (command == "start")
        return who + command + " refused, nothing changed. Instead: edit its configuration and `lvs-rs-agent reload`, "
                     "or `lvs-rs-agent undrain [--vip ADDR]`";
    if (command == "stop")
        return who + command + " refused, nothing changed. Instead: `systemctl stop lvs-rs-agent` (drains, then undoes), "
                     "or `lvs-rs-agent drain [--vip ADDR]` to take VIPs out of rotation while they stay bound";
    return who + "a second run refused. Use `lvs-rs-agent reload` to apply a changed configuration, or another --state-dir";
}

}  // namespace agent
