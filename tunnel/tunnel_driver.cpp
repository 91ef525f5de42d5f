// The kernel's TunnelDriver: clsact hooks and filters through libbpf's bpf_tc_* calls
// (the library made for attaching tc-BPF programs: it builds the netlink requests for
// qdisc and filter and reads their answers), the filter count through libnl's classifier
// cache, the program and its maps through TunnelProgram.
#include <linux/pkt_sched.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/qdisc.h>

#include <cerrno>
#include <cstring>

#include "netcfg/nl_ptr.h"
#include "tunnel/tunnel_driver.h"

namespace tunnel {
namespace {

constexpr bpf_tc_attach_point kPoints[2] = {BPF_TC_INGRESS, BPF_TC_EGRESS};

// A refused change, with its errno (libbpf returns -errno).
netcfg::NetResult failure(const std::string& doing, int ifindex, int err) {
    char name[IF_NAMESIZE] = {};
    const char* n = if_indextoname(static_cast<unsigned>(ifindex), name);
    const int e = err < 0 ? -err : err;
    return std::unexpected(netcfg::NetError{.code = 0, .err = e,
                                            .message = doing + " on " + (n ? n : "interface " + std::to_string(ifindex)) + ": " + std::strerror(e)});
}

netcfg::NetResult refused(const std::string& why) { return std::unexpected(netcfg::NetError{.code = 0, .err = 0, .message = why}); }

using NlQdisc = std::unique_ptr<rtnl_qdisc, netcfg::NlFree<rtnl_qdisc, rtnl_qdisc_put>>;

// The program id at the agent's place on one hook; 0 when nothing is there.
std::uint32_t queryId(int ifindex, bpf_tc_attach_point point) {
    LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = point);
    LIBBPF_OPTS(bpf_tc_opts, o, .handle = kTunnelHandle, .priority = kTunnelPriority);
    if (bpf_tc_query(&h, &o) < 0) return 0;
    return o.prog_id;
}

// How many filters the clsact qdisc's two hooks hold; -1 when it cannot be told.
int filterCount(nl_sock* sk, int ifindex) {
    if (!sk) return -1;
    int total = 0;
    for (std::uint32_t parent : {TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)}) {
        nl_cache* raw = nullptr;
        if (rtnl_cls_alloc_cache(sk, ifindex, parent, &raw) < 0) return -1;
        const netcfg::NlCache cache(raw);
        total += nl_cache_nitems(cache.get());
    }
    return total;
}

// Whether the interface has a clsact qdisc (libnl's qdisc cache: a dump of every qdisc).
bool hasClsact(nl_sock* sk, int ifindex) {
    nl_cache* raw = nullptr;
    if (!sk || rtnl_qdisc_alloc_cache(sk, &raw) < 0) return false;
    const netcfg::NlCache cache(raw);
    return NlQdisc(rtnl_qdisc_get_by_parent(cache.get(), ifindex, TC_H_CLSACT)) != nullptr;
}

class KernelTunnelDriver : public TunnelDriver {
public:
    // libbpf writes the kernel's extack ("Cannot find specified filter chain") to stderr
    // for every query of a hook with no filter; its answers come back as errors instead.
    KernelTunnelDriver() { libbpf_set_print(nullptr); }

    std::expected<void, std::string> prepare(const std::vector<int>& ifindexes, bool mayLoad) override {
        if (program_) return {};
        // Take up what an earlier run attached, so its maps and counters carry on: the
        // program a previous process kept in systemd's store, else the one found at the
        // agent's place (the two may be on different interfaces: one filter was removed).
        std::uint32_t d = 0, m = 0;
        for (int i : offered_ ? std::vector<int>{} : ifindexes) {
            if (d == 0) d = ownId(queryId(i, BPF_TC_INGRESS), kDecapProgramName);
            if (m == 0) m = ownId(queryId(i, BPF_TC_EGRESS), kMssProgramName);
        }
        std::optional<TunnelProgram> adopted = std::move(offered_);
        offered_.reset();
        if (!adopted && d != 0 && m != 0)
            if (auto p = TunnelProgram::adopt(d, m)) adopted = std::move(*p);
        if (!mayLoad) {
            program_ = std::move(adopted);
            return {};
        }
        auto p = TunnelProgram::load();
        if (!p) return std::unexpected(p.error());
        // The running program is kept when it is this build's code; an older build's (a
        // package upgrade) is replaced: the planner attaches the new one over it
        // (BPF_TC_F_REPLACE, no moment without a filter), its maps written anew.
        if (adopted && adopted->sameCode(*p)) program_ = std::move(adopted);
        else program_ = std::move(*p);
        return {};
    }
    bool prepared() const override { return program_.has_value(); }

