#pragma once
// What the agent owns: the addresses and routes it added and the sysctl values it found
// before it first changed them. Kept in STATE_DIR/state.json, replaced atomically
// (temp file, fsync, rename, fsync of the folder) before the kernel is changed, so a
// crash or kill -9 at any point leaves a file that a later `stop` can undo from.
#include <expected>
#include <filesystem>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "netcfg/ip_address.h"
#include "netcfg/netlink.h"
#include "sysctl/sysctl.h"

namespace agent {

// A VIP's route in the announce table: where it is, to withdraw it from there.
struct AnnounceRecord {
    std::uint32_t table = 0;
    std::uint32_t metric = 0;
    int len = -1;  // a range's prefix length; -1: the host prefix
    bool operator==(const AnnounceRecord&) const = default;
    // The route's prefix length for vip.
    int length(const netcfg::IpAddress& vip) const { return len < 0 ? vip.hostPrefix() : len; }
};

// A range's local route in table local: its network address and length.
using LocalRoute = std::pair<netcfg::IpAddress, int>;

struct Owned {
    std::set<netcfg::IpAddress> addresses;  // host addresses on lo
    std::set<netcfg::IpAddress> routes;     // host routes via lo in table main
    std::map<sysctl::ConfKey, int> sysctlOriginals;
    std::map<netcfg::IpAddress, AnnounceRecord> announced;  // host routes via lo in the announce table
    std::set<LocalRoute> localRoutes;  // ranges' local routes via lo in table local
    // The interfaces whose clsact hooks hold the agent's tunnel filters, and whether the
    // agent created the clsact qdisc there (then it goes too, once nothing else is on it).
    std::map<std::string, bool> tunnelHooks;
    // NAT reply paths: the policy rules and the default routes (in the NAT table) it added.
    std::set<netcfg::Rule> natRules;
    std::set<netcfg::GatewayRoute> natRoutes;
    // Two-box clusters: the agent's nftables table (inet lvs_rs_agent) is its own.
    bool markTable = false;

    bool empty() const {
        return addresses.empty() && routes.empty() && sysctlOriginals.empty() && announced.empty() && localRoutes.empty() &&
               tunnelHooks.empty() && natRules.empty() && natRoutes.empty() && !markTable;
    }
    bool operator==(const Owned&) const = default;
};

// Everything either side owns: what a crash part-way may have left in the kernel.
Owned unite(const Owned& a, const Owned& b);

class StateFile {
public:
    explicit StateFile(std::filesystem::path dir);

    std::filesystem::path path() const { return dir_ / "state.json"; }
    const std::filesystem::path& dir() const { return dir_; }

    // A missing file is an empty state. A leftover temp file (a write torn by a crash)
    // is ignored: the rename never happened, so state.json is the last complete state.
    std::expected<Owned, std::string> load() const;
    // Removes the temp file of a write torn by a crash (true if there was one). The state
    // file is written before the kernel is changed, so what the temp file lists was never
    // applied. Call it holding the state-dir lock.
    std::expected<bool, std::string> discardTornWrite() const;
    // Writes atomically; an empty state removes the file.
    std::expected<void, std::string> save(const Owned& owned) const;

private:
    std::filesystem::path dir_;
};

// Creates the state folder (mode 0700) if missing.
std::expected<void, std::string> ensureStateDir(const std::filesystem::path& dir);

}  // namespace agent
