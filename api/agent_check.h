#pragma once
// The HAProxy agent-check responder: on each connection it writes one line for this
// server's state and closes: "up ready" (optionally "up ready 50%"), "up drain" or
// "down". HAProxy leaves drain only on "ready" and down only on "up".
#include <expected>
#include <string>
#include <thread>

#include "api/snapshot.h"

namespace api {

std::string agentCheckReply(const Snapshot& s);

class AgentCheckResponder {
public:
    explicit AgentCheckResponder(const SnapshotStore& store) : store_(store) {}
    ~AgentCheckResponder();
    AgentCheckResponder(const AgentCheckResponder&) = delete;
    AgentCheckResponder& operator=(const AgentCheckResponder&) = delete;

    std::expected<int, std::string> start(const std::string& host, int port);  // returns the bound port
    void stop();

private:
    void serve();
    const SnapshotStore& store_;
    int listenFd_ = -1;
    int stopPipe_[2] = {-1, -1};
    std::thread thread_;
};

}  // namespace api