    std::optional<TunnelMaps> maps() const override {
        if (!program_) return std::nullopt;
        TunnelMaps m;
        m.settings = program_->settings();
        for (const auto& [vip, index] : program_->vips()) m.vips.insert(vip);
        m.directors = program_->directors();
        return m;
    }

    std::expected<TunnelHook, std::string> hook(int ifindex) override {
        TunnelHook h;
        const std::uint32_t ids[2] = {queryId(ifindex, BPF_TC_INGRESS), queryId(ifindex, BPF_TC_EGRESS)};
        // A filter found at the agent's place sits on a clsact qdisc: the dump of every
        // qdisc (each tick, per interface) is needed only when none is.
        h.clsact = ids[0] != 0 || ids[1] != 0 || hasClsact(nl(), ifindex);
        const std::uint32_t mine[2] = {program_ ? program_->programId() : 0, program_ ? program_->mssProgramId() : 0};
        bool* ours[2] = {&h.ingress, &h.egress};
        bool* foreign[2] = {&h.foreignIngress, &h.foreignEgress};
        for (int d = 0; d < 2; ++d) {
            if (ids[d] == 0) continue;
            if (ids[d] == mine[d]) *ours[d] = true;
            else *foreign[d] = true;
        }
        return h;
    }

    netcfg::NetResult createClsact(int ifindex) override {
        LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
        const int made = bpf_tc_hook_create(&h);
        if (made == -EEXIST) return netcfg::Effect::AlreadyDone;  // someone else's: never recorded as the agent's
        if (made < 0) return failure("creating the clsact qdisc", ifindex, made);
        return netcfg::Effect::Changed;
    }

