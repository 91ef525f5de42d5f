#pragma once
// The HTTP API's engines (api/http_api.h): each one loop thread with its own
// libmicrohttpd daemon in external epoll mode, and the admission table they share.
// Internal to api/: only http_api.cpp and http_engine.cpp include it.
#include <microhttpd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/http_api.h"

namespace api {

using Clock = std::chrono::steady_clock;

// One accepted connection as the engines track it (libmicrohttpd keeps its own). Its
// loop writes it; another loop making room reads it under the admission lock.
struct Conn {
    int fd = -1;  // libmicrohttpd's once handed over: it closes it
    std::string client;  // address bytes, the per-client key
    std::string clientText;
    std::atomic<Clock::rep> waitingSince{0};   // opened, or its previous answer was taken
    std::atomic<Clock::rep> exchangeSince{0};  // its current request's head arrived (its loop writes; another loop making room reads)
    std::atomic<bool> inExchange{false};
    std::atomic<bool> dropped{false};  // shut down; libmicrohttpd closes it next (set under the lock)
    std::size_t largeAnswer = 0;       // bytes counted in largeInFlight for its answer (its loop only)
    Clock::time_point waiting() const { return Clock::time_point(Clock::duration(waitingSince.load())); }
    ConnTimes times() const {
        return {.dropped = dropped.load(), .inExchange = inExchange.load(), .waiting = waiting(),
                .exchangeSince = Clock::time_point(Clock::duration(exchangeSince.load()))};
    }
};

// What every engine shares: the per-client counts, the open total, the counters.
struct HttpApi::Admission {
    std::mutex mu;  // guards all of this and every engine's table of connections
    std::unordered_map<std::string, int> perClient;
    HttpCounters counters;  // counters.open: tracked and not dropped, all engines
    std::vector<Engine*> engines;
    std::atomic<std::size_t> largeInFlight{0};  // bytes of large answers not yet taken
};

// One loop thread: its own libmicrohttpd daemon, its own connections. Every engine
// accepts from the one listening socket (EPOLLEXCLUSIVE: one is woken per connection).
class HttpApi::Engine {
public:
    Engine(const Routes& routes, const HttpLimits& limits, Admission& admission)
        : routes_(routes), limits_(limits), admission_(admission) {}
    ~Engine() { stop(); }

    std::expected<void, std::string> start(int listenFd);  // -1: connections handed in only
    void stop();
    // Accepts no more: the listening socket leaves this loop's epoll (its backlog waits
    // for whoever listens next).
    void stopAccepting() {
        if (listenFd_ >= 0 && epoll_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listenFd_, nullptr);
    }
    void add(agent::UniqueFd fd);

private:
    void loop();
    void acceptSome();
    void admit(agent::UniqueFd fd, const sockaddr_storage& addr, socklen_t len);
    bool makeRoom();
    void drop(Conn& c, std::uint64_t HttpCounters::*why);
    void dropLocked(Conn& c, std::uint64_t HttpCounters::*why);  // with the admission lock held
    void sweep(Clock::time_point now);
    int timeoutMs(Clock::time_point now);
    void forget(Conn* c);

    static MHD_Result onRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                                const char* version, const char* uploadData, std::size_t* uploadSize, void** reqCls);
    static void onCompleted(void* cls, MHD_Connection* connection, void** reqCls, MHD_RequestTerminationCode toe);
    static void onConnection(void* cls, MHD_Connection* connection, void** socketContext, MHD_ConnectionNotificationCode toe);
    // path: the request target as sent (a NUL byte in it kept, so the routes refuse it)
    MHD_Result answer(MHD_Connection* connection, Conn* conn, std::string path, const char* method);

    const Routes& routes_;
    const HttpLimits limits_;
    Admission& admission_;
    struct StopDaemon {
        void operator()(MHD_Daemon* d) const noexcept { MHD_stop_daemon(d); }  // closes its connections
    };
    std::unique_ptr<MHD_Daemon, StopDaemon> mhd_;
    int listenFd_ = -1;  // borrowed from HttpApi
    agent::UniqueFd epoll_, wake_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    // by fd; changed by this loop only, under the admission lock (another loop making room
    // reads it under that lock). libmicrohttpd announces a close before it closes the fd,
    // so a connection in a table has an open fd: shutting it down under the lock is safe.
    std::unordered_map<int, std::unique_ptr<Conn>> conns_;
    Clock::time_point nextSweep_{};
    std::mutex handMu_;
    std::vector<agent::UniqueFd> handedIn_;
};

}  // namespace api
