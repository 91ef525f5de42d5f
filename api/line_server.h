#pragma once
// One thread serving clients that send a line and get one back: the control socket and
// the agent-check responder. It owns the listening socket, a stop pipe and every client's
// descriptor; each client has a deadline, so one that trickles or stalls holds only
// itself. What a line means, and when a waiting client is answered, is the protocol's.
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "agent/base/unique_fd.h"

namespace api {

class LineServer {
public:
    using Clock = std::chrono::steady_clock;

    struct Client {
        agent::UniqueFd fd;
        std::string line;  // what it sent so far; on Event::Line without its newline
        Clock::time_point deadline;
        bool waiting = false;       // its line is handled; it awaits the protocol's answer (polled every 5 ms)
        std::uint64_t ticket = 0;   // the protocol's own (e.g. the request it waits for)
        int command = 0;            // likewise
        std::vector<std::string> args;  // likewise
    };
    enum class Event {
        Line,      // a whole line arrived (newline stripped)
        Closed,    // the peer closed its end before a newline
        TooLong,   // more than maxLine bytes without a newline
        Deadline,  // its deadline passed (waiting or not)
        Poll,      // a waiting client's turn: answer now, or keep waiting
    };
    // What to do with a client: keep it (nullopt), or send this reply and close it (an
    // empty reply: close it without a word).
    using Handler = std::function<std::optional<std::string>(Client&, Event, Clock::time_point now)>;

    struct Options {
        int maxClients = 16;
        std::size_t maxLine = 8192;
        std::chrono::milliseconds lineDeadline{2000};
        // A client arriving when maxClients are connected: with a reply it is refused with
        // it; without, the one connected longest is handled as at its deadline first.
        std::optional<std::string> busyReply;
    };

    LineServer(Options options, Handler handler) : options_(std::move(options)), handler_(std::move(handler)) {}
    ~LineServer() { stop(); }
    LineServer(const LineServer&) = delete;
    LineServer& operator=(const LineServer&) = delete;

    // Takes a listening socket; clients can queue in its backlog before serve() runs.
    std::expected<void, std::string> adopt(agent::UniqueFd listening);
    void serveInBackground();
    void stop();
    int listenFd() const { return listen_.get(); }

private:
    void serve();
    // Runs the handler; true when the client was answered (and closed).
    bool handle(Client& c, Event e, Clock::time_point now);
    Options options_;
    Handler handler_;
    agent::UniqueFd listen_, stopRead_, stopWrite_;
    std::thread thread_;
};

}  // namespace api
