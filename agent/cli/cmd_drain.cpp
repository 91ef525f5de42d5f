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

}  // namespace agent
