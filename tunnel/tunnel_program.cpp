#include "tunnel/tunnel_program.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include <cerrno>
#include <cstring>

#include "tunnel/tunnel_maps.h"
#include "tunnel/tunnel_bpf_object.h"  // generated: kTunnelBpf, the compiled tunnel.bpf.c

namespace tunnel {
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
        case TunnelDrop::GueHeader: return "gue_header";
    }
    return "?";
}

namespace {

constexpr const char* kMapNames[] = {"lvs_vips", "lvs_directors", "lvs_config", "lvs_vip_stats", "lvs_drops", "lvs_activity"};

// The key and value sizes this build's maps have: an adopted program must match them.
std::pair<std::uint32_t, std::uint32_t> layoutOf(const std::string& map) {
    if (map == "lvs_vips") return {sizeof(lvs_addr), sizeof(__u32)};
    if (map == "lvs_directors") return {sizeof(lvs_addr), sizeof(__u32)};
    if (map == "lvs_config") return {sizeof(__u32), sizeof(lvs_config)};
    if (map == "lvs_vip_stats") return {sizeof(__u32), sizeof(lvs_vip_stats)};
    return {sizeof(__u32), sizeof(__u64)};  // lvs_drops, lvs_activity
}

std::expected<bpf_prog_info, int> progInfo(int fd, std::vector<__u32>* mapIds = nullptr) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) return std::unexpected(errno);
    if (mapIds) {
        const __u32 n = info.nr_map_ids;
        mapIds->assign(n, 0);
        info = bpf_prog_info{};
        info.nr_map_ids = n;
        info.map_ids = reinterpret_cast<__u64>(mapIds->data());
        len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) return std::unexpected(errno);
        mapIds->resize(std::min(n, info.nr_map_ids));
    }
    return info;
}

IpAddress addressOf(const lvs_addr& k) {
    IpAddress ip;
    ip.family = k.family == LVS_FAMILY_V6 ? AF_INET6 : AF_INET;
    std::memcpy(ip.bytes.data(), k.addr, ip.size());
    return ip;
}

}  // namespace

std::expected<TunnelProgram, std::string> TunnelProgram::load() {
    // libbpf prints to stderr by default; its verdict comes back as the error instead.
    libbpf_set_print(nullptr);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "lvs_tunnel");
    bpf_object* raw = bpf_object__open_mem(kTunnelBpf, kTunnelBpfSize, &opts);
    if (!raw) return std::unexpected(sysError("opening the tunnel program", errno));
    struct Close {
        void operator()(bpf_object* o) const noexcept { bpf_object__close(o); }
    };
    std::unique_ptr<bpf_object, Close> obj(raw);
    if (int err = bpf_object__load(raw); err < 0)
        return std::unexpected(sysError("loading the tunnel program into the kernel (BPF, CAP_BPF and CAP_NET_ADMIN needed)", err));
    // The object's descriptors go with it: hold duplicates, which keep the programs and
    // maps alive, taken up as any kept descriptors are.
    auto dupOf = [](int fd) { return agent::UniqueFd(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1); };
    std::map<std::string, agent::UniqueFd> fds;
    for (const char* name : {kDecapProgramName, kMssProgramName})
        if (bpf_program* prog = bpf_object__find_program_by_name(raw, name)) fds[name] = dupOf(bpf_program__fd(prog));
    for (const char* m : kMapNames) fds[m] = dupOf(bpf_object__find_map_fd_by_name(raw, m));
    auto p = fromDescriptors(std::move(fds));
    if (!p) return std::unexpected("the embedded tunnel object: " + p.error());
    return p;
}

void TunnelProgram::setTags(const bpf_prog_info& decap, const bpf_prog_info& mss) {
    static_assert(sizeof decap.tag * 2 == sizeof tags_);
    std::memcpy(tags_.data(), decap.tag, sizeof decap.tag);
    std::memcpy(tags_.data() + sizeof decap.tag, mss.tag, sizeof mss.tag);
}

std::optional<std::string> TunnelProgram::programName(std::uint32_t id) {
    agent::UniqueFd fd(bpf_prog_get_fd_by_id(id));
    if (!fd) return errno == EPERM || errno == EACCES ? std::nullopt : std::optional<std::string>("");
    auto info = progInfo(fd.get());
    return info ? std::string(info->name) : "";
}

std::expected<TunnelProgram, std::string> TunnelProgram::adopt(std::uint32_t decapId, std::uint32_t mssId) {
    std::map<std::string, agent::UniqueFd> fds;
    fds[kDecapProgramName] = agent::UniqueFd(bpf_prog_get_fd_by_id(decapId));
    fds[kMssProgramName] = agent::UniqueFd(bpf_prog_get_fd_by_id(mssId));
    if (!fds[kDecapProgramName] || !fds[kMssProgramName]) return std::unexpected(sysError("opening the attached tunnel programs", errno));
    std::vector<__u32> ids;
    if (auto d = progInfo(fds[kDecapProgramName].get(), &ids); !d)
        return std::unexpected(sysError("reading the attached tunnel programs", d.error()));
    for (__u32 id : ids) {
        agent::UniqueFd fd(bpf_map_get_fd_by_id(id));
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0) fds[info.name] = std::move(fd);
    }
    return fromDescriptors(std::move(fds));
}

