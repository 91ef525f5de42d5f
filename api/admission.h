#pragma once
// The HTTP API's admission policy, apart from the engine that applies it (and so tested
// without sockets): who gets in at the connection limits, who makes room, when a
// connection has overstayed, whether a large answer may be held for a slow reader.
#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace api {

struct HttpLimits {
    int maxConnections = 512;          // open at once; at the limit the longest-waiting idle one makes room
    int maxPerClient = 32;             // open at once from one client address; more are refused
    std::size_t maxHead = 8 * 1024;    // request line and headers; larger: 431, closed
    std::size_t connectionMemory = 16 * 1024;  // libmicrohttpd's buffer per connection
    std::chrono::milliseconds headDeadline{5000};       // a request head must arrive in full within this
                                                        // of the connection opening or the previous answer
    std::chrono::milliseconds exchangeDeadline{15000};  // an answer must be taken within this
    int idleTimeoutSeconds = 10;       // no byte either way for this long: closed
    int backlog = 1024;                // listen(2) backlog
    int threads = 2;                   // event loops, each serving its share of the connections
    // Answers of largeBody bytes or more (/status, /metrics with thousands of VIPs) held
    // for clients at once, all connections together; past it such a request gets 503 with
    // Retry-After, so slow readers cannot pile up copies. /ready answers are never large.
    std::size_t largeBody = 64 * 1024;
    std::size_t largeBodiesInFlight = 64 * 1024 * 1024;
};

using AdmissionClock = std::chrono::steady_clock;

// What the policy knows of one open connection.
struct ConnTimes {
    bool dropped = false;     // shut down already
    bool inExchange = false;  // its request head is in; its answer not yet taken
    AdmissionClock::time_point waiting{};        // opened, or its previous answer was taken
    AdmissionClock::time_point exchangeSince{};  // its current request's head arrived
};

enum class Admit {
    Yes,
    MakeRoom,          // at maxConnections: in, if a connection can be closed for it
    RefusedPerClient,  // its address has maxPerClient open
};
Admit admitDecision(int openFromClient, std::size_t openTotal, const HttpLimits& limits);

// The connection to close to make room (its index in open): the one waiting longest for a
// request head (or idling longest after an answer), never one being answered nor one
// already dropped; nullopt when there is none. So a crowd of slow or idle clients can
// never lock out a director's poll.
std::optional<std::size_t> roomFrom(const std::vector<ConnTimes>& open);
// The same, one connection at a time (the engine's loop, allocating nothing): c makes
// room rather than best (the one chosen so far, if any).
bool makesRoomBefore(const ConnTimes& c, const ConnTimes* best);

enum class Overdue { HeadTimeout, ExchangeTimeout };
// A connection past its deadline, and which.
std::optional<Overdue> overdue(const ConnTimes& c, AdmissionClock::time_point now, const HttpLimits& limits);

// A large answer of `size` bytes may be held for its client while `inFlight` bytes of
// large answers are; small answers always may.
inline bool isLarge(std::size_t size, const HttpLimits& limits) { return size >= limits.largeBody; }
inline bool largeAnswerFits(std::size_t inFlight, std::size_t size, const HttpLimits& limits) {
    return inFlight + size <= limits.largeBodiesInFlight;
}

}  // namespace api
