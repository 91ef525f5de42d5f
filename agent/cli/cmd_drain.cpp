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
    std::printf("%s\n", reply->c_str());
    return reply->rfind("ok", 0) == 0 ? kOk : kFailed;
}

}  // namespace agent
