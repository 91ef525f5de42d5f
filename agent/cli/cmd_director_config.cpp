#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/tools/director_config.h"
#include "agent/base/log.h"

namespace agent {

int runDirectorConfig(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    const auto format = o.format == "keepalived" ? DirectorFormat::Keepalived
                        : o.format == "ipvsadm"  ? DirectorFormat::Ipvsadm
                                                 : DirectorFormat::Haproxy;
    const auto method = directorMethod(*cfg, o.method, o.encap, format);
    if (!method) {
        logError(method.error());
        return kUsage;
    }
    auto target = directorTarget(*cfg, o.directorCheck, o.rips, format, *method);
    if (!target) {
        logError(target.error());
        return kUsage;
    }
    std::fputs(renderDirectorConfig(*cfg, format, *target).c_str(), stdout);
    return kOk;
}

}  // namespace agent
