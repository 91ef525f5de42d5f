#pragma once
// Small socket helpers shared by the agent-check responder and the control socket.
#include <poll.h>

#include <chrono>
#include <expected>
#include <string>
#include <vector>

#include "agent/base/unique_fd.h"

namespace api {

// A listening TCP socket on host:port (port 0: any); none, with why set, on failure.
std::expected<agent::UniqueFd, std::string> listenTcp(const std::string& host, int port, int backlog = 64);
// Whether fd is a listening TCP socket bound to host:port (port 0: any port): one passed
// back by systemd's descriptor store is used only when it is what the configuration asks for.
bool listensOn(int fd, const std::string& host, int port);
int boundPort(int fd);
void writeAll(int fd, const std::string& text);
// A server thread's poll set: its stop pipe, then its listening socket (clients follow).
std::vector<pollfd> serverPollSet(int stopFd, int listenFd);
// poll()'s timeout in ms: the sooner of `timeout` (-1: none yet) and `deadline`, never negative.
int soonerTimeout(int timeout, std::chrono::steady_clock::time_point deadline, std::chrono::steady_clock::time_point now);
// Client text as it may be echoed back: at most `max` bytes, anything but printable
// ASCII replaced by '?', so a reply never carries a newline, a control byte or bad UTF-8.
std::string printable(const std::string& text, std::size_t max);
// An IPv4 or IPv6 address in canonical text ("2001:db8::1"), or "" if text is not one.
std::string canonicalAddress(const std::string& text);
// canonicalAddress, or for "ADDRESS/LENGTH" (a range's name) the canonical address with
// the length; "" when neither.
std::string canonicalVipText(const std::string& text);

}  // namespace api
