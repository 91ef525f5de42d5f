#pragma once
// An exclusive flock on STATE_DIR/lock, so two copies of start, stop or run never plan
// and apply at the same time. Released when the owner goes away, even after kill -9.
#include <chrono>
#include <expected>
#include <filesystem>
#include <string>
#include <utility>

#include "agent/base/unique_fd.h"

namespace agent {

class DirLock {
public:
    // Waits up to `wait` for another holder to finish; on_wait is called once if it must.
    static std::expected<DirLock, std::string> acquire(const std::filesystem::path& dir,
                                                       std::chrono::milliseconds wait,
                                                       void (*onWait)(const std::string&) = nullptr);
    DirLock(DirLock&&) noexcept = default;
    DirLock& operator=(DirLock&&) = delete;
    DirLock(const DirLock&) = delete;

private:
    explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;  // the flock goes with it
};

}  // namespace agent
