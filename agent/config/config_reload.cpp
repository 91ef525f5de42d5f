#include "agent/config/config_reload.h"

#include <map>

#include "agent/base/text.h"

namespace agent {

bool sameServices(const std::vector<ServiceCheck>& a, const std::vector<ServiceCheck>& b) { return a == b; }

bool sameListeners(const ApiSettings& a, const ApiSettings& b) {
    return a.enabled == b.enabled && a.host == b.host && a.port == b.port && a.agentCheckPort == b.agentCheckPort &&
           a.agentCheckWaitMs == b.agentCheckWaitMs;
}

void keepListeners(ApiSettings& to, const ApiSettings& from) {
    to.enabled = from.enabled;
    to.host = from.host;
    to.port = from.port;
    to.agentCheckPort = from.agentCheckPort;
    to.agentCheckWaitMs = from.agentCheckWaitMs;
}

namespace {

bool sameApi(const ApiSettings& a, const ApiSettings& b) {
    return sameListeners(a, b) && a.tokenFile == b.tokenFile && a.token == b.token && a.agentCheckWeight == b.agentCheckWeight;
}

// "a, b, c and 2 more"
std::string listed(const std::vector<std::string>& names) { return summarise(names, names.size(), 5); }

}  // namespace

std::vector<std::string> describeChanges(const Config& running, const Config& next) {
    std::vector<std::string> out;
    std::map<netcfg::IpAddress, const Vip*> before, after;
    for (const auto& v : running.vips) before.emplace(v.address, &v);
    for (const auto& v : next.vips) after.emplace(v.address, &v);
    std::vector<std::string> added, removed, changed;
    for (const auto& v : next.vips) {
        const auto it = before.find(v.address);
        if (it == before.end()) added.push_back(v.name());
        else if (it->second->prefixLen != v.prefixLen || it->second->drained != v.drained || it->second->announce != v.announce)
            changed.push_back(v.name());
    }
    for (const auto& v : running.vips)
        if (!after.contains(v.address)) removed.push_back(v.name());
    if (!added.empty()) out.push_back("VIPs added: " + listed(added));
    if (!removed.empty()) out.push_back("VIPs removed (each drains first): " + listed(removed));
    if (!changed.empty()) out.push_back("VIPs changed: " + listed(changed));
    std::map<std::string, const ServiceCheck*> checksBefore, checksAfter;
    for (const auto& c : running.services) checksBefore.emplace(c.name(), &c);
    for (const auto& c : next.services) checksAfter.emplace(c.name(), &c);
    added.clear(), removed.clear(), changed.clear();
    for (const auto& c : next.services) {
        const auto it = checksBefore.find(c.name());
        if (it == checksBefore.end()) added.push_back(c.name());
        else if (!(*it->second == c)) changed.push_back(c.name());
    }
    for (const auto& c : running.services)
        if (!checksAfter.contains(c.name())) removed.push_back(c.name());
    if (!added.empty()) out.push_back("checks added (not checked yet): " + listed(added));
    if (!removed.empty()) out.push_back("checks removed: " + listed(removed));
    if (!changed.empty()) out.push_back("checks changed (their state kept): " + listed(changed));
    std::vector<std::string> settings;
    const auto& a = running.arp;
    const auto& b = next.arp;
    if (a.ignore != b.ignore || a.announce != b.announce || a.interfaces != b.interfaces) settings.push_back("arp");
    if (running.hostRoutes != next.hostRoutes) settings.push_back("host_routes");
    if (running.announce != next.announce) settings.push_back("announce");
    if (running.tunnel != next.tunnel) settings.push_back("tunnel");
    if (running.checkIntervalMs != next.checkIntervalMs) settings.push_back("check_interval_ms");
    if (running.drain != next.drain) settings.push_back("drain");
    if (running.resyncSeconds != next.resyncSeconds) settings.push_back("resync_interval_seconds");
    if (running.keepOnExit != next.keepOnExit) settings.push_back("keep_on_exit");
    if (!sameApi(running.api, next.api)) settings.push_back("api");
    if (running.director != next.director) settings.push_back("director");
    if (!settings.empty()) out.push_back("settings changed: " + listed(settings));
    return out;
}

ReloadPlan planReload(const Config& running, Config next) {
    ReloadPlan p;
    // The listening sockets: bound anew by the daemon.
    p.apiChanged = !sameListeners(running.api, next.api);
    // The NAT table too: its routes (and, with NAT, the rules) are what the events follow.
    p.tableChanged = running.announce.table != next.announce.table || running.hasRanges() != next.hasRanges() ||
                     running.nat.enabled() != next.nat.enabled() || running.nat.table != next.nat.table;
    p.servicesChanged = !sameServices(next.services, running.services);
    p.intervalChanged = next.checkIntervalMs != running.checkIntervalMs;
    p.applied = std::move(next);
    return p;
}

}  // namespace agent
