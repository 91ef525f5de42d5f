// The daemon's servers: the HTTP API and the agent-check responder on their listening
// sockets (kept in systemd's descriptor store across a restart, bound anew otherwise), the
// control socket and the service checker.
#include <filesystem>

#include "agent/base/log.h"
#include "agent/daemon/daemon.h"
#include "api/socket_util.h"

namespace agent {
namespace {

// The descriptor systemd kept under name when it is what host:port asks for; one that is
// not (api.listen changed across the restart) is closed and dropped from the store.
UniqueFd inheritedListener(std::multimap<std::string, UniqueFd>& fds, const std::string& name, const std::string& host, int port,
                           SystemdNotifier& notifier) {
    UniqueFd out;
    for (auto [b, e] = fds.equal_range(name); b != e; ++b)
        if (!out && api::listensOn(b->second.get(), host, port)) out = std::move(b->second);
    const bool stale = fds.count(name) > 0 && !out;
    fds.erase(name);
    if (stale) {
        notifier.removeStoredFd(name);
        logInfo("the " + name + " socket kept across the restart listens elsewhere than " + host + ":" + std::to_string(port) + "; binding anew");
    }
    return out;
}

}  // namespace

// The HTTP API and the agent-check responder of `api`, on sockets systemd kept when they
// match (a restart), else bound anew and put in the store. Nothing is swapped in on failure.
std::expected<Daemon::ApiServers, std::string> Daemon::bindApi(const ApiSettings& api) {
    ApiServers out;
    if (!api.enabled) return out;
    out.http = std::make_unique<api::HttpApi>(store_, *this,
                                              api::HttpApiOptions{.host = api.host,
                                                                  .port = api.port,
                                                                  .token = api.token,
                                                                  .healthyWithinMs = std::max(5000, 3 * cfg_.checkIntervalMs),
                                                                  .limits = {},
                                                                  .warn = [](const std::string& line) { logWarning(line); }});
    UniqueFd kept = inheritedListener(inherited_, "http", api.host, api.port, notifier_);
    const bool adopted = static_cast<bool>(kept);
    auto port = out.http->start(std::move(kept));
    if (!port)
        return std::unexpected("api.listen: " + port.error() +
                               (port.error().find("Cannot assign requested address") != std::string::npos
                                    ? " (" + api.host + " is not an address of this host)"
                                    : ""));
    out.lines.push_back("HTTP API listening on " + api.host + ":" + std::to_string(*port) + (adopted ? " (the socket kept across the restart)" : ""));
    out.httpFresh = !adopted;
    if (api.agentCheckPort > 0) {
        out.agentCheck = std::make_unique<api::AgentCheckResponder>(store_, std::chrono::milliseconds(api.agentCheckWaitMs));
        UniqueFd keptCheck = inheritedListener(inherited_, "agent-check", api.host, api.agentCheckPort, notifier_);
        const bool adoptedCheck = static_cast<bool>(keptCheck);
        auto ac = out.agentCheck->start(api.host, api.agentCheckPort, std::move(keptCheck));
        if (!ac) return std::unexpected("api.agent_check_port: " + ac.error());
        out.lines.push_back("HAProxy agent-check responder on " + api.host + ":" + std::to_string(*ac) +
                            (adoptedCheck ? " (the socket kept across the restart)" : ""));
        out.agentCheckFresh = !adoptedCheck;
    }
    return out;
}

// The servers in force become `next`'s; the store holds exactly their sockets.
void Daemon::swapApi(ApiServers next) {
    if (http_ && (!next.http || next.httpFresh)) notifier_.removeStoredFd("http");
    if (agentCheck_ && (!next.agentCheck || next.agentCheckFresh)) notifier_.removeStoredFd("agent-check");
    http_ = std::move(next.http);
    agentCheck_ = std::move(next.agentCheck);
    if (http_ && next.httpFresh) notifier_.storeFd("http", http_->listenFd());
    if (agentCheck_ && next.agentCheckFresh) notifier_.storeFd("agent-check", agentCheck_->listenFd());
    for (const auto& l : next.lines) logInfo(l);
}

// New listening sockets first; the old ones close only once the new ones listen. The
// same port on an overlapping address cannot be bound twice: then the old go first, and
// come back if the new cannot be bound.
std::expected<void, std::string> Daemon::rebindApi(const ApiSettings& next) {
    auto servers = bindApi(next);
    if (!servers && (next.port == cfg_.api.port || next.agentCheckPort == cfg_.api.agentCheckPort)) {
        swapApi({});
        servers = bindApi(next);
        if (!servers)
            if (auto back = bindApi(cfg_.api)) swapApi(std::move(*back));
    }
    if (!servers) return std::unexpected(servers.error() + "; the API stays on its previous address");
    swapApi(std::move(*servers));
    return {};
}

std::expected<void, std::string> Daemon::startServers() {
    store_.beat();
    publish();
    auto servers = bindApi(cfg_.api);
    if (!servers) return std::unexpected(servers.error());
    swapApi(std::move(*servers));
    // What the store holds that this configuration does not use (the API turned off, the
    // agent-check port removed) goes.
    for (const auto& [name, fd] : inherited_) notifier_.removeStoredFd(name);
    inherited_.clear();
    control_ = std::make_unique<api::ControlServer>(*this, store_);
    if (auto c = control_->start(std::filesystem::path(options_.stateDir) / "control.sock"); !c) return c;
    checker_ = std::make_unique<ServiceChecker>(cfg_.services, [this] { wake(); }, servicesHandedOver_);
    servicesHandedOver_.clear();
    return {};
}

}  // namespace agent
