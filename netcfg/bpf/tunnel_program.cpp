#include "netcfg/bpf/tunnel_program.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netcfg/bpf/tunnel_maps.h"
#include "netcfg/bpf/tunnel_bpf_object.h"  // generated: kTunnelBpf, the compiled tunnel.bpf.c

namespace netcfg {
namespace {

std::string sysError(const std::string& doing, int err) { return doing + ": " + std::strerror(err < 0 ? -err : err); }

lvs_addr keyOf(const IpAddress& ip) {
    lvs_addr k{};
    k.family = ip.isV4() ? LVS_FAMILY_V4 : LVS_FAMILY_V6;
    std::memcpy(k.addr, ip.bytes.data(), ip.size());
    return k;
}

int cpus() {
    const int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

}  // namespace

const char* name(TunnelDrop d) {
    switch (d) {
        case TunnelDrop::NotDirector: return "not_director";
        case TunnelDrop::NotVip: return "not_vip";
        case TunnelDrop::Malformed: return "malformed";
        case TunnelDrop::Fragment: return "fragment";
        case TunnelDrop::Family: return "family";
        case TunnelDrop::Decap: return "decap";
    }
    return "?";
}

void TunnelProgram::Closer::operator()(bpf_object* o) const noexcept { bpf_object__close(o); }

TunnelProgram::TunnelProgram(std::unique_ptr<bpf_object, Closer> obj) : obj_(std::move(obj)) {}
TunnelProgram::TunnelProgram(TunnelProgram&&) noexcept = default;
TunnelProgram& TunnelProgram::operator=(TunnelProgram&&) noexcept = default;
TunnelProgram::~TunnelProgram() = default;

std::expected<TunnelProgram, std::string> TunnelProgram::load() {
    // libbpf prints to stderr by default; its verdict comes back as the error instead.
    libbpf_set_print(nullptr);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "lvs_tunnel");
    bpf_object* raw = bpf_object__open_mem(kTunnelBpf, kTunnelBpfSize, &opts);
    if (!raw) return std::unexpected(sysError("opening the tunnel program", errno));
    std::unique_ptr<bpf_object, Closer> obj(raw);
    if (int err = bpf_object__load(raw); err < 0)
        return std::unexpected(sysError("loading the tunnel program into the kernel (BPF, CAP_BPF and CAP_NET_ADMIN needed)", err));
    return TunnelProgram(std::move(obj));
}

int TunnelProgram::programFd() const {
    bpf_program* p = bpf_object__find_program_by_name(obj_.get(), "lvs_decap");
    return p ? bpf_program__fd(p) : -1;
}

int TunnelProgram::mssProgramFd() const {
    bpf_program* p = bpf_object__find_program_by_name(obj_.get(), "lvs_mss");
    return p ? bpf_program__fd(p) : -1;
}

int TunnelProgram::mapFd(const char* name) const { return bpf_object__find_map_fd_by_name(obj_.get(), name); }

std::expected<void, std::string> TunnelProgram::configure(const TunnelSettings& s) {
    lvs_config c{};
    c.encap = (s.ipip ? LVS_ENCAP_IPIP : 0u) | (s.gue ? LVS_ENCAP_GUE : 0u);
    c.gue_port = htons(s.guePort);
    c.mss = s.mss;
    const __u32 zero = 0;
    if (int err = bpf_map_update_elem(mapFd("lvs_config"), &zero, &c, BPF_ANY); err < 0)
        return std::unexpected(sysError("setting the tunnel program's configuration", err));
    return {};
}

std::expected<void, std::string> TunnelProgram::addVip(const IpAddress& vip, std::uint32_t index) {
    if (index >= LVS_MAX_VIPS) return std::unexpected("VIP index " + std::to_string(index) + " past " + std::to_string(LVS_MAX_VIPS));
    const lvs_addr k = keyOf(vip);
    if (int err = bpf_map_update_elem(mapFd("lvs_vips"), &k, &index, BPF_ANY); err < 0)
        return std::unexpected(sysError("adding VIP " + vip.str() + " to the tunnel program", err));
    return {};
}

std::expected<void, std::string> TunnelProgram::removeVip(const IpAddress& vip) {
    const lvs_addr k = keyOf(vip);
    if (int err = bpf_map_delete_elem(mapFd("lvs_vips"), &k); err < 0 && errno != ENOENT)
        return std::unexpected(sysError("removing VIP " + vip.str() + " from the tunnel program", err));
    return {};
}

std::expected<void, std::string> TunnelProgram::addDirector(const IpAddress& director) {
    const lvs_addr k = keyOf(director);
    const __u32 one = 1;
    if (int err = bpf_map_update_elem(mapFd("lvs_directors"), &k, &one, BPF_ANY); err < 0)
        return std::unexpected(sysError("adding director " + director.str() + " to the tunnel program", err));
    return {};
}

std::expected<void, std::string> TunnelProgram::removeDirector(const IpAddress& director) {
    const lvs_addr k = keyOf(director);
    if (int err = bpf_map_delete_elem(mapFd("lvs_directors"), &k); err < 0 && errno != ENOENT)
        return std::unexpected(sysError("removing director " + director.str() + " from the tunnel program", err));
    return {};
}

TunnelCounters TunnelProgram::vipCounters(std::uint32_t index) const {
    std::vector<lvs_vip_stats> per(static_cast<std::size_t>(cpus()));
    TunnelCounters sum;
    if (bpf_map_lookup_elem(mapFd("lvs_vip_stats"), &index, per.data()) < 0) return sum;
    for (const auto& s : per) {
        sum.ipipPackets += s.ipip_packets;
        sum.ipipBytes += s.ipip_bytes;
        sum.guePackets += s.gue_packets;
        sum.gueBytes += s.gue_bytes;
        sum.mssClamped += s.mss_clamped;
    }
    return sum;
}

std::uint64_t TunnelProgram::drops(TunnelDrop reason) const {
    std::vector<std::uint64_t> per(static_cast<std::size_t>(cpus()));
    const auto key = static_cast<std::uint32_t>(reason);
    if (bpf_map_lookup_elem(mapFd("lvs_drops"), &key, per.data()) < 0) return 0;
    std::uint64_t sum = 0;
    for (auto v : per) sum += v;
    return sum;
}

}  // namespace netcfg
