#pragma once
// The local control socket (STATE_DIR/control.sock, mode 0600) through which
// `lvs-rs-agent drain` and `undrain` talk to the running daemon. One line in, one out.
#include <expected>
#include <filesystem>
#include <string>
#include <thread>

#include "api/snapshot.h"

namespace api {

class ControlServer {
public:
    explicit ControlServer(DrainControl& control) : control_(control) {}
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    std::expected<void, std::string> start(const std::filesystem::path& socketPath);
    void stop();

private:
    void serve();
    DrainControl& control_;
    std::filesystem::path path_;
    int listenFd_ = -1;
    int stopPipe_[2] = {-1, -1};
    std::thread thread_;
};

// The reply to one command line (without its newline), applying it to control: one line
// starting "ok " or "error ", ending in a newline.
std::string controlReply(const std::string& line, DrainControl& control);

// Sends one command ("drain", "undrain") and returns the daemon's reply line.
std::expected<std::string, std::string> controlRequest(const std::filesystem::path& socketPath, const std::string& command);

}  // namespace api
