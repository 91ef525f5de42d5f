#pragma once
// The tunnel decapsulation program (tunnel.bpf.c, compiled by clang's BPF target at build
// time and embedded): loaded with libbpf, configured through its maps only. Attaching it
// to an interface (clsact ingress) is the caller's; this owns the loaded object.
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "netcfg/ip_address.h"

struct bpf_object;

namespace netcfg {

struct TunnelCounters {
    std::uint64_t ipipPackets = 0, ipipBytes = 0, guePackets = 0, gueBytes = 0;
    std::uint64_t mssClamped = 0;  // SYN-ACKs whose MSS lvs_mss lowered
};

// Why tunnel traffic was dropped, in the program's order (tunnel_maps.h).
enum class TunnelDrop { NotDirector, NotVip, Malformed, Fragment, Family, Decap };
inline constexpr int kTunnelDropReasons = 6;
const char* name(TunnelDrop d);  // "not_director", ...

struct TunnelSettings {
    bool ipip = false;
    bool gue = false;
    std::uint16_t guePort = 0;  // host order
    std::uint16_t mss = 0;      // the largest MSS a VIP's SYN-ACK may advertise; 0: no clamping
};

class TunnelProgram {
public:
    // Loads the embedded object into the kernel; the error says what the kernel refused
    // (no BPF, no permission, the verifier) in one line.
    static std::expected<TunnelProgram, std::string> load();
    TunnelProgram(TunnelProgram&&) noexcept;
    TunnelProgram& operator=(TunnelProgram&&) noexcept;
    ~TunnelProgram();

    int programFd() const;     // lvs_decap: clsact ingress
    int mssProgramFd() const;  // lvs_mss: clsact egress
    std::expected<void, std::string> configure(const TunnelSettings& s);
    std::expected<void, std::string> addVip(const IpAddress& vip, std::uint32_t index);
    std::expected<void, std::string> removeVip(const IpAddress& vip);
    std::expected<void, std::string> addDirector(const IpAddress& director);
    std::expected<void, std::string> removeDirector(const IpAddress& director);
    // Summed over the CPUs.
    TunnelCounters vipCounters(std::uint32_t index) const;
    std::uint64_t drops(TunnelDrop reason) const;

private:
    struct Closer {
        void operator()(bpf_object* o) const noexcept;
    };
    explicit TunnelProgram(std::unique_ptr<bpf_object, Closer> obj);
    int mapFd(const char* name) const;
    std::unique_ptr<bpf_object, Closer> obj_;
};

}  // namespace netcfg
