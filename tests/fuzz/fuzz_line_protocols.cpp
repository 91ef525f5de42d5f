// libFuzzer harness for the two line protocols: each input line as a control-socket
// command (its reply, once done, is one line, "ok ..." or "error ...") and as an
// agent-send request (one reply line), and the input's bits as the state the HAProxy
// agent-check responder reports (one of its documented replies).
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/agent_check.h"
#include "api/control_socket.h"
#include "api/readiness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string in(reinterpret_cast<const char*>(data), size);
    std::size_t pos = 0;
    while (pos <= in.size()) {
        const auto nl = in.find('\n', pos);
        const std::string line = in.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? in.size() + 1 : nl + 1;
        const auto cmd = api::parseControlCommand(line);
        std::string reply;
        if (!cmd)
            reply = cmd.error();
        else if (cmd->command == api::ControlCommand::Reload)
            reply = api::reloadDone(size % 2 == 0, line);
        else if (cmd->command == api::ControlCommand::Drains)
            reply = api::drainsReply(api::Snapshot{});
        else if (cmd->command == api::ControlCommand::DrainStatus)  // no VIP in an empty snapshot: an error for one
            reply = api::drainStatusReply(api::Snapshot{}, cmd->vips.empty() ? std::nullopt : std::optional<std::string>(cmd->vips.front()));
        else if (cmd->command == api::ControlCommand::Connections)  // the loop's to answer
            reply = "ok {}\n";
        else if (!cmd->vips.empty())
            reply = api::controlVipsDone(cmd->command == api::ControlCommand::Drain, cmd->vips, size % 2 == 0);
        else
            reply = api::controlDone(cmd->command == api::ControlCommand::Drain, size % 2 == 0, api::Snapshot{});
        if (reply.empty() || reply.back() != '\n' || reply.find('\n') != reply.size() - 1) __builtin_trap();
        const bool ok = reply.rfind("ok ", 0) == 0;
        if (!ok && reply.rfind("error ", 0) != 0) __builtin_trap();
        // a reload's reply is "ok" or "error" as the loop reports (here: by the input's size)
        const bool expectOk = cmd && (cmd->command != api::ControlCommand::Reload || size % 2 == 0) &&
                              (cmd->command != api::ControlCommand::DrainStatus || cmd->vips.empty());
        if (ok != expectOk) __builtin_trap();
        if ((line == "drain" || line == "undrain" || line == "drains" || line == "reload") && (!cmd || !cmd->vips.empty())) __builtin_trap();
        if (cmd && cmd->vips.size() > api::ControlServer::kMaxVips) __builtin_trap();
        // the agent-check responder, the line as agent-send's request
        api::Snapshot s;
        s.setVips({{.vip = "198.51.100.1", .bound = true}, {.vip = "2001:db8::1", .bound = false, .findings = {{.message = "not bound"}}}});
        const std::string r = api::agentCheckReplyFor(s, line);
        if (r.empty() || r.back() != '\n' || r.find('\n') != r.size() - 1) __builtin_trap();
        if (r != "up ready\n" && r != "down\n" && r.rfind("down #", 0) != 0) __builtin_trap();
    }
    if (size >= 2) {
        api::Snapshot s;
        if (data[0] & 2) s.serverDrain = api::Drain{.sinceUnix = 1};
        s.server = (data[0] & 1) ? api::Readiness::readyNow() : api::serverReadiness(s);
        s.agentCheckWeight = static_cast<int>(data[1]) - 1;  // -1 .. 254; the config allows 0..100
        if (s.agentCheckWeight > 100) s.agentCheckWeight = -1;
        const std::string r = api::agentCheckReply(s);
        const bool known = r == "up drain\n" || r == "down\n" || r == "up ready\n" ||
                           r == "up ready " + std::to_string(s.agentCheckWeight) + "%\n";
        if (!known) __builtin_trap();
    }
    return 0;
}
