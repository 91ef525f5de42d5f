#include <cstdio>
#include <filesystem>

#include "agent/cli/commands.h"
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

int runDrain(const Options& o, bool drain) { return control(o, drain ? "drain" : "undrain", 10); }

int runReload(const Options& o) {
    return control(o, "reload", static_cast<int>(api::ControlServer::kReloadDeadline.count() / 1000) + 10);
}

}  // namespace agent
