#include "api/agent_check.h"

#include <utility>

#include "api/readiness.h"
#include "api/socket_util.h"

namespace api {

namespace {

// HAProxy takes several words in one reply. "up" undoes an earlier "down" (the
// operational state) and "ready" undoes an earlier "drain" (the administrative state);
// each leaves the other alone, so ready and drain send both.
std::string upReady(const Snapshot& s) {
    if (s.agentCheckWeight >= 0) return "up ready " + std::to_string(s.agentCheckWeight) + "%\n";
    return "up ready\n";
}

// Draining or drained: HAProxy's "drain" (weight 0: established connections go on, no new
// ones); not ready: "down"; ready: "up ready".
std::string replyFor(const Snapshot& s, const Readiness& r) {
    if (r.drained()) return "up drain\n";
    if (!r.ready()) return "down\n";
    return upReady(s);
}

}  // namespace

std::string agentCheckReply(const Snapshot& s) { return replyFor(s, s.server); }

std::string agentCheckReplyFor(const Snapshot& s, const std::string& request) {
    const auto first = request.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return agentCheckReply(s);
    const std::string text = request.substr(first, request.find_last_not_of(" \t\r\n") + 1 - first);
    const std::string vip = canonicalAddress(text);
    const VipReadiness* v = vip.empty() ? nullptr : s.find(vip);
    if (!v) return "down #" + printable(text, 64) + " is not a VIP of this agent\n";
    return replyFor(s, vipReadiness(s, *v));
}

AgentCheckResponder::AgentCheckResponder(const SnapshotStore& store, std::chrono::milliseconds sendWait)
    : store_(store),
      server_(LineServer::Options{.maxClients = kMaxClients, .maxLine = kMaxRequest, .lineDeadline = sendWait, .busyReply = std::nullopt},
              [this](LineServer::Client& c, LineServer::Event e, LineServer::Clock::time_point) { return onClient(c, e); }) {}

AgentCheckResponder::~AgentCheckResponder() { stop(); }

std::expected<int, std::string> AgentCheckResponder::start(const std::string& host, int port, agent::UniqueFd listening) {
    auto fd = listening ? std::expected<agent::UniqueFd, std::string>(std::move(listening)) : listenTcp(host, port);
    if (!fd) return std::unexpected("agent-check: " + fd.error());
    const int bound = boundPort(fd->get());
    if (auto a = server_.adopt(std::move(*fd)); !a) return std::unexpected("agent-check: " + a.error());
    server_.serveInBackground();
    return bound;
}

void AgentCheckResponder::stop() { server_.stop(); }

// A line (agent-send), a half-close, or the wait running out answer with what the client
// sent (nothing: the whole server's state); a line too long is refused.
std::optional<std::string> AgentCheckResponder::onClient(LineServer::Client& c, LineServer::Event e) {
    using E = LineServer::Event;
    if (e == E::TooLong) return std::string("down #request too long: send a VIP, such as \"198.51.100.188\\n\"\n");
    if (e == E::Poll) return std::nullopt;
    return agentCheckReplyFor(*store_.get(), c.line);
}

}  // namespace api
