#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <cstdarg>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/base/log.h"
#include "agent/reconcile/report.h"
#include "agent/reconcile/session.h"
#include "agent/cli/daemon_client.h"
#include "api/readiness.h"
#include "tunnel/tunnel_program.h"

namespace agent {

namespace {

using nlohmann::json;

// Readiness as /ready computes it: the running daemon's (service checks, drains,
// conflicts), or, with no daemon, "in place" (nothing else can hold a VIP back).
struct Readiness {
    bool ready = false;
    std::string source;  // "daemon" or "kernel"
    json doc;            // the --json "readiness" object
    std::string text;    // the text lines
};

Readiness fromDaemon(const json& r) {
    Readiness out{.ready = r["ready"].get<bool>(), .source = "daemon", .doc = r, .text = {}};
    out.doc.erase("pid");
    out.doc["source"] = "daemon";
    std::string t = std::string("readiness (the running daemon's, as /ready answers): ") + (out.ready ? "ready" : "NOT READY") + "\n";
    if (r.contains("reasons") && r["reasons"].is_array())
        for (const auto& reason : r["reasons"])
            if (reason.is_string()) t += "  - " + reason.get<std::string>() + "\n";
    std::size_t listed = 0;
    for (const auto& v : r["not_ready"]) {
        if (!v.is_object() || !v.contains("vip") || !v["vip"].is_string()) continue;
        std::string reasons;
        if (v.contains("reasons") && v["reasons"].is_array())
            for (const auto& reason : v["reasons"])
                if (reason.is_string()) reasons += (reasons.empty() ? "" : "; ") + reason.get<std::string>();
        t += "  VIP " + v["vip"].get<std::string>() + ": not ready: " + reasons + "\n";
        ++listed;
    }
    const auto count = r.value("not_ready_count", listed);
    const auto total = r.value("vips", std::size_t{0});
    if (count > listed) t += "  and " + std::to_string(count - listed) + " more VIP(s) not ready\n";
    t += "  " + std::to_string(total >= count ? total - count : 0) + " of " + std::to_string(total) + " VIP(s) ready\n";
    out.text = t;
    return out;
}

// Without a daemon, readiness is asked of the same function with the inputs there are:
// each VIP's findings and what every VIP needs (no service is probed, nothing drained).
api::Readiness offlineReadiness(const ReadinessReport& report) {
    api::Snapshot s;
    s.lifecycle = api::Lifecycle::Running;
    std::vector<api::VipReadiness> vips;
    auto notInPlace = std::make_shared<std::vector<std::size_t>>();
    std::set<Subject> ofVips;
    for (const auto& v : report.vips) {
        api::VipReadiness e{.vip = v.text()};
        for (const auto& f : v.findings) {
            e.findings.push_back(view(f));
            ofVips.insert(f.subject);
        }
        if (!e.findings.empty()) notInPlace->push_back(vips.size());
        vips.push_back(std::move(e));
    }
    s.setVips(std::move(vips));
    s.notInPlace = std::move(notInPlace);
    for (const auto& f : report.findings)
        if (!ofVips.contains(f.subject)) s.commonFindings.push_back(view(f));
    return api::serverReadiness(s);
}

Readiness fromKernel(const ReadinessReport& report) {
    const api::Readiness r = offlineReadiness(report);
    const bool ready = r.ready() && report.inPlace();
    const json reasons = api::describe(r.reasons);
    return Readiness{.ready = ready,
                     .source = "kernel",
                     .doc = {{"source", "kernel"}, {"ready", ready}, {"reasons", reasons}},
                     .text = std::string("readiness (from the kernel alone: ready means in place): ") + (ready ? "ready" : "NOT READY") + "\n"};
}

// The daemon's lines and JSON: running (with drains), dead, or none.
std::pair<std::string, json> daemonPart(const DaemonProbe& p) {
    const std::string pid = p.pid > 0 ? " (pid " + std::to_string(p.pid) + ")" : "";
    switch (p.state) {
        case DaemonProbe::State::None: return {"daemon: not running\n", json{{"running", false}}};
        case DaemonProbe::State::Dead:
            return {"daemon: DEAD: `lvs-rs-agent run`" + pid + " owned this state dir but does not answer (" + p.error +
                        "); `systemctl restart lvs-rs-agent` adopts what it left, `lvs-rs-agent stop` undoes it\n",
                    json{{"running", false}, {"dead", true}, {"pid", p.pid}, {"error", p.error}}};
        case DaemonProbe::State::NoPermission:
            return {"daemon: cannot tell: " + p.error + "; run status as root\n", json{{"running", nullptr}, {"error", p.error}}};
        case DaemonProbe::State::Running: break;
    }
    json doc{{"running", true}, {"pid", p.pid}};
    std::string text = "daemon: running" + pid;
    if (!p.readiness) return {text + " (an older version: no readiness over its control socket)\n", doc};
    const auto& r = *p.readiness;
    const bool draining = r.value("draining", false);
    const auto count = r.value("drained_count", std::size_t{0});
    std::vector<std::string> listed;
    for (const auto& v : r.value("drained_vips", json::array()))
        if (v.is_string()) listed.push_back(v.get<std::string>());
    doc["draining"] = draining;
    doc["drained_vips"] = listed;
    doc["drained_count"] = count;
    text += std::string("; the whole server is ") + (draining ? "draining" : "not draining") + "\n";
    std::string list;
    for (const auto& v : listed) list += (list.empty() ? "" : ", ") + v;
    text += "  VIPs drained on their own: " +
            (count == 0 ? std::string("none") : std::to_string(count) + " (" + list + (listed.size() < count ? ", ..." : "") + ")") + "\n";
    return {text, doc};
}

}  // namespace

namespace {

// What status says beside the report: the file on disk against what runs, what could not
// be read. Printed after the report (text) or as "notes" (JSON).
struct StatusNotes {
    std::vector<std::string> lines;
    void add(std::string line) { lines.push_back(std::move(line)); }
};

// The configuration status looks at: the file (or --vip), or, when it cannot be used, what
// the agent owns (its state file): status must work exactly when the file is broken.
std::optional<Config> statusConfig(const Options& o, StatusNotes& notes, const DaemonProbe& daemon) {
    try {
        return loadConfig(o.config, o.vips, o.configDir, !o.offline);
    } catch (const ConfigError& e) {
        std::string why;
        for (const auto& p : e.problems()) why += (why.empty() ? "" : "; ") + p;
        notes.add("the configuration on disk cannot be used: " + why);
        notes.add(daemon.state == DaemonProbe::State::Running
                      ? "shown: what the agent owns; the running daemon keeps what it loaded before (`lvs-rs-agent reload` would refuse the file as it is)"
                      : "shown: what the agent owns (its state file), against the default ARP settings");
        return std::nullopt;
    }
}

// The daemon runs another file, or loaded this one before it changed.
void compareWithDaemon(const Config& cfg, const DaemonProbe& daemon, StatusNotes& notes) {
    if (daemon.state != DaemonProbe::State::Running || !daemon.readiness) return;
    const auto& r = *daemon.readiness;
    const std::string runs = r.value("config_source", std::string());
    if (runs.empty()) return;
    if (runs != cfg.source) {
        notes.add("the daemon runs " + runs + ", not " + cfg.source + ": the findings above are against " + cfg.source);
        return;
    }
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(cfg.source, ec);
    const double loadedAt = r.value("config_loaded_at", 0.0);
    if (ec || loadedAt <= 0) return;
    const double writtenUnix = std::chrono::duration<double>(std::chrono::file_clock::to_sys(written).time_since_epoch()).count();
    if (writtenUnix > loadedAt + 0.5)
        notes.add(cfg.source + " changed on disk after the daemon loaded it: `lvs-rs-agent reload` applies it");
}

}  // namespace

int runStatus(const Options& o) {
    StatusNotes notes;
    const DaemonProbe daemon = probeDaemon(o.stateDir, 3);
    // A bad --vip is the command line's fault (exit 2); a file's problem is only a note.
    const bool commandLineOnly = !o.config && !o.vips.empty();
    const std::optional<Config> cfg = commandLineOnly ? loadOrReport(o) : statusConfig(o, notes, daemon);
    if (commandLineOnly && !cfg) return kUsage;
    auto session = Session::open(o.stateDir);
    if (!session) {
        logError("cannot tell: " + session.error());
        return kUnknown;
    }
    // The state file is root's: a user sees the kernel side (readable by anyone) without it.
    Owned owned;
    bool stateUnreadable = false;
    if (auto loaded = session->stateFile().load()) {
        owned = std::move(*loaded);
    } else if (::access(o.stateDir.c_str(), X_OK) != 0 || ::access((std::filesystem::path(o.stateDir) / "state.json").c_str(), R_OK) != 0) {
        stateUnreadable = true;
        notes.add("what the agent owns (" + o.stateDir + ") is readable by root only: shown without it (run status as root for the whole state)");
    } else {
        logError("cannot tell: " + loaded.error());
        return kUnknown;
    }
    if (cfg) compareWithDaemon(*cfg, daemon, notes);
    if (!cfg && owned.empty() && !stateUnreadable) notes.add("the agent owns nothing on this host (" + o.stateDir + ")");
    const Desired desired = cfg ? desiredFrom(*cfg) : owned.empty() ? nothingDesired() : addedTo(desiredFrom(Config{}), owned);
    auto observed = session->observe(desired, owned);
    if (!observed) {
        logError("cannot tell: " + observed.error());
        return kUnknown;
    }
    ReadinessReport report = buildReport(desired, *observed, owned, plan(desired, *observed, owned).findings);
    report.ownershipUnknown = stateUnreadable;
    if (auto* t = session->tunnel(); t && t->prepared()) report.tunnel.stats = t->stats();
    // The NAT directors, looked at once (the daemon verifies them; status changes nothing).
    if (desired.nat)
        for (const auto& d : desired.nat->directors)
            if (auto st = lookAtDirector(session->netlink(), observed->kernel, d)) report.nat.directors.push_back(std::move(*st));
    // The connections on each VIP, counted now (the kernel's socket diagnostics).
    if (auto* counter = session->connections()) {
        std::vector<netcfg::LocalPrefix> prefixes;
        for (const auto& v : report.vips) prefixes.push_back({.address = v.vip, .length = v.rangeLen < 0 ? v.vip.hostPrefix() : v.rangeLen});
        if (auto c = counter->count(prefixes))
            for (std::size_t i = 0; i < report.vips.size(); ++i) report.vips[i].connections = c->perPrefix[i];
    }
    const bool daemonAnswers = daemon.state == DaemonProbe::State::Running && daemon.readiness;
    Readiness readiness = daemonAnswers ? fromDaemon(*daemon.readiness) : fromKernel(report);
    // Without the daemon no service is probed: readiness with service checks cannot be told.
    const std::size_t unprobed = !daemonAnswers && cfg ? cfg->services.size() : 0;
    if (unprobed > 0) {
        readiness.doc["ready"] = nullptr;
        readiness.doc["unknown"] = true;
        readiness.text = "readiness (no daemon runs): UNKNOWN: " + std::to_string(unprobed) +
                         " service check(s) are probed only by the running daemon (`lvs-rs-agent run`); the kernel side is " +
                         (report.inPlace() ? "in place" : "NOT in place") + "\n";
    }
    const auto [daemonText, daemonJson] = daemonPart(daemon);
    const bool dead = daemon.state == DaemonProbe::State::Dead && !owned.empty();
    if (o.json) {
        auto doc = toJson(report);
        doc["readiness"] = readiness.doc;
        doc["daemon"] = daemonJson;
        doc["notes"] = notes.lines;
        doc["configuration"] = cfg ? json(cfg->source) : json(nullptr);
        std::printf("%s\n", doc.dump(2).c_str());
    } else {
        std::fputs(renderText(report, o.all).c_str(), stdout);
        std::fputs(readiness.text.c_str(), stdout);
        std::fputs(daemonText.c_str(), stdout);
        for (const auto& n : notes.lines) std::printf("note: %s\n", n.c_str());
    }
    if (report.unknown || stateUnreadable) return kUnknown;
    if (dead) return kFailed;  // LSB 1: dead, but its state is left behind
    if (!report.inPlace()) return kNotRunning;
    if (o.ready && unprobed > 0) return kUnknown;
    return o.ready && !readiness.ready ? kNotRunning : kOk;
}

// What makes a service check pass, in words.
static std::string checkWhat(const ServiceCheck& c) {
    switch (c.type) {
        case ServiceCheck::Type::Tcp: return "up when it accepts a connection";
        case ServiceCheck::Type::Http:
        case ServiceCheck::Type::Https: {
            std::string statuses;
            for (std::size_t i = 0; i < c.expectStatus.size(); ++i)
                statuses += (i == 0 ? "" : i + 1 == c.expectStatus.size() ? " or " : ", ") + std::to_string(c.expectStatus[i]);
            std::string w = "up on status " + statuses + (c.expectBody ? " with \"" + *c.expectBody + "\" in the body" : "");
            if (c.type == ServiceCheck::Type::Https)
                w += c.verify ? "; the certificate verified against " + (c.caFile ? *c.caFile : std::string("the system's CAs")) + " for " +
                                    c.host.value_or(c.vip.str())
                              : "; the certificate not verified" + std::string(c.host ? "" : ", no server name sent");
            return w;
        }
        case ServiceCheck::Type::Exec:
            return "up when it exits 0; run as uid " + std::to_string(::geteuid()) + " without capabilities, no shell, killed at the timeout";
        case ServiceCheck::Type::Dns: return "up on any answer but SERVFAIL or REFUSED (NXDOMAIN is up)";
    }
    return "";
}

namespace {
// Policy rules that match ipproto and sport came with Linux 4.17: the NAT reply path
// cannot be built on an older kernel (nullopt: this one has them, or cannot be told).
std::optional<std::string> natKernelProblem() {
    utsname u{};
    if (::uname(&u) != 0) return std::nullopt;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return std::nullopt;
    if (major > 4 || (major == 4 && minor >= 17)) return std::nullopt;
    return std::string("this kernel (") + u.release +
           ") cannot match policy rules on ipproto and sport, which the NAT reply path needs: Linux 4.17 or later";
}
}  // namespace

namespace {

// check's verdict: what start would do (printed only when everything passed, so a check
// never says both "valid" and "refused"), or the problems; as text or, with --json, one
// JSON object {"valid", "configuration", "problems", "would"}.
class CheckReport {
public:
    explicit CheckReport(bool json) : json_(json) {}
    [[gnu::format(printf, 2, 3)]] void say(const char* format, ...) {
        va_list args, again;
        va_start(args, format);
        va_copy(again, args);
        const int n = std::vsnprintf(nullptr, 0, format, args);
        va_end(args);
        if (n > 0) {
            std::string line(static_cast<std::size_t>(n) + 1, '\0');
            std::vsnprintf(line.data(), line.size(), format, again);
            line.resize(static_cast<std::size_t>(n));
            text_ += line;
        }
        va_end(again);
    }
    void problem(const std::string& p) { problems_.push_back(p); }
    // The verdict: exit code rc, the plan shown only when rc is 0.
    int finish(int rc, const std::string& source) {
        if (json_) {
            std::vector<std::string> lines;
            std::istringstream in(text_);
            for (std::string l; std::getline(in, l);) lines.push_back(l);
            const nlohmann::json doc{{"valid", rc == kOk}, {"exit", rc}, {"configuration", source.empty() ? nlohmann::json(nullptr) : nlohmann::json(source)},
                                     {"problems", problems_}, {"would", rc == kOk ? nlohmann::json(lines) : nlohmann::json::array()}};
            std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        } else if (rc == kOk) {
            std::fputs(text_.c_str(), stdout);
        } else {
            for (const auto& p : problems_) logError(p);
        }
        return rc;
    }

private:
    bool json_;
    std::string text_;
    std::vector<std::string> problems_;
};

}  // namespace

int runCheck(const Options& o) {
    CheckReport out(o.json);
    std::optional<Config> cfg;
    try {
        cfg = loadConfig(o.config, o.vips, o.configDir, !o.offline);
    } catch (const ConfigError& e) {
        for (const auto& p : e.problems()) out.problem(p);
        out.problem("configuration rejected");
        return out.finish(kUsage, o.config.value_or(o.vips.empty() ? kDefaultConfigPath : ""));
    }
    out.say("configuration %s is valid", cfg->source.c_str());
    if (!cfg->dropIns.empty()) out.say(" (with %zu drop-in(s))", cfg->dropIns.size());
    out.say("; start would:\n");
    std::size_t drained = 0;
    for (const auto& vip : cfg->vips) {
        const std::string from = vip.source != cfg->source ? " (from " + vip.source + ")" : "";
        drained += vip.drained ? 1 : 0;
        if (vip.isRange()) {
            out.say("  add local route %s dev lo in table local (this host takes every address of it)%s\n", vip.name().c_str(),
                        from.c_str());
            continue;
        }
        out.say("  bind %s on lo%s\n", vip.address.hostCidr().c_str(), from.c_str());
        if (cfg->hostRoutes) out.say("  add host route %s dev lo in table main\n", vip.address.hostCidr().c_str());
    }
    if (!cfg->vips.empty() || !cfg->nat.enabled()) {  // as desiredFrom: a NAT-only server binds no VIP
        for (const auto& iface : cfg->arp.interfaces)
            out.say("  set net.ipv4.conf.%s.arp_ignore = %d, arp_announce = %d\n", iface.c_str(), cfg->arp.ignore,
                        cfg->arp.announce);
        out.say("  bring lo up if it is down\n");
    }
    if (const auto& n = cfg->nat; n.enabled()) {
        std::string ports;
        for (const auto& p : n.ports)
            ports += (ports.empty() ? "" : ", ") + p.name() +
                     (p.virtualPort != p.port ? " (the director's virtual port " + std::to_string(p.virtualPort) + ")" : "");
        for (const auto& d : n.directors)
            out.say("  send the replies from %s (this server's address on %s's subnet) via the director %s: a rule per port at "
                        "priority %u looking up table %u, which holds only that default route; the host's other traffic keeps its "
                        "own gateway\n",
                        ports.c_str(), d.str().c_str(), d.str().c_str(), n.priority, n.table);
    }
    if (const auto& c = cfg->colocated; c.enabled()) {
        std::string ports, peers;
        for (const auto& p : c.ports) ports += (ports.empty() ? "" : ", ") + p.name();
        for (const auto& p : c.peers) peers += (peers.empty() ? "" : ", ") + p.str();
        out.say("  keep nftables table inet lvs_rs_agent: fwmark %u on packets for the VIPs and %s whose Ethernet source is not "
                    "the peer directors' (%s); no rule while a peer's MAC is not known\n",
                    c.fwmark, ports.c_str(), peers.c_str());
    }
    if (const auto& t = cfg->tunnel; t.enabled()) {
        std::string ifaces, directors, encaps;
        for (const auto& i : t.interfaces) ifaces += (ifaces.empty() ? "" : ", ") + i;
        for (const auto& d : t.directors) directors += (directors.empty() ? "" : ", ") + d.str();
        if (t.ipip) encaps = "IPIP";
        if (t.gue) encaps += (encaps.empty() ? "" : " and ") + std::string("GUE to UDP port ") + std::to_string(t.guePort);
        out.say("  attach the tunnel decapsulation to %s (clsact: lvs_decap on ingress, lvs_mss on egress): %s from %s\n",
                    ifaces.c_str(), encaps.c_str(), directors.c_str());
        if (t.mss > 0) out.say("  lower the VIPs' SYN-ACK MSS to %d\n", t.mss);
        else out.say("  lower the VIPs' SYN-ACK MSS to fit the interfaces' MTU once encapsulated (%d at MTU 1500)\n", tunnelMss(t, 1500));
        // The kernel is asked whether it takes the program: loaded, then let go at once
        // (never attached, nothing changed), as start would load it.
        if (!o.offline)
            if (auto p = tunnel::TunnelProgram::load(); !p) {
                // Without CAP_BPF the kernel cannot be asked at all: that is not its refusal.
                if (p.error().find("Operation not permitted") != std::string::npos) {
                    out.problem("cannot ask this kernel whether it takes the tunnel decapsulation: loading a BPF program needs "
                                "CAP_BPF (root); run check as root, or check --offline for the file alone");
                    return out.finish(kUnknown, cfg->source);
                }
                out.problem("this kernel refuses the tunnel decapsulation: " + p.error());
                out.problem("the configuration is valid, but start would refuse it");
                return out.finish(kUsage, cfg->source);
            }
    }
    // What start would refuse on this host, check refuses too (the same words): an
    // interface that does not exist, a VIP on a real interface, ... --offline: the file alone.
    if (!o.offline && cfg->nat.enabled())
        if (const auto p = natKernelProblem()) {
            out.problem(*p);
            out.problem("the configuration is valid, but start would refuse it on this host");
            return out.finish(kUsage, cfg->source);
        }
    if (!o.offline) {
        const Desired desired = desiredFrom(*cfg);
        auto session = Session::open(o.stateDir);
        auto observed = session ? session->observe(desired, Owned{}) : std::unexpected(session.error());
        if (!observed) {
            out.problem("cannot look at this host (" + observed.error() + "); check --offline validates the file alone");
            return out.finish(kUnknown, cfg->source);
        }
        const Plan p = plan(desired, *observed, Owned{});
        if (p.hasConflicts()) {
            for (const auto& c : p.conflicts()) out.problem(describe(c));
            out.problem("the configuration is valid, but start would refuse it on this host (check --offline validates the file alone)");
            return out.finish(kUsage, cfg->source);
        }
        // The NAT reply path as it would be on this host (its address facing the director).
        for (const auto& a : p.actions)
            if (const auto* op = std::get_if<netcfg::NetOp>(&a); op && op->nat()) out.say("    %s\n", describe(a).c_str());
    }
    out.say("run would also:\n");
    out.say("  re-read the ARP settings every %d ms, look at the whole kernel state every %d s\n", cfg->checkIntervalMs,
                cfg->resyncSeconds);
    if (cfg->api.enabled) {
        const std::string host = cfg->api.host.find(':') != std::string::npos ? "[" + cfg->api.host + "]" : cfg->api.host;
        out.say("  serve the readiness API on %s:%d (GET /ready, /ready/<vip>, /status, /metrics)%s\n", host.c_str(), cfg->api.port,
                    cfg->api.token.empty() ? "; remote drain refused (no token_file)" : "; remote drain with the token");
        if (cfg->api.agentCheckPort > 0)
            out.say("  answer HAProxy's agent-check on %s:%d\n", host.c_str(), cfg->api.agentCheckPort);
    } else {
        out.say("  serve no HTTP API (no \"api\"): the control socket only\n");
    }
    for (const auto& s : cfg->services)
        out.say("  check %s every %d ms (timeout %d ms, rise %d, fall %d): %s\n", s.name().c_str(), s.intervalMs, s.timeoutMs, s.rise,
                    s.fall, checkWhat(s).c_str());
    if (drained > 0) out.say("  report %zu VIP(s) drained (\"drained\": true)\n", drained);
    out.say("  on SIGTERM: drain until no connection is left on the VIPs (at least %d s, at most %d s), then %s\n",
                cfg->drain.minSeconds, cfg->drain.maxSeconds, cfg->keepOnExit ? "leave everything in place (keep_on_exit)" : "undo everything");
    return out.finish(kOk, cfg->source);
}

}  // namespace agent
