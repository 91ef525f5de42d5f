#include <cstdio>
#include <filesystem>

#include "agent/cli/commands.h"
#include "agent/base/log.h"
#include "api/control_socket.h"

namespace agent {

int runDrain(const Options& o, bool drain) {
    auto reply = api::controlRequest(std::filesystem::path(o.stateDir) / "control.sock", drain ? "drain" : "undrain");
    if (!reply) {
        logError(reply.error());
        return kFailed;
    }
    if (reply->rfind("ok ", 0) != 0) {
        logError(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
        return kFailed;
    }
    std::printf("%s\n", reply->substr(3).c_str());
    return kOk;
}

int runReload(const Options& o) {
    auto reply = api::controlRequest(std::filesystem::path(o.stateDir) / "control.sock", "reload",
                                      static_cast<int>(api::ControlServer::kReloadDeadline.count() / 1000) + 10);
    if (!reply) {
        logError(reply.error());
        return kFailed;
    }
    if (reply->rfind("ok ", 0) != 0) {
        logError(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
        // rejected by the daemon (the configuration), rather than not answered
        return reply->find("reload rejected") != std::string::npos ? kUsage : kFailed;
    }
    std::printf("%s\n", reply->substr(3).c_str());
    return kOk;
}

}  // namespace agent
