#include "agent/base/text_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/base/unique_fd.h"

namespace agent {
namespace {

const char* kindOf(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

std::string sizeText(std::size_t bytes) {
    if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
    if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
    return std::to_string(bytes) + " bytes";
}

std::string quoteInput(std::string_view text, bool withQuotes) {
    constexpr std::size_t kShown = 64;
    std::string out = withQuotes ? "\"" : "";
    for (std::size_t i = 0; i < text.size() && i < kShown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (text.size() > kShown) out += "...";
    if (withQuotes) out += '"';
    if (text.size() > kShown) out += " (" + std::to_string(text.size()) + " bytes)";
    return out;
}

std::optional<int> boundedNumber(std::string_view digits, int cap) {
    if (digits.empty()) return std::nullopt;
    long long v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = std::min<long long>(cap, v * 10 + (c - '0'));
    }
    return static_cast<int>(v);
}

namespace {

std::string sysError(const std::string& doing) { return doing + ": " + std::strerror(errno); }

}  // namespace

bool syncPath(const std::string& path, bool directory) {
    const UniqueFd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
    return fd && ::fsync(fd.get()) == 0;
}

std::expected<void, std::string> writeAtomically(const std::string& path, const std::string& text, unsigned mode, bool noClobber) {
    const std::string tmp = path + ".tmp";
    std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    if (dir.empty()) dir = path.rfind('/', 0) == 0 ? "/" : ".";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) return std::unexpected(sysError("writing " + tmp));
    const ssize_t n = ::write(fd.get(), text.data(), text.size());
    const bool synced = n == static_cast<ssize_t>(text.size()) && ::fsync(fd.get()) == 0;
    const int err = errno;
    fd.reset();
    if (!synced) {
        ::unlink(tmp.c_str());
        errno = n >= 0 && n != static_cast<ssize_t>(text.size()) ? EIO : err;
        return std::unexpected(sysError("writing " + tmp));
    }
    if (noClobber) {
        const int rc = ::link(tmp.c_str(), path.c_str());
        const int linkErr = errno;
        ::unlink(tmp.c_str());
        if (rc != 0) {
            errno = linkErr;
            return std::unexpected(linkErr == EEXIST ? path + " exists; not overwritten (remove it or name another file)"
                                                     : sysError("writing " + path));
        }
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int renameErr = errno;
        ::unlink(tmp.c_str());
        errno = renameErr;
        return std::unexpected(sysError("replacing " + path));
    }
    if (!syncPath(dir, true)) return std::unexpected(sysError("syncing " + dir));
    return {};
}

std::optional<std::size_t> firstNul(std::string_view text) {
    const auto p = text.find('\0');
    if (p == std::string_view::npos) return std::nullopt;
    return p;
}

std::expected<std::string, ReadError> readLimited(const std::string& path, const ReadLimits& limits) {
    auto sysFail = [](int err) { return std::unexpected(ReadError{.err = err, .message = std::strerror(err)}); };
    auto refuse = [](std::string why) { return std::unexpected(ReadError{.err = 0, .message = std::move(why)}); };
    // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: never adopt a terminal.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (fd.get() < 0) return sysFail(errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return sysFail(errno);
    const bool pipe = S_ISFIFO(st.st_mode);
    if (!S_ISREG(st.st_mode) && !(pipe && limits.allowPipe))
        return refuse(std::string("is ") + kindOf(st.st_mode) + ", not a regular file");
    if (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > limits.maxBytes)
        return refuse("larger than " + sizeText(limits.maxBytes));

    const auto deadline = std::chrono::steady_clock::now() + limits.deadline;
    std::string out;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            // The size is checked on what was read, not on st_size (which /proc files,
            // pipes and growing files do not tell truthfully).
            if (out.size() > limits.maxBytes) return refuse("larger than " + sizeText(limits.maxBytes));
        } else if (n == 0) {
            return out;
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN) {
            return sysFail(errno);
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return refuse("not read completely within " + std::to_string(limits.deadline.count()) +
                          " ms (a pipe whose writer never finishes?)");
        if (n < 0) {
            pollfd p{.fd = fd.get(), .events = POLLIN, .revents = 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
        }
    }
}

}  // namespace agent
