#include "api/metrics.h"

#include <cmath>

#include <charconv>

#include "agent/base/text_file.h"
#include "api/readiness.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace api {
namespace {

// Label values escape backslash, double quote and newline.
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

// The shortest text that reads back as exactly v (a timestamp keeps its sub-second part,
// not 1.79653881e+09), in Prometheus' spelling of the special values.
std::string num(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

class Writer {
public:
    void family(const std::string& name, const std::string& type, const std::string& help) {
        out_ << "# HELP lvs_rs_agent_" << name << " " << help << "\n# TYPE lvs_rs_agent_" << name << " " << type << "\n";
    }
    void sample(const std::string& name, const std::string& labels, double v) {
        out_ << "lvs_rs_agent_" << name << (labels.empty() ? "" : "{" + labels + "}") << " " << num(v) << "\n";
    }
    std::string str() const { return out_.str(); }

private:
    std::ostringstream out_;
};

}  // namespace

std::string renderMetrics(const Snapshot& s, double nowUnix) {
    Writer w;
    w.family("ready", "gauge", "1 when this real server is ready for traffic (every VIP in place, services up, not draining).");
    w.sample("ready", "", s.ready());
    w.family("vip_ready", "gauge", "1 when this VIP is ready.");
    s.vips.forEach([&](const VipReadiness& v) { w.sample("vip_ready", "vip=\"" + label(v.vip) + "\"", vipReady(s, v)); });
    w.family("vip_bound", "gauge", "1 when the VIP is bound on lo.");
    s.vips.forEach([&](const VipReadiness& v) { w.sample("vip_bound", "vip=\"" + label(v.vip) + "\"", v.bound); });
    if (s.announceTable != 0) {
        w.family("vip_announced", "gauge", "1 while this VIP's route is in the announce table (for BGP); only VIPs that may be announced.");
        s.vips.forEach([&](const VipReadiness& v) {
            if (v.announceable || v.announced) w.sample("vip_announced", "vip=\"" + label(v.vip) + "\"", v.announced);
        });
        w.family("announce_conflicts", "gauge", "Conflicts keeping VIPs out of the announce table (another program's routes there).");
        w.sample("announce_conflicts", "", static_cast<double>(s.announceFindings.size()));
    }
    if (s.tunnel.enabled) {
        w.family("tunnel_attached", "gauge", "1 while the tunnel decapsulation is attached (clsact ingress and egress) on the interface.");
        for (const auto& i : s.tunnel.interfaces) w.sample("tunnel_attached", "interface=\"" + label(i.name) + "\"", i.attached);
        w.family("tunnel_decapsulated_packets_total", "counter", "Packets decapsulated for the VIP, by encapsulation.");
        for (const auto& v : s.tunnel.vips) {
            w.sample("tunnel_decapsulated_packets_total", "vip=\"" + label(v.vip) + "\",encap=\"ipip\"", static_cast<double>(v.ipipPackets));
            w.sample("tunnel_decapsulated_packets_total", "vip=\"" + label(v.vip) + "\",encap=\"gue\"", static_cast<double>(v.guePackets));
        }
        w.family("tunnel_decapsulated_bytes_total", "counter", "Bytes of the inner packets decapsulated for the VIP, by encapsulation.");
        for (const auto& v : s.tunnel.vips) {
            w.sample("tunnel_decapsulated_bytes_total", "vip=\"" + label(v.vip) + "\",encap=\"ipip\"", static_cast<double>(v.ipipBytes));
            w.sample("tunnel_decapsulated_bytes_total", "vip=\"" + label(v.vip) + "\",encap=\"gue\"", static_cast<double>(v.gueBytes));
        }
        w.family("tunnel_mss_clamped_total", "counter", "SYN-ACKs from the VIP whose MSS was lowered to the tunnel's.");
        for (const auto& v : s.tunnel.vips) w.sample("tunnel_mss_clamped_total", "vip=\"" + label(v.vip) + "\"", static_cast<double>(v.mssClamped));
        w.family("tunnel_dropped_packets_total", "counter", "Tunnel packets dropped, by reason (not_director, not_vip, malformed, fragment, family, decap, gue_header).");
        for (const auto& [reason, n] : s.tunnel.drops) w.sample("tunnel_dropped_packets_total", "reason=\"" + reason + "\"", static_cast<double>(n));
    }
    if (s.nat.enabled) {
        w.family("nat_vip_ready", "gauge", "1 when this NAT VIP (published on the director) is ready: its reply path, its director and its services.");
        for (const auto& v : s.nat.vips) w.sample("nat_vip_ready", "vip=\"" + label(v.vip) + "\"", natVipReadiness(s, v).ready());
        w.family("nat_reply_path_ok", "gauge", "1 when the kernel sends this NAT port's replies via the director (its own route lookup, asked every tick).");
        for (const auto& p : s.nat.ports)
            w.sample("nat_reply_path_ok", "family=\"" + std::string(p.family == 10 ? "ipv6" : "ipv4") + "\",protocol=\"" + p.protocol + "\",port=\"" +
                                              std::to_string(p.port) + "\"", p.ok);
        w.family("nat_director_reachable", "gauge", "1 while the NAT director answers ARP/NDP (verified within a few seconds, no traffic needed).");
        for (const auto& d : s.nat.directors) w.sample("nat_director_reachable", "director=\"" + label(d.address) + "\"", d.reachable);
        w.family("nat_director_mac_changes_total", "counter", "Changes of the NAT director's MAC address (a VRRP failover to the other director).");
        for (const auto& d : s.nat.directors)
            w.sample("nat_director_mac_changes_total", "director=\"" + label(d.address) + "\"", static_cast<double>(d.macChanges));
        w.family("nat_director_probes_total", "counter", "Verifications of the NAT director's neighbour entry the agent asked of the kernel.");
        for (const auto& d : s.nat.directors)
            w.sample("nat_director_probes_total", "director=\"" + label(d.address) + "\"", static_cast<double>(d.probes));
    }
    if (const auto& c = s.colocated; c.enabled) {
        w.family("marks_in_place", "gauge", "1 while the two-box marks' nftables table (inet lvs_rs_agent) is as the configuration and the peers' MACs make it.");
        w.sample("marks_in_place", "fwmark=\"" + std::to_string(c.mark) + "\"", c.tableInPlace);
        w.family("marks_marking", "gauge", "1 while the table marks packets (0: a peer director's MAC is not known, so nothing is marked).");
        w.sample("marks_marking", "fwmark=\"" + std::to_string(c.mark) + "\"", c.marking);
        w.family("active_director", "gauge", "1 while a VIP is also held on a real interface here (this node is the active director).");
        w.sample("active_director", "", !c.activeOn.empty());
        w.family("peer_director_mac_known", "gauge", "1 while the peer director's MAC is known (its packets are told from the clients').");
        for (const auto& p : c.peers) w.sample("peer_director_mac_known", "peer=\"" + label(p.address) + "\"", !p.mac.empty());
        w.family("peer_director_mac_changes_total", "counter", "Changes of the peer director's MAC address (a NIC swap; the marks follow it).");
        for (const auto& p : c.peers)
            w.sample("peer_director_mac_changes_total", "peer=\"" + label(p.address) + "\"", static_cast<double>(p.macChanges));
    }
    if (s.connections) {
        w.family("vip_connections", "gauge", "TCP connections on the VIP (every state but LISTEN, TIME_WAIT and CLOSE; not from this host), at the last count.");
        s.vips.forEach([&](const VipReadiness& v) {
            if (const auto it = s.connections->find(v.vip); it != s.connections->end())
                w.sample("vip_connections", "vip=\"" + label(v.vip) + "\"", static_cast<double>(it->second));
        });
        w.family("connections_counted_timestamp_seconds", "gauge", "When the connections were last counted (they are while a drain runs or /metrics is read).");
        w.sample("connections_counted_timestamp_seconds", "", s.connectionsCountedUnix);
    }
    w.family("vip_drain_state", "gauge", "1 for a VIP under a drain: state draining, or drained by how it ended (idle: no connection left; deadline).");
    s.vips.forEach([&](const VipReadiness& v) {
        if (!s.draining() && !s.vipDrained(v.vip)) return;  // no drain: nothing to say, no reason to build
        const Readiness r = vipReadiness(s, v, Scope::Own);
        if (!r.drained()) return;
        const char* state = !r.drain.ended() ? "draining" : name(r.drain.end);
        w.sample("vip_drain_state", "vip=\"" + label(v.vip) + "\",state=\"" + state + "\"", 1);
    });
    w.family("drains_completed_total", "counter", "Drains that ended, by how: idle (no connection left) or deadline (max_seconds with connections left).");
    w.sample("drains_completed_total", "result=\"idle\"", static_cast<double>(s.drainsIdle));
    w.sample("drains_completed_total", "result=\"deadline\"", static_cast<double>(s.drainsDeadline));
    w.family("last_drain_duration_seconds", "gauge", "How long the last drain that ended took.");
    w.sample("last_drain_duration_seconds", "", s.lastDrainSeconds);
    w.family("vip_draining", "gauge", "1 while this VIP is drained, on its own or with the whole server (reported not ready, kept bound).");
    s.vips.forEach([&](const VipReadiness& v) { w.sample("vip_draining", "vip=\"" + label(v.vip) + "\"", s.draining() || s.vipDrained(v.vip)); });
    w.family("draining", "gauge", "1 while the whole server is draining (reported not ready, VIPs kept).");
    w.sample("draining", "", s.draining());
    w.family("fighting", "gauge", "1 while something keeps undoing the agent's settings (repairs are backed off).");
    w.sample("fighting", "", s.fighting);
    w.family("repairs_total", "counter", "Settings the agent put back after something undid them, by kind.");
    for (const char* kind : {"address", "route", "sysctl", "link"}) {
        auto it = s.repairs.find(kind);
        w.sample("repairs_total", std::string("kind=\"") + kind + "\"", it == s.repairs.end() ? 0 : it->second);
    }
    w.family("drift_events_total", "counter", "Reconcile passes that found the kernel drifted from the desired state.");
    w.sample("drift_events_total", "", static_cast<double>(s.driftEvents));
    w.family("reconcile_duration_seconds", "summary", "Time of reconcile passes (dump, plan, apply).");
    w.sample("reconcile_duration_seconds_sum", "", s.reconcileSecondsSum);
    w.sample("reconcile_duration_seconds_count", "", static_cast<double>(s.reconcileCount));
    w.family("last_reconcile_duration_seconds", "gauge", "Time of the last reconcile pass.");
    w.sample("last_reconcile_duration_seconds", "", s.lastReconcileSeconds);
    w.family("last_resync_duration_seconds", "gauge",
             "Time of the last full look at the kernel (the tables the agent uses only), read and compared.");
    w.sample("last_resync_duration_seconds", "", s.lastFullDumpSeconds);
    // Each check by its name (two http checks of one VIP and port differ by path), with
    // its VIP, port and type to select on.
    auto checkLabels = [](const ServiceReadiness& sv) {
        return "check=\"" + label(sv.name) + "\",vip=\"" + label(sv.vip) + "\",port=\"" + (sv.port > 0 ? std::to_string(sv.port) : std::string()) + "\",type=\"" +
               label(sv.type) + "\"";
    };
    w.family("service_up", "gauge", "1 when the service check passes (after rise/fall).");
    for (const auto& sv : s.services) w.sample("service_up", checkLabels(sv), sv.up);
    w.family("service_probes_total", "counter", "Probes of the service check by result: up, down, timeout (no result within timeout_ms).");
    for (const auto& sv : s.services) {
        w.sample("service_probes_total", checkLabels(sv) + ",result=\"up\"", static_cast<double>(sv.probesUp));
        w.sample("service_probes_total", checkLabels(sv) + ",result=\"down\"", static_cast<double>(sv.probesDown));
        w.sample("service_probes_total", checkLabels(sv) + ",result=\"timeout\"", static_cast<double>(sv.probesTimedOut));
    }
    w.family("service_probe_duration_seconds", "gauge", "How long the service check's last probe took.");
    for (const auto& sv : s.services) w.sample("service_probe_duration_seconds", checkLabels(sv), sv.lastProbeSeconds);
    if (!s.services.empty()) {
        w.family("service_probe_delay_seconds", "histogram",
                 "How late the service checks' probes started against their schedule (a probe never waits for another).");
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < ProbeDelays::kBounds.size(); ++i) {
            cumulative += s.probeDelays.below[i];
            w.sample("service_probe_delay_seconds_bucket", "le=\"" + num(ProbeDelays::kBounds[i]) + "\"", static_cast<double>(cumulative));
        }
        w.sample("service_probe_delay_seconds_bucket", "le=\"+Inf\"", static_cast<double>(s.probeDelays.count));
        w.sample("service_probe_delay_seconds_sum", "", s.probeDelays.sumSeconds);
        w.sample("service_probe_delay_seconds_count", "", static_cast<double>(s.probeDelays.count));
        w.family("service_probe_delay_max_seconds", "gauge", "The latest start of a service check's probe against its schedule, since the checks started.");
        w.sample("service_probe_delay_max_seconds", "", s.probeDelays.maxSeconds);
        w.family("service_check_workers", "gauge", "Threads probing the service checks (grown when none is idle).");
        w.sample("service_check_workers", "", static_cast<double>(s.checkWorkers));
    }
    w.family("config_last_reload_successful", "gauge", "1 when the last configuration reload succeeded (or none was tried yet).");
    w.sample("config_last_reload_successful", "", s.lastReloadOk);
    w.family("config_last_reload_success_timestamp_seconds", "gauge", "When the configuration was last loaded successfully (start or reload), in Unix time.");
    w.sample("config_last_reload_success_timestamp_seconds", "", s.lastReloadSuccessUnix);
    w.family("config_reloads_total", "counter", "Configuration reloads attempted (SIGHUP and lvs-rs-agent reload).");
    w.sample("config_reloads_total", "", static_cast<double>(s.reloads));
    w.family("uptime_seconds", "gauge", "Seconds since the agent started.");
    w.sample("uptime_seconds", "", s.startedAtUnix > 0 ? nowUnix - s.startedAtUnix : 0);
    w.family("build_info", "gauge", "Build information.");
    w.sample("build_info", "version=\"" + label(s.version) + "\"", 1);
    return w.str();
}

