#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/base/log.h"
#include "agent/reconcile/report.h"
#include "agent/reconcile/session.h"
#include "api/control_socket.h"

namespace agent {

namespace {

// What a running daemon (`run`) has drained, asked over its control socket; nullopt when
// none runs with this state folder. Text lines, and the same as JSON.
std::optional<std::pair<std::string, nlohmann::json>> daemonDrains(const std::string& stateDir) {
    const auto sock = std::filesystem::path(stateDir) / "control.sock";
    std::error_code ec;
    if (!std::filesystem::exists(sock, ec)) return std::nullopt;
    auto reply = api::controlRequest(sock, "drains", 3);
    const auto drains = reply ? api::parseDrainsReply(*reply) : std::nullopt;
    if (!drains) {
        const std::string why = reply ? *reply : reply.error();
        return std::make_pair("daemon: not reachable: " + why + "\n", nlohmann::json{{"running", false}, {"error", why}});
    }
    std::string list;
    for (const auto& v : drains->listed) list += (list.empty() ? "" : ", ") + v;
    std::string text = std::string("daemon: running; the whole server is ") + (drains->draining ? "draining" : "not draining") + "\n";
    text += "  VIPs drained on their own: " +
            (drains->count == 0 ? std::string("none")
                                : std::to_string(drains->count) + " (" + list + (drains->listed.size() < drains->count ? ", ..." : "") + ")") +
            "\n";
    return std::make_pair(text, nlohmann::json{{"running", true}, {"draining", drains->draining}, {"drained_vips", drains->listed},
                                               {"drained_count", drains->count}});
}

}  // namespace

int runStatus(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    const Desired desired = desiredFrom(*cfg);
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError("cannot tell: " + session.error());
        return kUnknown;
    }
    auto owned = session->stateFile().load();
    if (!owned) {
        logError("cannot tell: " + owned.error());
        return kUnknown;
    }
    auto observed = session->observe(desired, *owned);
    if (!observed) {
        logError("cannot tell: " + observed.error());
        return kUnknown;
    }
    const ReadinessReport report = buildReport(desired, *observed, *owned, plan(desired, *observed, *owned).findings);
    const auto daemon = daemonDrains(o.stateDir);
    if (o.json) {
        auto doc = toJson(report);
        if (daemon) doc["daemon"] = daemon->second;
        std::printf("%s\n", doc.dump(2).c_str());
    } else {
        std::fputs(renderText(report, o.all).c_str(), stdout);
        if (daemon) std::fputs(daemon->first.c_str(), stdout);
    }
    if (report.unknown) return kUnknown;
    return report.inPlace() ? kOk : kNotRunning;
}

int runCheck(const Options& o) {
    auto cfg = loadOrReport(o);
    if (!cfg) return kUsage;
    std::printf("configuration %s is valid", cfg->source.c_str());
    if (!cfg->dropIns.empty()) std::printf(" (with %zu drop-in(s))", cfg->dropIns.size());
    std::printf("; start would:\n");
    for (std::size_t i = 0; i < cfg->vips.size(); ++i) {
        const auto& vip = cfg->vips[i];
        const bool elsewhere = i < cfg->vipSources.size() && cfg->vipSources[i] != cfg->source;
        std::printf("  bind %s on lo%s\n", vip.hostCidr().c_str(), elsewhere ? (" (from " + cfg->vipSources[i] + ")").c_str() : "");
        if (cfg->hostRoutes) std::printf("  add host route %s dev lo in table main\n", vip.hostCidr().c_str());
    }
    for (const auto& iface : cfg->arp.interfaces)
        std::printf("  set net.ipv4.conf.%s.arp_ignore = %d, arp_announce = %d\n", iface.c_str(), cfg->arp.ignore,
                    cfg->arp.announce);
    std::printf("  bring lo up if it is down\n");
    return kOk;
}

}  // namespace agent
