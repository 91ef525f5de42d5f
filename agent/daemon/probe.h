#pragma once
// One probe of a service check, by type: tcp (a connect), http and https (cpp-httplib),
// exec (a command, no shell, no capabilities), dns (a UDP question, c-ares). A Prober is
// made once per check and runs one probe at a time (the schedule sees to it), each within
// its deadline; ProbeCancel lets the checker end one that outlives it from another thread.
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "agent/base/unique_fd.h"
#include "agent/config/config.h"

namespace agent {

struct ProbeOutcome {
    bool up = false;
    std::string reason;     // why not (empty when up)
    bool timedOut = false;  // down because the deadline passed
};

// Set by the checker when a probe's deadline has passed (or the checker is going away).
// A probe polls fd() with its own descriptors (readable once cancelled), or registers what
// ends its blocking call (cpp-httplib's stop()); clear() before that object goes away.
class ProbeCancel {
public:
    ProbeCancel();
    void cancel();
    bool cancelled() const;
    int fd() const { return event_.get(); }
    // fn runs now if already cancelled, else at cancel(); never after clear() returns.
    void onCancel(std::function<void()> fn);
    void clear();

private:
    mutable std::mutex mu_;
    bool cancelled_ = false;
    std::function<void()> fn_;
    UniqueFd event_;
};

class Prober {
public:
    using Clock = std::chrono::steady_clock;
    virtual ~Prober() = default;
    virtual ProbeOutcome probe(Clock::time_point deadline, ProbeCancel& cancel) = 0;
};

// The prober for a check's type.
std::unique_ptr<Prober> makeProber(const ServiceCheck& check);

// What the probes share.
namespace probe_detail {
// Milliseconds left until the deadline (0 once past it).
int remainingMs(Prober::Clock::time_point deadline);
// Where a probe of c goes: its VIP, or for a NAT VIP's check this server's address facing
// the director (the source the kernel picks for it: a UDP connect, no packet sent).
std::expected<netcfg::IpAddress, std::string> targetOf(const ServiceCheck& c);
// Connects a TCP socket to VIP:port within the deadline: the socket, or why not.
std::expected<UniqueFd, std::string> connectTo(const ServiceCheck& c, Prober::Clock::time_point deadline, ProbeCancel& cancel);
// Waits for events on fd, or the deadline, or a cancel: >0 ready, 0 deadline, -1 cancelled.
int waitFor(int fd, short events, Prober::Clock::time_point deadline, ProbeCancel& cancel);
}  // namespace probe_detail

std::unique_ptr<Prober> makeHttpProber(const ServiceCheck& check);
std::unique_ptr<Prober> makeExecProber(const ServiceCheck& check);
std::unique_ptr<Prober> makeDnsProber(const ServiceCheck& check);

}  // namespace agent
