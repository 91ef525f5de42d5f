#include <algorithm>
#include <cstdio>

#include "agent/cli/commands.h"
#include "agent/tools/doctor.h"
#include "agent/base/log.h"
#include "agent/reconcile/session.h"

namespace agent {

int runDoctor(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    auto nl = netcfg::openKernelNetlink();
    if (!nl) {
        logError(nl.error().message);
        return kFailed;
    }
    const sysctl::SysctlTree tree;
    auto input = gatherDoctorInput(*cfg, **nl, tree, o.sysroot);
    if (!input) {
        logError(input.error());
        return kFailed;
    }
    const auto findings = diagnose(*input);
    std::fputs((o.json ? checksJson(findings) : renderChecks(findings)).c_str(), stdout);
    const bool wrong = std::any_of(findings.begin(), findings.end(), [](const DoctorCheck& f) { return f.verdict != DoctorCheck::Verdict::Ok; });
    return wrong ? kFailed : kOk;
}

}  // namespace agent
