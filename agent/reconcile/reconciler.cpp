#include "agent/reconcile/reconciler.h"

#include <algorithm>

namespace agent {
namespace {

using netcfg::NetOp;
using K = NetOp::Kind;

constexpr auto kFirstRetry = std::chrono::seconds(1);
constexpr auto kMaxRetry = std::chrono::seconds(30);

std::map<Subject, std::vector<Finding>> bySubject(const std::vector<Finding>& findings) {
    std::map<Subject, std::vector<Finding>> out;
    for (const auto& f : findings) out[f.subject].push_back(f);
    return out;
}

}  // namespace

std::string settingOf(const Action& a) {
    if (const auto* s = std::get_if<SetSysctl>(&a)) return sysctl::dotted(s->key);
    if (const auto* t = std::get_if<TunnelOp>(&a)) return t->iface.empty() ? "tunnel program" : "tunnel " + t->iface;
    if (std::holds_alternative<MarksOp>(a)) return "two-box marks";
    const auto& op = std::get<NetOp>(a);
    switch (op.kind) {
        case K::AddAddress:
        case K::DeleteAddress: return "address " + op.address.hostCidr();
        case K::AddRoute:
        case K::DeleteRoute:
            return op.announce() ? "announce " + op.cidr() + " table " + std::to_string(op.table)
                                 : "route " + op.address.hostCidr();
        case K::AddLocalRoute:
        case K::DeleteLocalRoute: return "local route " + op.cidr();
        case K::LinkUp:
        case K::LinkDown: return "link " + op.ifname;
        case K::AddRule:
        case K::DeleteRule: return "nat rule " + netcfg::describe(op.rule);
        case K::AddGatewayRoute:
        case K::DeleteGatewayRoute: return "nat route via " + op.gateway.str() + " table " + std::to_string(op.table);
    }
    return "?";
}

std::string kindOf(const Action& a) {
    if (std::holds_alternative<SetSysctl>(a)) return "sysctl";
    if (std::holds_alternative<TunnelOp>(a)) return "tunnel";
    if (std::holds_alternative<MarksOp>(a)) return "marks";
    switch (std::get<NetOp>(a).kind) {
        case K::AddAddress:
        case K::DeleteAddress: return "address";
        case K::AddRoute:
        case K::DeleteRoute: return std::get<NetOp>(a).announce() ? "announce" : "route";
        case K::AddLocalRoute:
        case K::DeleteLocalRoute: return "local_route";
        case K::LinkUp:
        case K::LinkDown: return "link";
        case K::AddRule:
        case K::DeleteRule: return "nat_rule";
        case K::AddGatewayRoute:
        case K::DeleteGatewayRoute: return "nat_route";
    }
    return "?";
}

Reconciler::Reconciler(netcfg::Netlink& netlink, const sysctl::SysctlTree& sysctls, const StateFile& stateFile, Owned owned,
                       Desired desired, tunnel::TunnelDriver* tunnel)
    : netlink_(netlink), tunnel_(tunnel), sysctls_(sysctls), reader_(sysctls), stateFile_(stateFile), owned_(std::move(owned)),
      desired_(std::move(desired)) {}

void Reconciler::setDesired(Desired d) {
    // A reload does not know readiness: what is announced stays what the daemon said last
    // (the VIPs the new configuration drops or opts out go, being no longer announceable).
    if (d.holdAnnounced && !desired_.holdAnnounced) {
        d.holdAnnounced = false;
        d.announced = desired_.announced;
    }
    desired_ = std::move(d);
    // Settings that are now wanted are read before they are planned.
    for (const auto& k : sysctlKeys(desired_, owned_)) readSysctl(sysctls_, k, observed_);
    // So is the tunnel (its program loaded, when the reload brings one).
    observed_.tunnel = observeTunnel(tunnel_, observed_.kernel, desired_, owned_);
    markAll();
}

void Reconciler::markAll() {
    dirty_.merge(allSubjects(desired_, owned_));
    // Items no longer of interest lose their findings.
    for (auto it = findings_.begin(); it != findings_.end();)
        it = dirty_.contains(it->first) ? std::next(it) : findings_.erase(it);
}

void Reconciler::markVip(const netcfg::IpAddress& ip) {
    const auto local = owned_.localRoutes.lower_bound({ip, -1});
    if (desired_.wanted.contains(ip) || owned_.addresses.contains(ip) || owned_.routes.contains(ip) ||
        (local != owned_.localRoutes.end() && local->first == ip))
        dirty_.insert(Subject::address(ip));
}

void Reconciler::markNat(int family) {
    if (desired_.holdNat) return;
    bool mine = desired_.nat && desired_.nat->director(family);
    for (const auto& r : owned_.natRules) mine = mine || r.src.family == family;
    for (const auto& g : owned_.natRoutes) mine = mine || g.gateway.family == family;
    if (mine) dirty_.insert(Subject::nat(family));
}

void Reconciler::markAnnounce(const netcfg::IpAddress& ip) {
    if ((desired_.announceTable != 0 && desired_.wanted.contains(ip)) || owned_.announced.contains(ip))
        dirty_.insert(Subject::announce(ip));
}

void Reconciler::setAnnounced(std::set<netcfg::IpAddress> vips) {
    const bool wasHeld = desired_.holdAnnounced;
    desired_.holdAnnounced = false;
    std::set<netcfg::IpAddress> changed;
    std::set_symmetric_difference(vips.begin(), vips.end(), desired_.announced.begin(), desired_.announced.end(),
                                  std::inserter(changed, changed.end()));
    desired_.announced = std::move(vips);
    if (wasHeld) {  // the first word on readiness: every announce item is planned
        for (const auto& [vip, a] : owned_.announced) changed.insert(vip);
        changed.insert(desired_.announced.begin(), desired_.announced.end());
    }
    for (const auto& vip : changed) {
        markAnnounce(vip);
        following_.insert(Subject::announce(vip));
    }
}

std::expected<Plan, std::string> Reconciler::lookAndPlan() {
    auto observed = observe(netlink_, sysctls_, desired_, owned_, tunnel_, true, marks_);
    if (!observed) return std::unexpected(observed.error());
    observed_ = std::move(*observed);
    Plan p = plan(desired_, observed_, owned_);
    findings_ = bySubject(p.findings);
    return p;
}

Reconciler::PassResult Reconciler::converge(const LogLine& log, Verify verify) {
    PassResult result;
    auto failed = [&](std::string why) {
        result.outcome = PassResult::Outcome::Failed;
        result.error = std::move(why);
        return result;
    };
    auto planned = lookAndPlan();
    if (!planned) return failed("reading the kernel state: " + planned.error());
    const Plan& p = *planned;
    if (p.hasConflicts()) {
        result.outcome = PassResult::Outcome::Refused;
        result.conflicts = p.conflicts();
        return result;
    }
    if (auto applied = executor(log).transact(p, owned_); !applied)
        return failed(applied.error() + "; what this run changed was rolled back");
    result.changes = static_cast<int>(p.actions.size());
    dirty_.clear();
    resyncDue_ = false;
    if (verify == Verify::Acks) {
        for (const auto& a : p.actions) confirm(a);
        findings_ = bySubject(plan(desired_, observed_, owned_).findings);
        return result;
    }
    auto again = lookAndPlan();
    if (!again) return failed("verifying: " + again.error());
    const Plan& check = *again;
    if (!check.empty()) {
        std::vector<std::string> left;
        for (const auto& a : check.actions) left.push_back(describe(a));
        for (const auto& c : check.conflicts()) left.push_back(describe(c));
        result.outcome = PassResult::Outcome::Failed;
        result.error = "verification failed: the kernel still needs: " + summarise(left, left.size(), 10);
        result.drifted = true;
    }
    return result;
}

std::expected<void, std::string> Reconciler::resync() {
    auto kernel = netlink_.dump(tablesFor(desired_, owned_));
    if (!kernel) return std::unexpected("reading the kernel state: " + kernel.error().message);
    observed_.kernel = KernelView(*kernel);
    observed_.sysctls.clear();
    observed_.sysctlErrors.clear();
    for (const auto& k : sysctlKeys(desired_, owned_)) readSysctl(sysctls_, k, observed_);
    markAll();
    resyncDue_ = false;
    return {};
}

void Reconciler::onChanges(const std::vector<netcfg::Change>& changes) {
    using CK = netcfg::Change::Kind;
    auto& k = observed_.kernel;
    for (const auto& c : changes) {
        switch (c.kind) {
            case CK::AddressAdded:
            case CK::AddressRemoved:
                if (!k.apply(c)) break;
                markVip(c.address.address);
                markNat(c.address.address.family);  // this server's address facing the director may have changed
                for (const auto& [net, len] : desired_.ranges)  // an address inside a range: the range's conflict
                    if (net.covers(len, c.address.address)) markVip(net);
                break;
            case CK::RouteAdded:
            case CK::RouteRemoved:
                if (!k.apply(c)) break;
                if (c.route.table == netcfg::kMainTable || c.route.table == netcfg::kLocalTable)
                    markVip(c.route.dst);
                else
                    markAnnounce(c.route.dst);
                break;
            case CK::RuleAdded:
            case CK::RuleRemoved:
                if (k.apply(c)) markNat(c.rule.src.family);
                break;
            case CK::GatewayRouteAdded:
            case CK::GatewayRouteRemoved:
                if (k.apply(c)) markNat(c.gatewayRoute.gateway.family);
                break;
            case CK::LinkChanged:
            case CK::LinkRemoved: {
                // A link going down takes its routes (the NAT table's too) without a word
                // for each: with a NAT reply path, a full look follows.
                if (desired_.nat || !owned_.natRoutes.empty()) resyncDue_ = true;
                const bool wasLo = c.link.ifindex == k.loIndex();
                if (!k.apply(c)) break;
                // The kernel flushes the routes of a link going down without announcing
                // each: a change of lo is followed by a full look.
                if (wasLo || c.link.loopback) {
                    resyncDue_ = true;
                    dirty_.insert(Subject::loopback());
                }
                // An interface named in arp.interfaces may have come or gone: only the
                // settings whose value changed are planned.
                checkSysctls();
                // A tunnel interface come, gone or renamed: its hooks are asked again.
                if (tunnelInterfaces(desired_, owned_).contains(c.link.name)) checkTunnel();
                break;
            }
        }
    }
}

Plan Reconciler::preview(const Desired& d) const {
    Observed o = observed_;
    for (const auto& key : sysctlKeys(d, owned_))
        if (!o.sysctls.contains(key) && !o.sysctlErrors.contains(key)) readSysctl(sysctls_, key, o);
    return plan(d, o, owned_);
}

std::vector<Finding> Reconciler::newConflicts(const Plan& p) const {
    std::vector<Finding> out;
    for (const auto& f : p.conflicts()) {
        const auto it = findings_.find(f.subject);
        const bool known = it != findings_.end() && std::find(it->second.begin(), it->second.end(), f) != it->second.end();
        if (!known) out.push_back(f);
    }
    return out;
}

void Reconciler::checkSysctls() {
    // The keys change only with the configuration or with ownership (a restore): on an idle
    // tick they are the ones of the last, and no set is built.
    if (!sameSysctlKeys(readerKeys_, desired_, owned_)) {  // close the rest
        readerKeys_ = sysctlKeys(desired_, owned_);
        reader_.keepOnly({readerKeys_.begin(), readerKeys_.end()});
    }
    for (const auto& key : readerKeys_)
        if (recordSysctl(key, reader_.read(key), observed_)) dirty_.insert(Subject::setting(key));
}

void Reconciler::checkNatPaths() {
    auto now = lookupNatPaths(netlink_, observed_.kernel, desired_);
    if (now == observed_.natPaths) return;
    if (desired_.nat)
        for (const auto& d : desired_.nat->directors) dirty_.insert(Subject::nat(d.family));
    observed_.natPaths = std::move(now);
}

void Reconciler::checkMarks() {
    if (desired_.holdMarks || (!desired_.colocated && !owned_.markTable)) return;
    auto now = observeMarks(netlink_, marks_, observed_.kernel, desired_, owned_);
    if (now == observed_.marks) return;
    observed_.marks = std::move(now);
    dirty_.insert(Subject::marks());
}

void Reconciler::checkTunnel() {
    const auto ifaces = tunnelInterfaces(desired_, owned_);
    if (ifaces.empty() || desired_.holdTunnel) return;
    auto& t = observed_.tunnel;
    if (!t.refused.empty() || !tunnel_) return;  // asked again by the next full look
    // The hooks only: the maps change only through the agent (a full look reads them).
    for (const auto& name : ifaces) {
        const auto* l = observed_.kernel.linkNamed(name);
        auto now = l ? tunnel_->hook(l->ifindex) : std::unexpected(std::string("gone"));
        const auto it = t.hooks.find(name);
        if (!now) {
            if (it == t.hooks.end()) continue;
            t.hooks.erase(it);
        } else if (it == t.hooks.end()) {
            t.hooks.emplace(name, *now);
        } else if (it->second != *now) {
            it->second = *now;
        } else {
            continue;
        }
        dirty_.insert(Subject::tunnel(name));
    }
}

Reconciler::Clock::time_point Reconciler::allowedAt(const Subject& s) const {
    auto at = damper_.nextAllowed(s);
    if (auto r = retries_.find(s); r != retries_.end()) at = std::max(at, r->second.at);
    return at;
}

std::optional<Reconciler::Clock::time_point> Reconciler::nextRepairAt() const {
    std::optional<Clock::time_point> next;
    for (const auto& s : dirty_) {
        const auto at = allowedAt(s);
        if (!next || at < *next) next = at;
    }
    return next;
}

void Reconciler::confirm(const Action& a) {
    if (std::holds_alternative<MarksOp>(a)) {
        // Read back: the table as nftables holds it now. Only the table: a peer's MAC that
        // arrived meanwhile is news for checkMarks, which plans the item again.
        readMarkTable(marks_, observed_.marks);
        return;
    }
    if (const auto* s = std::get_if<SetSysctl>(&a)) {
        observed_.sysctls[s->key] = s->to;
        observed_.sysctlErrors.erase(s->key);
        return;
    }
    if (const auto* t = std::get_if<TunnelOp>(&a)) {
        auto& o = observed_.tunnel;
        switch (t->kind) {
            case TunnelOp::Kind::Sync: o.maps = t->maps; break;
            case TunnelOp::Kind::Clsact: o.hooks[t->iface].clsact = true; break;
            case TunnelOp::Kind::Attach:
                o.hooks[t->iface] = {.clsact = true, .ingress = true, .egress = true};
                break;
            case TunnelOp::Kind::Detach: o.hooks[t->iface] = {}; break;
        }
        return;
    }
    auto& k = observed_.kernel;
    const auto& op = std::get<NetOp>(a);
    const netcfg::InterfaceAddress address{.ifindex = op.ifindex, .address = op.address, .prefixlen = op.address.hostPrefix()};
    const netcfg::HostRoute route = netcfg::routeOf(op);
    switch (op.kind) {
        case K::AddAddress: k.add(address); break;
        case K::DeleteAddress: k.remove(address); break;
        case K::AddRoute:
        case K::AddLocalRoute: k.add(route); break;
        case K::DeleteRoute:
        case K::DeleteLocalRoute: k.remove(route); break;
        case K::AddRule: k.add(op.rule); break;
        case K::DeleteRule: k.remove(op.rule); break;
        case K::AddGatewayRoute: k.add(op.gatewayRoute()); break;
        case K::DeleteGatewayRoute: k.remove(op.gatewayRoute()); break;
        case K::LinkUp:
        case K::LinkDown:
            if (const auto* l = k.link(op.ifindex)) {
                netcfg::Link up = *l;
                up.up = op.kind == K::LinkUp;
                k.setLink(up);
            }
            break;
    }
}

Reconciler::Repaired Reconciler::repair(Clock::time_point now, bool countAsRepairs) {
    Repaired out;
    std::set<Subject> ready;
    for (auto it = dirty_.begin(); it != dirty_.end();) {
        if (allowedAt(*it) <= now) {
            ready.insert(*it);
            it = dirty_.erase(it);
        } else {
            ++it;
        }
    }
    if (ready.empty()) return out;

    const Plan p = plan(desired_, observed_, owned_, &ready);
    const auto results = executor(log_).applyEach(p.actions, owned_);
    std::map<Subject, std::vector<Finding>> failures;
    std::vector<FlapDamper::Repair> repairs;
    for (std::size_t k = 0; k < p.actions.size(); ++k) {
        const Action& a = p.actions[k];
        const Subject s = subjectOf(a);
        if (k < results.size() && results[k]) {
            confirm(a);
            if (following_.contains(s)) {  // announced or withdrawn as readiness changed: not drift
                out.followed.push_back(a);
                continue;
            }
            out.changed.push_back(a);
            // A NAT family's rules are one item but each its own setting: a fight over one
            // rule is damped, another rule deleted once is not.
            const auto* op = std::get_if<NetOp>(&a);
            if (countAsRepairs)
                repairs.push_back({.item = s, .aspect = op && op->nat() ? settingOf(a) : kindOf(a), .label = settingOf(a)});
            continue;
        }
        const ActionError e = k < results.size() ? results[k].error() : ActionError{.err = 0, .message = "not attempted"};
        out.failed.emplace_back(a, e);
        failures[s].push_back({.subject = s, .kind = FindingKind::CannotApply, .err = e.err, .detail = e.message});
    }
    if (applyForget(owned_, p.forget))
        if (auto saved = stateFile_.save(owned_); !saved && log_) log_("cannot write the state file: " + saved.error());

    // What the items look like now, from the mirror the acks updated: their findings.
    Plan after = plan(desired_, observed_, owned_, &ready);
    auto now_ = bySubject(after.findings);
    for (auto& [s, f] : failures) now_[s].insert(now_[s].end(), f.begin(), f.end());
    for (const auto& s : ready) {
        auto fresh = now_.find(s);
        auto old = findings_.find(s);
        const bool hadAny = old != findings_.end();
        const bool hasAny = fresh != now_.end() && !fresh->second.empty();
        if (!hadAny && !hasAny) continue;
        if (hadAny && hasAny && old->second == fresh->second) continue;
        out.findingsChanged.insert(s);
        if (hasAny)
            findings_[s] = std::move(fresh->second);
        else
            findings_.erase(old);
    }
    // An item that still needs a change (a failure, or a race with another writer) is
    // tried again after its own backoff; the others are done.
    std::set<Subject> again;
    for (const auto& a : after.actions) again.insert(subjectOf(a));
    for (const auto& s : ready) {
        if (!again.contains(s)) {
            retries_.erase(s);
            continue;
        }
        Retry& r = retries_[s];
        ++r.failures;
        r.at = now + doublingBackoff(kFirstRetry, r.failures, kMaxRetry);
        dirty_.insert(s);
    }
    // Whatever followed readiness was decided by this plan: later changes are drift again.
    for (const auto& s : ready) following_.erase(s);
    if (!repairs.empty()) out.fightLine = damper_.recordRepairs(repairs, now);
    return out;
}

std::vector<Finding> Reconciler::allFindings() const {
    std::vector<Finding> out;
    for (const auto& [s, f] : findings_) out.insert(out.end(), f.begin(), f.end());
    return out;
}

}  // namespace agent