std::string renderApiMetrics(const HttpCounters& c) {
    Writer w;
    w.family("api_connections", "gauge", "Connections open to the HTTP API.");
    w.sample("api_connections", "", c.open);
    w.family("api_connections_accepted_total", "counter", "Connections the HTTP API took on.");
    w.sample("api_connections_accepted_total", "", static_cast<double>(c.accepted));
    w.family("api_connections_closed_total", "counter", "Connections the HTTP API refused or closed early, by reason.");
    const std::pair<const char*, std::uint64_t> reasons[] = {{"per_client_limit", c.refusedPerClient}, {"full", c.refusedFull},
                                                             {"made_room", c.evicted}, {"head_timeout", c.headTimeouts},
                                                             {"answer_timeout", c.exchangeTimeouts}};
    for (const auto& [reason, n] : reasons) w.sample("api_connections_closed_total", std::string("reason=\"") + reason + "\"", static_cast<double>(n));
    w.family("api_auth_failures_total", "counter", "POST /drain and /undrain refused for a missing or wrong token.");
    w.sample("api_auth_failures_total", "", static_cast<double>(c.authFailures));
    return w.str();
}

// /proc/PID/stat: the fields after the command's closing parenthesis (which may hold
// spaces and parentheses itself), so utime is field 14 of stat(5), index 11 here.
std::string renderProcessMetrics(double startedAtUnix, const std::string& procDir) {
    std::ostringstream out;
    // whole numbers (bytes, descriptors) and the start time exactly, not as 1.7e+09
    auto metric = [&](const char* name, const char* type, const char* help, double v, const char* format = "%.0f") {
        char buf[64];
        std::snprintf(buf, sizeof buf, format, v);
        out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << buf << "\n";
    };
    const std::string stat =
        agent::readLimited(procDir + "/stat", {.maxBytes = 4096, .deadline = std::chrono::milliseconds(500), .allowPipe = false}).value_or("");
    if (const auto close = stat.rfind(')'); close != std::string::npos) {
        std::istringstream fields(stat.substr(close + 1));
        std::vector<std::string> f{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
        if (f.size() > 22) {
            const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
            metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                   (std::stod(f[11]) + std::stod(f[12])) / ticks, "%.2f");
            metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(f[20]));
            metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                   std::stod(f[21]) * static_cast<double>(::sysconf(_SC_PAGESIZE)));
        }
    }
    std::error_code ec;
    std::size_t fds = 0;
    for (std::filesystem::directory_iterator it(procDir + "/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
    if (!ec) metric("process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(fds));
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.",
               lim.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(lim.rlim_cur));
    if (startedAtUnix > 0)
        metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startedAtUnix, "%.3f");
    return out.str();
}

}  // namespace api
