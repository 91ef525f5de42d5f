// libFuzzer harness for the two line protocols: each input line as a control-socket
// command (its reply, once done, is one line, "ok ..." or "error ..."), and the input's bits as the
// state the HAProxy agent-check responder reports (one of its documented replies).
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/agent_check.h"
#include "api/control_socket.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string in(reinterpret_cast<const char*>(data), size);
    std::size_t pos = 0;
    while (pos <= in.size()) {
        const auto nl = in.find('\n', pos);
        const std::string line = in.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? in.size() + 1 : nl + 1;
        const auto cmd = api::parseControlCommand(line);
        const std::string reply = !cmd                                     ? cmd.error()
                                  : *cmd == api::ControlCommand::Reload ? api::reloadDone(size % 2 == 0, line)
                                                                        : api::controlDone(*cmd == api::ControlCommand::Drain, size % 2 == 0);
        if (reply.empty() || reply.back() != '\n' || reply.find('\n') != reply.size() - 1) __builtin_trap();
        const bool ok = reply.rfind("ok ", 0) == 0;
        if (!ok && reply.rfind("error ", 0) != 0) __builtin_trap();
        // a reload's reply is "ok" or "error" as the loop reports (here: by the input's size)
        const bool expectOk = line == "drain" || line == "undrain" || (line == "reload" && size % 2 == 0);
        if (ok != expectOk) __builtin_trap();
    }
    if (size >= 2) {
        api::Snapshot s;
        s.ready = data[0] & 1;
        s.draining = data[0] & 2;
        s.agentCheckWeight = static_cast<int>(data[1]) - 1;  // -1 .. 254; the config allows 0..100
        if (s.agentCheckWeight > 100) s.agentCheckWeight = -1;
        const std::string r = api::agentCheckReply(s);
        const bool known = r == "up drain\n" || r == "down\n" || r == "up ready\n" ||
                           r == "up ready " + std::to_string(s.agentCheckWeight) + "%\n";
        if (!known) __builtin_trap();
    }
    return 0;
}
