#include "api/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "api/readiness.h"
#include "api/socket_util.h"

namespace api {
namespace {

bool fillAddress(const std::filesystem::path& path, sockaddr_un& addr) {
    addr = {};
    addr.sun_family = AF_UNIX;
    const std::string p = path.string();
    if (p.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    return true;
}

// The reply line (the server closes after it), without its newline.
std::string readLine(int fd) {
    std::string line;
    char buf[4096];
    ssize_t n;
    while (line.find('\n') == std::string::npos && line.size() < (1u << 20) && (n = ::recv(fd, buf, sizeof buf, 0)) > 0)
        line.append(buf, static_cast<std::size_t>(n));
    return line.substr(0, line.find('\n'));
}

void setTimeout(int fd, int seconds) {
    timeval tv{.tv_sec = seconds, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

ControlServer::ControlServer(DrainControl& control, const SnapshotStore& store)
    : control_(control),
      store_(store),
      server_(LineServer::Options{.maxClients = kMaxClients, .maxLine = kMaxLine, .lineDeadline = kLineDeadline,
                                  .busyReply = "error busy: " + std::to_string(kMaxClients) + " control clients at once\n"},
              [this](LineServer::Client& c, LineServer::Event e, LineServer::Clock::time_point now) { return onClient(c, e, now); }) {}

ControlServer::~ControlServer() { stop(); }

std::expected<void, std::string> ControlServer::start(const std::filesystem::path& socketPath) {
    auto bound = listen(socketPath);
    if (bound) serveInBackground();
    return bound;
}

std::expected<void, std::string> ControlServer::listen(const std::filesystem::path& socketPath) {
    path_ = socketPath;
    sockaddr_un addr;
    if (!fillAddress(path_, addr)) return std::unexpected("control socket path too long: " + path_.string());
    agent::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::unexpected(std::string("control socket: ") + std::strerror(errno));
    ::unlink(path_.c_str());  // a socket left by a killed daemon; the state-dir lock says we are the only one
    const mode_t old = ::umask(0177);
    const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0 || ::listen(fd.get(), kMaxClients) != 0)
        return std::unexpected("control socket " + path_.string() + ": " + std::strerror(errno));
    ::chmod(path_.c_str(), 0600);
    if (auto a = server_.adopt(std::move(fd)); !a) return std::unexpected("control socket: " + a.error());
    return {};
}

void ControlServer::serveInBackground() {
    server_.serveInBackground();
    serving_ = true;
}

std::expected<ControlRequest, std::string> parseControlCommand(const std::string& line) {
    std::vector<std::string> words;
    for (std::size_t at = 0; at < line.size();) {
        const auto end = std::min(line.find(' ', at), line.size());
        if (end > at) words.push_back(line.substr(at, end - at));
        at = end + 1;
    }
    const std::string first = words.empty() ? line : words.front();
    ControlRequest r;
    if (first == "drain") r.command = ControlCommand::Drain;
    else if (first == "undrain") r.command = ControlCommand::Undrain;
    else if (first == "reload") r.command = ControlCommand::Reload;
    else if (first == "drains") r.command = ControlCommand::Drains;
    else if (first == "readiness") r.command = ControlCommand::Readiness;
    else if (first == "drain-status") r.command = ControlCommand::DrainStatus;
    else if (first == "connections") r.command = ControlCommand::Connections;
    else return std::unexpected("error unknown command \"" + printable(first, 40) +
                                "\" (drain, undrain, reload, drains, readiness, drain-status, connections)\n");
    const bool takesVips = r.command == ControlCommand::Drain || r.command == ControlCommand::Undrain;
    const bool takesOne = r.command == ControlCommand::DrainStatus || r.command == ControlCommand::Connections;
    if (takesOne && words.size() > 2) return std::unexpected("error " + first + " takes one VIP at most\n");
    if (words.size() > 1 && !takesVips && !takesOne) return std::unexpected("error " + first + " takes no argument\n");
    if (words.size() > ControlServer::kMaxVips + 1)
        return std::unexpected("error at most " + std::to_string(ControlServer::kMaxVips) + " VIPs in one command; nothing changed\n");
    for (std::size_t i = 1; i < words.size(); ++i) {
        const std::string vip = canonicalAddress(words[i]);
        if (vip.empty()) return std::unexpected("error \"" + printable(words[i], 64) + "\" is not an IP address; nothing changed\n");
        if (std::find(r.vips.begin(), r.vips.end(), vip) == r.vips.end()) r.vips.push_back(vip);
    }
    return r;
}

std::string reloadDone(bool ok, const std::string& what) {
    std::string line = (ok ? "ok " : "error ") + what;
    std::replace(line.begin(), line.end(), '\n', ' ');  // one line, whatever a problem's text holds
    return line + "\n";
}

std::string controlVipsDone(bool drain, const std::vector<std::string>& vips, bool already) {
    std::string list;
    for (const auto& v : vips) list += (list.empty() ? "" : ", ") + v;
    const std::string which = vips.size() == 1 ? "/ready/" + vips.front() + " answers" : "their /ready/<vip> answer";
    if (drain) return std::string(already ? "ok already draining " : "ok draining ") + list + ": " + which +
                      " 503 and agent-check \"drain\"; " + (vips.size() == 1 ? "the VIP stays" : "they stay") + " bound\n";
    return std::string(already ? "ok not drained: " : "ok undrained ") + list + (already ? "" : ": readiness follows the checks again") + "\n";
}

std::string drainsReply(const Snapshot& s) {
    const std::size_t n = s.drainedCount();
    std::string line = std::string("ok draining=") + (s.draining() ? "yes" : "no") + " drained=" + std::to_string(n);
    std::size_t listed = 0;
    if (n > 0)
        for (const auto& [v, d] : *s.vipDrains) {
            if (listed++ == ControlServer::kListedDrains) break;
            line += " " + v;
        }
    return line + "\n";
}

std::string readinessReply(const Snapshot& s) {
    using nlohmann::json;
    json notReady = json::array();
    std::size_t notReadyCount = 0;
    s.vips.forEach([&](const VipReadiness& v) {
        if (vipReady(s, v)) return;
        if (++notReadyCount <= kListedNotReady) notReady.push_back({{"vip", v.vip}, {"reasons", vipReasons(s, v)}});
    });
    json drained = json::array();
    if (s.vipDrains)
        for (const auto& [v, d] : *s.vipDrains) {
            if (drained.size() == ControlServer::kListedDrains) break;
            drained.push_back(v);
        }
    const json doc{{"ready", s.ready()},
                   {"state", name(s.server.state)},
                   {"reasons", describe(s.server.reasons)},
                   {"pid", static_cast<long>(::getpid())},
                   {"vips", s.vips.size()},
                   {"not_ready", std::move(notReady)},
                   {"not_ready_count", notReadyCount},
                   {"draining", s.draining()},
                   {"exiting", s.exiting()},
                   {"drained_vips", std::move(drained)},
                   {"drained_count", s.drainedCount()},
                   {"config_source", s.config ? s.config->source : std::string()},
                   {"config_loaded_at", s.lastReloadSuccessUnix}};
    // dump() escapes nothing that could break the line: control characters become \uXXXX.
    return "ok " + doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string drainStatusReply(const Snapshot& s, const std::optional<std::string>& vip) {
    using nlohmann::json;
    json doc{{"scope", vip ? "vip" : "server"}, {"exiting", s.exiting()}};
    Readiness r = s.server;
    std::optional<std::uint64_t> connections;
    if (vip) {
        const VipReadiness* v = s.findExact(*vip);
        if (!v) return "error not a VIP of this agent's configuration: " + *vip + "\n";
        doc["vip"] = *vip;
        r = vipReadiness(s, *v);
        if (s.connections)
            if (const auto it = s.connections->find(*vip); it != s.connections->end()) connections = it->second;
    } else if (s.connections) {
        std::uint64_t total = 0;
        for (const auto& [k, n] : *s.connections) total += n;
        connections = total;
    }
    doc["state"] = name(r.state);
    doc["drain"] = r.drained() ? drainDocument(r.drain) : json(nullptr);
    doc["connections"] = connections ? json(*connections) : json(nullptr);
    return "ok " + doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<nlohmann::json> parseReadinessReply(const std::string& line) {
    if (line.rfind("ok {", 0) != 0) return std::nullopt;
    auto doc = nlohmann::json::parse(line.substr(3), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("ready") || !doc["ready"].is_boolean() ||
        !doc.contains("not_ready") || !doc["not_ready"].is_array())
        return std::nullopt;
    return doc;
}

std::optional<Drains> parseDrainsReply(const std::string& line) {
    std::istringstream in(line);
    std::string ok, draining, count, vip;
    if (!(in >> ok >> draining >> count) || ok != "ok" || (draining != "draining=yes" && draining != "draining=no") ||
        count.rfind("drained=", 0) != 0 || count.size() == 8 || count.size() > 28 ||
        !std::all_of(count.begin() + 8, count.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    Drains d{.draining = draining == "draining=yes", .count = std::stoul(count.substr(8)), .listed = {}};
    while (in >> vip) d.listed.push_back(vip);
    return d;
}

std::string controlDone(bool drain, bool already, const Snapshot& s) {
    if (drain) return already ? "ok already draining: /ready answers 503, VIPs stay bound\n"
                              : "ok draining: /ready answers 503, VIPs stay bound\n";
    std::string line = already ? "ok the whole server was not draining" : "ok undrained: /ready follows the checks again";
    const std::size_t n = s.drainedCount();
    if (n == 0) return line + (already ? ": /ready follows the checks\n" : "\n");
    std::string names, flags;
    std::size_t shown = 0;
    for (const auto& [v, d] : *s.vipDrains) {
        if (shown++ == 5) break;
        names += (names.empty() ? "" : ", ") + v;
        flags += " --vip " + v;
    }
    const std::string more = n > 5 ? " and " + std::to_string(n - 5) + " more" : "";
    return line + "; " + std::to_string(n) + " VIP(s) stay drained on their own (" + names + more +
           "): lift with `lvs-rs-agent undrain" + flags + (n > 5 ? " ...`" : "`") + "\n";
}

namespace {

// Every one of vips is drained (or not), or no longer configured (a reload took it).
bool vipsAre(const Snapshot& s, const std::vector<std::string>& vips, bool drained) {
    return std::all_of(vips.begin(), vips.end(), [&](const std::string& v) { return !s.find(v) || s.vipDrained(v) == drained; });
}

// The peer has closed its end entirely (a half-close after the command is fine: it still
// waits for the reply).
bool gone(int fd) {
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

}  // namespace

// A client's command, then (for a change) its wait until the loop has published it.
std::optional<std::string> ControlServer::onClient(LineServer::Client& c, LineServer::Event e, LineServer::Clock::time_point now) {
    using E = LineServer::Event;
    const auto command = static_cast<ControlCommand>(c.command);
    if (c.waiting) {
        const auto snap = store_.get();
        if (command == ControlCommand::Reload) {
            if (snap->reloadServed >= c.ticket) return reloadDone(snap->lastReloadOk, snap->lastReload);
            if (e == E::Deadline)
                return "error reload requested, but the agent's loop has not reported it within " +
                       std::to_string(kReloadDeadline.count() / 1000) + " s; see `lvs-rs-agent status`\n";
            return std::nullopt;
        }
        const bool drain = command == ControlCommand::Drain;
        if (!c.args.empty() && vipsAre(*snap, c.args, drain)) return controlVipsDone(drain, c.args, false);
        if (c.args.empty() && snap->draining() == drain) return controlDone(drain, false, *snap);
        if (e == E::Deadline)
            return "error requested, but the agent's loop has not published it within " + std::to_string(kConfirmDeadline.count() / 1000) +
                   " s; see `lvs-rs-agent status`\n";
        return std::nullopt;
    }
    switch (e) {
        case E::Closed: return std::string();  // left without a whole command
        case E::TooLong: return std::string("error command too long (drain, undrain, reload, drains, readiness)\n");
        case E::Deadline: return "error no command within " + std::to_string(kLineDeadline.count() / 1000) + " s\n";
        case E::Poll: return std::nullopt;
        case E::Line: break;
    }
    const auto cmd = parseControlCommand(c.line);
    if (!cmd) return cmd.error();
    const auto snap = store_.get();
    if (cmd->command == ControlCommand::Drains) return drainsReply(*snap);
    if (cmd->command == ControlCommand::Readiness) return readinessReply(*snap);
    if (cmd->command == ControlCommand::DrainStatus)
        return drainStatusReply(*snap, cmd->vips.empty() ? std::nullopt : std::optional<std::string>(cmd->vips.front()));
    if (cmd->command == ControlCommand::Connections) {
        const auto vip = cmd->vips.empty() ? std::nullopt : std::optional<std::string>(cmd->vips.front());
        if (vip && !snap->findExact(*vip)) return "error not a VIP of this agent's configuration: " + *vip + "\n";
        const auto listing = control_.listConnections(vip, kListedConnections);
        if (!listing) return "error " + listing.error() + "\n";
        nlohmann::json list = nlohmann::json::array();
        for (const auto& c : listing->listed) list.push_back({{"client", c.client}, {"vip", c.vip}, {"state", c.state}});
        return "ok " + nlohmann::json{{"count", listing->count}, {"connections", std::move(list)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    std::string unknown;
    for (const auto& v : cmd->vips)
        if (!snap->find(v)) unknown += (unknown.empty() ? "" : ", ") + v;
    if (!unknown.empty()) return "error not a VIP of this agent's configuration: " + unknown + "; nothing changed\n";
    if (gone(c.fd.get())) return std::string();  // its client left: not applied
    const bool drain = cmd->command == ControlCommand::Drain;
    auto wait = [&](std::chrono::milliseconds deadline) -> std::optional<std::string> {
        c.waiting = true;
        c.command = static_cast<int>(cmd->command);
        c.args = cmd->vips;
        c.deadline = now + deadline;
        return std::nullopt;
    };
    if (cmd->command == ControlCommand::Reload) {
        c.ticket = control_.requestReload();
        return wait(kReloadDeadline);
    }
    auto requester = [&](const std::string& what) {
        ucred cred{};
        socklen_t len = sizeof cred;
        const std::string who = ::getsockopt(c.fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0
                                    ? "uid " + std::to_string(cred.uid) + " (pid " + std::to_string(cred.pid) + ") on the control socket"
                                    : std::string("a client of the control socket");
        control_.logRequest(std::string(drain ? "drain" : "undrain") + " of " + what + " requested by " + who);
    };
    if (!cmd->vips.empty()) {
        if (vipsAre(*snap, cmd->vips, drain)) return controlVipsDone(drain, cmd->vips, true);
        std::string list;
        for (const auto& v : cmd->vips) list += (list.empty() ? "" : ", ") + v;
        requester(list);
        control_.requestVipDrain(cmd->vips, drain);
        return wait(kConfirmDeadline);
    }
    if (snap->draining() == drain) return controlDone(drain, true, *snap);
    if (!drain && snap->exiting()) return std::string("error undrain refused: the agent is exiting and drains before it does\n");
    requester("the whole server");
    control_.requestDrain(drain);
    return wait(kConfirmDeadline);
}

void ControlServer::stop() {
    server_.stop();
    if (std::exchange(serving_, false)) ::unlink(path_.c_str());
}

std::expected<std::string, std::string> controlRequest(const std::filesystem::path& socketPath, const std::string& command,
                                                       int timeoutSeconds) {
    sockaddr_un addr;
    if (!fillAddress(socketPath, addr)) return std::unexpected("control socket path too long");
    const agent::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    setTimeout(fd.get(), timeoutSeconds);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno == EACCES || errno == EPERM)
            return std::unexpected("the running agent's control socket " + socketPath.string() +
                                   " is root's (the state dir is mode 0700): run this as root");
        return std::unexpected("cannot reach the running agent at " + socketPath.string() + ": " + std::strerror(errno) +
                               " (is `lvs-rs-agent run` running with this --state-dir?)");
    }
    writeAll(fd.get(), command + "\n");
    std::string reply = readLine(fd.get());
    if (reply.empty()) return std::unexpected("no reply from the running agent");
    return reply;
}

}  // namespace api
