#include "sysctl/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace sysctl {
namespace {

SysctlError fail(int err, const std::string& doing) {
    return SysctlError{.err = err, .message = doing + ": " + std::strerror(err)};
}

}  // namespace

std::string dotted(const ConfKey& key) { return "net.ipv4.conf." + key.iface + "." + key.name; }

bool isValidInterfaceName(std::string_view name) {
    if (name.empty() || name.size() >= 16 || name == "." || name == "..") return false;
    for (unsigned char c : name)
        if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
    return true;
}

SysctlTree::SysctlTree(std::filesystem::path root) : root_(std::move(root)) {}

std::filesystem::path SysctlTree::pathOf(const ConfKey& key) const {
    return root_ / "net" / "ipv4" / "conf" / key.iface / key.name;
}

namespace {

// The message is made only for a bad value: an idle agent reads these every second.
std::expected<int, SysctlError> parseValue(const char* buf, const ConfKey& key) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(buf, &end, 10);
    if (end == buf || errno != 0 || (*end != '\n' && *end != '\0'))
        return std::unexpected(SysctlError{.err = EINVAL, .message = "reading " + dotted(key) + ": not a number"});
    return static_cast<int>(v);
}

}  // namespace

std::expected<int, SysctlError> SysctlTree::read(const ConfKey& key) const {
    const std::string what = "reading " + dotted(key);
    if (!isValidInterfaceName(key.iface)) return std::unexpected(fail(EINVAL, what));
    const agent::UniqueFd fd(::open(pathOf(key).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::unexpected(fail(errno, what));
    char buf[32] = {};  // a /proc/sys value: bounded by the buffer, whatever the file says
    const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n < 0) return std::unexpected(fail(errno, what));
    return parseValue(buf, key);
}

std::expected<int, SysctlError> SysctlReader::read(const ConfKey& key) {
    if (auto it = fds_.find(key); it != fds_.end()) {
        char buf[32] = {};
        const ssize_t n = ::pread(it->second.get(), buf, sizeof buf - 1, 0);
        if (n > 0) {
            if (auto v = parseValue(buf, key)) return v;
        }
        fds_.erase(it);  // gone or changed: open it afresh below
    }
    auto v = tree_->read(key);  // the error, if any, as a fresh open tells it
    if (!v || !isValidInterfaceName(key.iface)) return v;
    if (agent::UniqueFd fd(::open(tree_->pathOf(key).c_str(), O_RDONLY | O_CLOEXEC)); fd) fds_[key] = std::move(fd);
    return v;
}

void SysctlReader::keepOnly(const std::vector<ConfKey>& keep) {
    for (auto it = fds_.begin(); it != fds_.end();) {
        if (std::find(keep.begin(), keep.end(), it->first) != keep.end()) {
            ++it;
        } else {
            it = fds_.erase(it);
        }
    }
}

std::expected<void, SysctlError> SysctlTree::write(const ConfKey& key, int value) const {
    const std::string what = "writing " + dotted(key);
    if (!isValidInterfaceName(key.iface)) return std::unexpected(fail(EINVAL, what));
    // No O_CREAT: a missing interface must fail, not leave a stray file.
    agent::UniqueFd fd(::open(pathOf(key).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return std::unexpected(fail(errno, what));
    const std::string text = std::to_string(value) + "\n";
    const ssize_t n = ::write(fd.get(), text.data(), text.size());
    const int writeErr = errno;
    if (fd.reset() != 0 && n >= 0) return std::unexpected(fail(errno, what));  // procfs reports some errors at close
    if (n < 0) return std::unexpected(fail(writeErr, what));
    if (static_cast<size_t>(n) != text.size()) return std::unexpected(fail(EIO, what));
    return {};
}

std::vector<std::string> SysctlTree::interfaces() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root_ / "net" / "ipv4" / "conf", ec))
        names.push_back(e.path().filename().string());
    return names;
}

}  // namespace sysctl
