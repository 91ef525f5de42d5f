#pragma once
// Reads and writes net/ipv4/conf/<iface>/<key> under an injectable root (/proc/sys by
// default, a temporary folder in unit tests). Paths are built with '/', since interface
// names may contain dots.
#include <compare>
#include <expected>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/base/unique_fd.h"

namespace sysctl {

struct ConfKey {
    std::string iface;  // "all", "default", "lo", "eth0", ...
    std::string name;   // "arp_ignore", "arp_announce"
    auto operator<=>(const ConfKey&) const = default;
};

// "net.ipv4.conf.lo.arp_ignore", as sysctl(8) and operators write it.
std::string dotted(const ConfKey& key);

// The kernel's dev_valid_name(): 1-15 bytes, not "." or "..", no '/', ':' or space.
bool isValidInterfaceName(std::string_view name);

struct SysctlError {
    int err = 0;  // errno
    std::string message;
};

class SysctlTree {
public:
    explicit SysctlTree(std::filesystem::path root = "/proc/sys");

    std::filesystem::path pathOf(const ConfKey& key) const;
    std::expected<int, SysctlError> read(const ConfKey& key) const;
    std::expected<void, SysctlError> write(const ConfKey& key, int value) const;
    // Interface folders under net/ipv4/conf, "all" and "default" included.
    std::vector<std::string> interfaces() const;

private:
    std::filesystem::path root_;
};

// Reads the same keys again and again (the daemon's check every check_interval_ms) from
// files it keeps open: one pread per key instead of open, read and close. A key whose
// read fails is closed and opened afresh on the next read (an interface that went away
// and came back).
class SysctlReader {
public:
    explicit SysctlReader(const SysctlTree& tree) : tree_(&tree) {}
    SysctlReader(const SysctlReader&) = delete;
    SysctlReader& operator=(const SysctlReader&) = delete;
    SysctlReader(SysctlReader&&) noexcept = default;

    std::expected<int, SysctlError> read(const ConfKey& key);
    // Closes the files of keys not in `keep`.
    void keepOnly(const std::vector<ConfKey>& keep);

private:
    const SysctlTree* tree_;
    std::map<ConfKey, agent::UniqueFd> fds_;
};

// The kernel applies max(conf/all, conf/<iface>) for arp_ignore, arp_announce and rp_filter.
inline int effective(int all, int iface) { return all > iface ? all : iface; }

}  // namespace sysctl