std::expected<TunnelProgram, std::string> TunnelProgram::fromDescriptors(std::map<std::string, agent::UniqueFd> fds) {
    TunnelProgram p;
    p.decap_ = std::move(fds[kDecapProgramName]);
    p.mss_ = std::move(fds[kMssProgramName]);
    if (!p.decap_ || !p.mss_) return std::unexpected("the tunnel programs' descriptors are missing");
    auto d = progInfo(p.decap_.get());
    auto s = progInfo(p.mss_.get());
    if (!d || !s) return std::unexpected(sysError("reading the tunnel programs", d ? s.error() : d.error()));
    if (std::string(d->name) != kDecapProgramName || std::string(s->name) != kMssProgramName)
        return std::unexpected("the programs are not the agent's (" + std::string(d->name) + ", " + s->name + ")");
    for (const char* m : kMapNames) {
        auto it = fds.find(m);
        if (it == fds.end() || !it->second) return std::unexpected(std::string("the program has no map ") + m);
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(it->second.get(), &info, &len) < 0 || std::string(info.name) != m)
            return std::unexpected(std::string("the descriptor given for map ") + m + " is not that map");
        if (layoutOf(m) != std::pair<std::uint32_t, std::uint32_t>{info.key_size, info.value_size})
            return std::unexpected(std::string("the program's map ") + m + " has another layout (an older build)");
        p.maps_[m] = std::move(it->second);
    }
    p.decapId_ = d->id;
    p.mssId_ = s->id;
    p.setTags(*d, *s);
    return p;
}

std::vector<std::pair<std::string, int>> TunnelProgram::descriptors() const {
    std::vector<std::pair<std::string, int>> out{{kDecapProgramName, decap_.get()}, {kMssProgramName, mss_.get()}};
    for (const auto& [name, fd] : maps_) out.emplace_back(name, fd.get());
    return out;
}

int TunnelProgram::mapFd(const char* name) const {
    const auto it = maps_.find(name);
    return it == maps_.end() ? -1 : it->second.get();
}

TunnelSettings TunnelProgram::settings() const {
    lvs_config c{};
    const __u32 zero = 0;
    TunnelSettings s;
    if (bpf_map_lookup_elem(mapFd("lvs_config"), &zero, &c) < 0) return s;
    s.ipip = (c.encap & LVS_ENCAP_IPIP) != 0;
    s.gue = (c.encap & LVS_ENCAP_GUE) != 0;
    s.guePort = ntohs(c.gue_port);
    s.mss = c.mss;
    return s;
}

namespace {
// Every address key of a hash map (lvs_vips, lvs_directors), with its __u32 value.
std::map<IpAddress, std::uint32_t> addressEntries(int fd) {
    std::map<IpAddress, std::uint32_t> out;
    lvs_addr key{}, next{};
    const lvs_addr* at = nullptr;
    while (bpf_map_get_next_key(fd, at, &next) == 0) {
        __u32 value = 0;
        if (bpf_map_lookup_elem(fd, &next, &value) == 0) out[addressOf(next)] = value;
        key = next;
        at = &key;
    }
    return out;
}
}  // namespace

std::map<IpAddress, std::uint32_t> TunnelProgram::vips() const { return addressEntries(mapFd("lvs_vips")); }

std::set<IpAddress> TunnelProgram::directors() const {
    std::set<IpAddress> out;
    for (const auto& [director, one] : addressEntries(mapFd("lvs_directors"))) out.insert(director);
    return out;
}

void TunnelProgram::clearCounters(std::uint32_t index) {
    std::vector<lvs_vip_stats> zero(static_cast<std::size_t>(cpus()));
    bpf_map_update_elem(mapFd("lvs_vip_stats"), &index, zero.data(), BPF_ANY);
}

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

namespace {
// A per-CPU __u64 slot of a map, summed over the CPUs (0 when it cannot be read).
std::uint64_t perCpuSum(int fd, std::uint32_t key) {
    std::vector<std::uint64_t> per(static_cast<std::size_t>(cpus()));
    if (bpf_map_lookup_elem(fd, &key, per.data()) < 0) return 0;
    std::uint64_t sum = 0;
    for (auto v : per) sum += v;
    return sum;
}
}  // namespace

std::uint64_t TunnelProgram::drops(TunnelDrop reason) const { return perCpuSum(mapFd("lvs_drops"), static_cast<std::uint32_t>(reason)); }

std::uint64_t TunnelProgram::activity() const { return perCpuSum(mapFd("lvs_activity"), 0); }

}  // namespace tunnel
