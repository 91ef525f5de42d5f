#include <cstdio>
#include <filesystem>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/base/log.h"
#include "api/control_socket.h"

namespace agent {

namespace {

// One command to the running daemon; its reply printed ("ok ...") or logged ("error
// ..."): exit 0, or 1. A reload the daemon rejected for its configuration exits 2, like
// every configuration error; one it did not answer in time, 1.
int control(const Options& o, const std::string& command, int timeoutSeconds) {
    auto reply = api::controlRequest(std::filesystem::path(o.stateDir) / "control.sock", command, timeoutSeconds);
    if (!reply) {
        logError(reply.error());
        return kFailed;
    }
    if (reply->rfind("ok ", 0) != 0) {
        logError(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
        return command == "reload" && reply->find("reload rejected") != std::string::npos ? kUsage : kFailed;
    }
    std::printf("%s\n", reply->substr(3).c_str());
    return kOk;
}

}  // namespace

int runDrain(const Options& o, bool drain) {
    std::string command = drain ? "drain" : "undrain";
    // --vip: these VIPs alone. Each is checked here, so a typo is named before the daemon
    // is asked; the daemon refuses the whole command if one is not configured.
    if (o.vips.size() > api::ControlServer::kMaxVips) {
        logError("at most " + std::to_string(api::ControlServer::kMaxVips) + " --vip in one " + command + "; nothing changed");
        return kUsage;
    }
    for (const auto& v : o.vips) {
        const auto ip = parseVip(v);
        if (!ip) {
            logError("--vip: " + ip.error() + "; nothing changed");
            return kUsage;
        }
        command += " " + ip->str();
    }
    return control(o, command, 10);
}

int runReload(const Options& o) {
    return control(o, "reload", static_cast<int>(api::ControlServer::kReloadDeadline.count() / 1000) + 10);
}

}  // namespace agent
