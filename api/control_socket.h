#pragma once
// The local control socket (STATE_DIR/control.sock, mode 0600) through which
// `lvs-rs-agent drain`, `undrain`, `reload` and `status` talk to the running daemon. One
// line in, one out:
//   drain | undrain                  the whole server
//   drain VIP... | undrain VIP...    these VIPs alone (up to kMaxVips; all or nothing)
//   reload                           read the configuration again
//   drains                           what is drained: "ok draining=no drained=N VIP..."
//   readiness                        "ok {JSON}": readiness as /ready computes it, per VIP
//   drain-status [VIP]               "ok {JSON}": the whole server's (or the VIP's) drain:
//                                    state, since, deadline, connections left, how it ended
//   connections [VIP]                "ok {JSON}": the connections on the VIPs (or one), the
//                                    first kListedConnections of them with their addresses
//
// Clients are served side by side (up to kMaxClients), each within a deadline: one that
// trickles or stalls holds only itself. A command is applied only while its client is
// still connected, and the reply says what happened once the loop has published it.
#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/line_server.h"
#include "api/snapshot.h"

namespace api {

class ControlServer {
public:
    static constexpr int kMaxClients = 16;
    static constexpr std::size_t kMaxLine = 8192;  // a command line, with its VIPs
    static constexpr std::size_t kMaxVips = 128;   // VIPs in one drain or undrain
    static constexpr std::size_t kListedDrains = 100;  // VIPs listed in the reply to "drains"
    static constexpr std::chrono::milliseconds kLineDeadline{2000};     // the command line must arrive within this
    static constexpr std::chrono::milliseconds kConfirmDeadline{3000};  // the loop must publish the change within this
    static constexpr std::chrono::milliseconds kReloadDeadline{60000};  // a reload (it may add thousands of VIPs)

    ControlServer(DrainControl& control, const SnapshotStore& store);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // listen() then serveInBackground(); apart, clients can queue before serving starts (tests).
    std::expected<void, std::string> start(const std::filesystem::path& socketPath);
    std::expected<void, std::string> listen(const std::filesystem::path& socketPath);
    void serveInBackground();
    void stop();

private:
    std::optional<std::string> onClient(LineServer::Client& c, LineServer::Event e, LineServer::Clock::time_point now);
    DrainControl& control_;
    const SnapshotStore& store_;
    std::filesystem::path path_;
    LineServer server_;
    bool serving_ = false;  // the socket file is ours to remove
};

enum class ControlCommand { Drain, Undrain, Reload, Drains, Readiness, DrainStatus, Connections };
inline constexpr std::size_t kListedConnections = 50;

struct ControlRequest {
    ControlCommand command = ControlCommand::Drain;
    std::vector<std::string> vips;  // drain/undrain of these VIPs alone (canonical text, no repeats)
};

// The command a line names; otherwise the error reply (one line starting "error ",
// ending in a newline).
std::expected<ControlRequest, std::string> parseControlCommand(const std::string& line);
// The reply for a drain or undrain the loop has carried out (already: nothing had to change).
// An undrain says which VIPs stay drained on their own (from s), and how to lift them.
std::string controlDone(bool drain, bool already, const Snapshot& s);
std::string controlVipsDone(bool drain, const std::vector<std::string>& vips, bool already);
// The reply to "drains", and what a client reads back from it (nullopt: not such a reply).
std::string drainsReply(const Snapshot& s);
struct Drains {
    bool draining = false;               // the whole server
    std::size_t count = 0;               // VIPs drained on their own
    std::vector<std::string> listed;     // the first kListedDrains of them
};
std::optional<Drains> parseDrainsReply(const std::string& line);

// The reply to "readiness": "ok " and one line of JSON with the aggregate ("ready",
// "reasons"), "pid", "vips" (how many), "not_ready" ({"vip", "reasons"} for up to
// kListedNotReady of the VIPs that are not), "not_ready_count", "draining",
// "drained_vips" (up to kListedDrains) and "drained_count".
inline constexpr std::size_t kListedNotReady = 200;
std::string readinessReply(const Snapshot& s);
// What a client reads back from it (nullopt: not such a reply).
std::optional<nlohmann::json> parseReadinessReply(const std::string& line);

// The reply to "drain-status [VIP]": "ok " and one line of JSON: "scope" ("server" or
// "vip"), "vip", "state" (ready, not_ready, draining, drained), "drain" (since,
// earliest_end, deadline, connections, ended, ended_at; null when not drained),
// "connections" (at the last count, null when not counted), "exiting".
std::string drainStatusReply(const Snapshot& s, const std::optional<std::string>& vip);

// The reply for a reload the loop has carried out: its outcome as published.
std::string reloadDone(bool ok, const std::string& what);

// Sends one command ("drain", "undrain", "reload") and returns the daemon's reply line.
std::expected<std::string, std::string> controlRequest(const std::filesystem::path& socketPath, const std::string& command,
                                                       int timeoutSeconds = 10);

}  // namespace api
