#pragma once
// The HAProxy agent-check responder. HAProxy connects, sends its agent-send string if one
// is configured, and reads one line. A client that sends a VIP ("198.51.100.188\n", by
// agent-send) gets that VIP's state; one that sends nothing within the send wait
// (api.agent_check_wait_ms) or closes its side gets the whole server's: "up ready"
// (optionally "up ready 50%"), "up drain" or "down". HAProxy leaves drain only on "ready" and down only on "up".
//
// One thread serves every client with poll(): a client that stalls holds only itself, up
// to kMaxClients at once (beyond that the one waiting longest is answered for the whole
// server to make room).
#include <chrono>
#include <expected>
#include <string>
#include <thread>

#include "api/line_server.h"
#include "api/snapshot.h"

namespace api {

// The whole server's state.
std::string agentCheckReply(const Snapshot& s);
// The reply to what a client sent: a VIP (surrounding blanks and a CR ignored) gets that
// VIP's state; an empty request the whole server's; anything else "down" with a
// description after '#'.
std::string agentCheckReplyFor(const Snapshot& s, const std::string& request);

class AgentCheckResponder {
public:
    static constexpr std::chrono::milliseconds kDefaultSendWait{200};  // for agent-send's line
    static constexpr int kMaxClients = 256;
    static constexpr std::size_t kMaxRequest = 128;

    explicit AgentCheckResponder(const SnapshotStore& store, std::chrono::milliseconds sendWait = kDefaultSendWait);
    ~AgentCheckResponder();
    AgentCheckResponder(const AgentCheckResponder&) = delete;
    AgentCheckResponder& operator=(const AgentCheckResponder&) = delete;

    // Binds host:port (or takes `listening`, already listening) and serves; returns the bound port.
    std::expected<int, std::string> start(const std::string& host, int port, agent::UniqueFd listening = {});
    int listenFd() const { return server_.listenFd(); }
    void stop();

private:
    std::optional<std::string> onClient(LineServer::Client& c, LineServer::Event e);
    const SnapshotStore& store_;
    LineServer server_;
};

}  // namespace api
