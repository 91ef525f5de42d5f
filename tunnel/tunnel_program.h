#pragma once
// The tunnel decapsulation program (tunnel.bpf.c, compiled by clang's BPF target at build
// time and embedded): loaded with libbpf, or adopted from the filters a previous run
// attached (found by their program ids), configured through its maps only. Attaching it
// to an interface (clsact) is the TunnelDriver's; this holds descriptors of the two
// programs and their maps, which keep them alive while held.
#include <array>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/base/unique_fd.h"
#include "netcfg/ip_address.h"

struct bpf_prog_info;

namespace tunnel {

using netcfg::IpAddress;

struct TunnelCounters {
    std::uint64_t ipipPackets = 0, ipipBytes = 0, guePackets = 0, gueBytes = 0;
    std::uint64_t mssClamped = 0;  // SYN-ACKs whose MSS lvs_mss lowered
};

// Why tunnel traffic was dropped, in the program's order (tunnel_maps.h).
enum class TunnelDrop { NotDirector, NotVip, Malformed, Fragment, Family, Decap, GueHeader };
inline constexpr int kTunnelDropReasons = 7;
const char* name(TunnelDrop d);  // "not_director", ...

struct TunnelSettings {
    bool ipip = false;
    bool gue = false;
    std::uint16_t guePort = 0;  // host order
    std::uint16_t mss = 0;      // the largest MSS a VIP's SYN-ACK may advertise; 0: no clamping
    bool operator==(const TunnelSettings&) const = default;
};

// The program names the kernel reports (bpf_prog_info.name): how the agent's filters are told.
inline constexpr const char* kDecapProgramName = "lvs_decap";
inline constexpr const char* kMssProgramName = "lvs_mss";

class TunnelProgram {
public:
    // Loads the embedded object into the kernel; the error says what the kernel refused
    // (no BPF, no permission, the verifier) in one line.
    static std::expected<TunnelProgram, std::string> load();
    // Takes up the programs a filter runs (ids from tc), and their maps; refused when they
    // are not this build's (other names, or maps of another layout).
    static std::expected<TunnelProgram, std::string> adopt(std::uint32_t decapId, std::uint32_t mssId);
    // Takes up the program from descriptors a previous process kept (systemd's store), by
    // the names descriptors() gives them; refused as adopt() refuses. Needs no privilege:
    // opening a program by id takes CAP_SYS_ADMIN, holding a descriptor does not.
    static std::expected<TunnelProgram, std::string> fromDescriptors(std::map<std::string, agent::UniqueFd> fds);
    // Both programs' and every map's descriptor, named ("lvs_decap", "lvs_mss", "lvs_vips", ...).
    std::vector<std::pair<std::string, int>> descriptors() const;
    // The name of the program with this id ("" when there is none); nullopt when the kernel
    // does not say: opening a program by id takes CAP_SYS_ADMIN, which the unit does not
    // grant (CAP_BPF and CAP_NET_ADMIN load and attach).
    static std::optional<std::string> programName(std::uint32_t id);

    int programFd() const { return decap_.get(); }  // lvs_decap: clsact ingress
    int mssProgramFd() const { return mss_.get(); }  // lvs_mss: clsact egress
    std::uint32_t programId() const { return decapId_; }
    std::uint32_t mssProgramId() const { return mssId_; }
    // The kernel's tags (a hash of the instructions) of both programs: equal for two loads
    // of the same code, so an adopted program can be told from an older build's.
    bool sameCode(const TunnelProgram& other) const { return tags_ == other.tags_; }

    std::expected<void, std::string> configure(const TunnelSettings& s);
    TunnelSettings settings() const;
    // The VIPs in the program with their counter slots, and the directors.
    std::map<IpAddress, std::uint32_t> vips() const;
    std::set<IpAddress> directors() const;
    // Zeroes a counter slot (a VIP given a slot another VIP used before).
    void clearCounters(std::uint32_t index);
    std::expected<void, std::string> addVip(const IpAddress& vip, std::uint32_t index);
    std::expected<void, std::string> removeVip(const IpAddress& vip);
    std::expected<void, std::string> addDirector(const IpAddress& director);
    std::expected<void, std::string> removeDirector(const IpAddress& director);
    // Summed over the CPUs.
    TunnelCounters vipCounters(std::uint32_t index) const;
    std::uint64_t drops(TunnelDrop reason) const;
    // How many times any counter moved (one read, for a tick to tell whether to read them).
    std::uint64_t activity() const;

private:
    TunnelProgram() = default;
    int mapFd(const char* name) const;
    void setTags(const bpf_prog_info& decap, const bpf_prog_info& mss);
    agent::UniqueFd decap_, mss_;
    std::uint32_t decapId_ = 0, mssId_ = 0;
    std::array<unsigned char, 16> tags_{};  // BPF_TAG_SIZE each: lvs_decap's, then lvs_mss's
    std::map<std::string, agent::UniqueFd> maps_;  // by name
};

}  // namespace tunnel