    netcfg::NetResult attach(int ifindex) override {
        if (!program_ || program_->programFd() < 0) return refused("no tunnel program loaded");
        const int fds[2] = {program_->programFd(), program_->mssProgramFd()};
        for (int d = 0; d < 2; ++d) {
            LIBBPF_OPTS(bpf_tc_hook, hd, .ifindex = ifindex, .attach_point = kPoints[d]);
            LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = fds[d], .flags = BPF_TC_F_REPLACE, .handle = kTunnelHandle,
                        .priority = kTunnelPriority);
            if (int err = bpf_tc_attach(&hd, &o); err < 0)
                return failure(d == 0 ? "attaching lvs_decap (clsact ingress)" : "attaching lvs_mss (clsact egress)", ifindex, err);
        }
        return netcfg::Effect::Changed;
    }

    netcfg::NetResult detach(int ifindex, bool removeClsact) override {
        bool changed = false;
        for (int d = 0; d < 2; ++d) {
            const std::uint32_t id = queryId(ifindex, kPoints[d]);
            if (id == 0) continue;
            // Another program at the agent's handle and priority stays. When the kernel does
            // not name it (no CAP_SYS_ADMIN), the place decides: the caller detaches only
            // where its state file says the agent attached.
            const auto name = TunnelProgram::programName(id);
            if (name && *name != kDecapProgramName && *name != kMssProgramName) continue;
            LIBBPF_OPTS(bpf_tc_hook, hd, .ifindex = ifindex, .attach_point = kPoints[d]);
            LIBBPF_OPTS(bpf_tc_opts, o, .handle = kTunnelHandle, .priority = kTunnelPriority);
            const int err = bpf_tc_detach(&hd, &o);
            if (err < 0 && err != -ENOENT && err != -ENODEV) return failure("removing the agent's tc filter", ifindex, err);
            changed = changed || err == 0;
        }
        if (removeClsact && filterCount(nl(), ifindex) == 0) {
            LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
                        .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
            const int err = bpf_tc_hook_destroy(&h);
            if (err < 0 && err != -ENOENT && err != -EINVAL && err != -ENODEV)
                return failure("removing the clsact qdisc the agent created", ifindex, err);
            changed = changed || err == 0;
        }
        return changed ? netcfg::Effect::Changed : netcfg::Effect::AlreadyDone;
    }

    netcfg::NetResult sync(const TunnelMaps& want) override {
        if (!program_) return refused("no tunnel program loaded");
        bool changed = false;
        // Each step's refusal is one line from TunnelProgram (the kernel's answer in it).
        auto step = [&](std::expected<void, std::string> r) {
            changed = true;
            return r ? std::optional<std::string>() : std::optional<std::string>(r.error());
        };
        if (program_->settings() != want.settings)
            if (auto e = step(program_->configure(want.settings))) return refused(*e);
        const auto have = program_->vips();
        std::set<std::uint32_t> used;
        for (const auto& [vip, index] : have) {
            if (want.vips.contains(vip)) used.insert(index);
            else if (auto e = step(program_->removeVip(vip))) return refused(*e);
        }
        std::uint32_t next = 0;
        for (const auto& vip : want.vips) {
            if (have.contains(vip)) continue;
            while (used.contains(next)) ++next;
            program_->clearCounters(next);
            if (auto e = step(program_->addVip(vip, next))) return refused(*e);
            used.insert(next);
        }
        const auto directors = program_->directors();
        for (const auto& d : directors)
            if (!want.directors.contains(d))
                if (auto e = step(program_->removeDirector(d))) return refused(*e);
        for (const auto& d : want.directors)
            if (!directors.contains(d))
                if (auto e = step(program_->addDirector(d))) return refused(*e);
        return changed ? netcfg::Effect::Changed : netcfg::Effect::AlreadyDone;
    }

    TunnelStats stats() const override {
        TunnelStats s;
        if (!program_) return s;
        for (const auto& [vip, index] : program_->vips()) s.vips[vip] = program_->vipCounters(index);
        for (int r = 0; r < kTunnelDropReasons; ++r) s.drops[static_cast<std::size_t>(r)] = program_->drops(static_cast<TunnelDrop>(r));
        return s;
    }

    std::uint64_t activity() const override { return program_ ? program_->activity() : 0; }

    Descriptors descriptors() const override {
        Descriptors out;
        if (!program_) return out;
        out.programId = program_->programId();
        out.fds = program_->descriptors();
        return out;
    }

    std::uint32_t offer(std::multimap<std::string, agent::UniqueFd> fds) override {
        std::map<std::string, agent::UniqueFd> byName;
        for (auto& [name, fd] : fds) byName[name] = std::move(fd);
        auto p = TunnelProgram::fromDescriptors(std::move(byName));
        if (!p) return 0;
        offered_ = std::move(*p);
        return offered_->programId();
    }

private:
    nl_sock* nl() {
        if (!nl_) {
            netcfg::NlSock sk(nl_socket_alloc());
            if (!sk || nl_connect(sk.get(), NETLINK_ROUTE) < 0) return nullptr;
            nl_ = std::move(sk);
        }
        return nl_.get();
    }
    netcfg::NlSock nl_;
    // id when it names a program called `name`, else 0.
    static std::uint32_t ownId(std::uint32_t id, const char* name) {
        return id != 0 && TunnelProgram::programName(id) == std::optional<std::string>(name) ? id : 0;
    }
    std::optional<TunnelProgram> program_;
    std::optional<TunnelProgram> offered_;  // from systemd's store, until prepare()
};

}  // namespace

std::unique_ptr<TunnelDriver> makeKernelTunnelDriver() { return std::make_unique<KernelTunnelDriver>(); }

}  // namespace tunnel
