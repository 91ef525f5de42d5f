#include "agent/reconcile/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

namespace agent {

std::expected<DirLock, std::string> DirLock::acquire(const std::filesystem::path& dir,
                                                     std::chrono::milliseconds wait,
                                                     void (*onWait)(const std::string&)) {
    const auto file = dir / "lock";
    UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return std::unexpected("opening " + file.string() + ": " + std::strerror(errno));
    const auto deadline = std::chrono::steady_clock::now() + wait;
    bool told = false;
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return std::unexpected("locking " + file.string() + ": " + std::strerror(errno));
        if (std::chrono::steady_clock::now() >= deadline)
            return std::unexpected("another lvs-rs-agent holds " + file.string() + " (a running daemon or a start/stop in progress)");
        if (!told && onWait) onWait("waiting for another lvs-rs-agent holding " + file.string());
        told = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return DirLock(std::move(fd));
}

}  // namespace agent
