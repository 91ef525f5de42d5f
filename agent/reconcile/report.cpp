#include "agent/reconcile/report.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace agent {
namespace {

std::string yesNo(bool ok) { return ok ? "ok" : "MISSING"; }

std::string valueOr(const std::optional<int>& v, const std::string& none) {
    return v ? std::to_string(*v) : none;
}

bool isBuiltinLoopback(const netcfg::IpAddress& ip) {
    const auto& b = ip.bytes;
    return ip.isV4() ? b[0] == 127 : std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; }) && b[15] == 1;
}

}  // namespace

VipReport reportVip(const netcfg::IpAddress& vip, const Desired& desired, const KernelView& kernel, const Owned& owned,
                    std::vector<Finding> findings) {
    const int lo = kernel.loIndex();
    if (const int len = desired.rangeLength(vip); len >= 0) {
        VipReport v{.vip = vip, .bound = kernel.hasLocalRoute(lo, vip, len), .addressOwned = false, .routeWanted = false,
                    .routePresent = false, .routeOwned = false, .findings = std::move(findings), .rangeLen = len};
        v.addressOwned = v.bound && kernel.hasOwnLocalRoute(lo, vip, len) && owned.localRoutes.contains({vip, len});
        return v;
    }
    VipReport v{.vip = vip, .bound = kernel.hasAddress(lo, vip), .addressOwned = false, .routeWanted = desired.hostRoutes,
                .routePresent = false, .routeOwned = false, .findings = std::move(findings)};
    v.addressOwned = v.bound && owned.addresses.contains(vip);
    for (const auto& rt : kernel.routesTo(vip)) {
        if (lo == 0 || rt.oif != lo) continue;
        v.routePresent = true;
        if (rt.protocol == netcfg::kRouteProtocol && owned.routes.contains(vip)) v.routeOwned = true;
    }
    return v;
}

std::vector<std::string> unmanagedOnLo(const Desired& desired, const KernelView& kernel) {
    std::vector<std::string> out;
    if (kernel.loIndex() == 0) return out;
    for (const auto& a : kernel.addressesOn(kernel.loIndex()))
        if (!desired.wanted.contains(a.address) && !isBuiltinLoopback(a.address))
            out.push_back(a.address.str() + "/" + std::to_string(a.prefixlen));
    return out;
}

ReadinessReport buildReport(const Desired& desired, const Observed& observed, const Owned& owned,
                            const std::vector<Finding>& findings) {
    ReadinessReport r;
    const auto& k = observed.kernel;
    r.loUp = k.loUp();
    r.findings = findings;
    std::map<netcfg::IpAddress, std::vector<Finding>> byVip;
    for (const auto& f : findings) {
        if (f.subject.kind == Subject::Kind::Vip) byVip[f.subject.vip].push_back(f);
        if (permissionDenied(f)) r.unknown = true;
    }
    for (const auto& vip : desired.vips) r.vips.push_back(reportVip(vip, desired, k, owned, std::move(byVip[vip])));

    for (const auto& [key, want] : desired.sysctls) {
        SysctlReport s;
        s.key = key;
        s.expected = want;
        if (auto o = owned.sysctlOriginals.find(key); o != owned.sysctlOriginals.end()) s.original = o->second;
        if (auto v = observed.sysctls.find(key); v != observed.sysctls.end()) s.kernel = v->second;
        if (auto e = observed.sysctlErrors.find(key); e != observed.sysctlErrors.end()) s.error = e->second.message;
        const sysctl::ConfKey allKey{.iface = "all", .name = key.name};
        auto all = observed.sysctls.find(allKey);
        if (s.kernel && key.iface != "all" && key.iface != "default" && all != observed.sysctls.end())
            s.effective = sysctl::effective(all->second, *s.kernel);
        s.ok = s.kernel && *s.kernel == want;
        r.sysctls.push_back(std::move(s));
    }

    r.unmanaged = unmanagedOnLo(desired, k);
    return r;
}

std::string renderText(const ReadinessReport& r, bool listUnmanaged) {
    std::ostringstream out;
    out << "lo: " << (r.loUp ? "up" : "DOWN") << "\n";
    for (const auto& v : r.vips) {
        out << (v.rangeLen < 0 ? "VIP " : "range ") << v.text() << ": " << (v.ok() ? "in place" : "NOT in place") << "\n";
        const std::string owner = v.bound ? (v.addressOwned ? " (added by the agent)" : " (was already there; left alone by stop)") : "";
        if (v.rangeLen >= 0)
            out << "  local route " << v.text() << " dev lo table local: " << yesNo(v.bound) << owner << "\n";
        else
            out << "  address " << v.vip.hostCidr() << " on lo: " << yesNo(v.bound) << owner << "\n";
        if (v.routeWanted)
            out << "  host route " << v.vip.hostCidr() << " dev lo: " << yesNo(v.routePresent)
                << (v.routePresent ? (v.routeOwned ? " (added by the agent)" : " (not the agent's; left alone by stop)") : "")
                << "\n";
        for (const auto& f : v.findings)
            if (isConflict(f.kind) || f.kind == FindingKind::CannotApply) out << "  problem: " << describe(f) << "\n";
    }
    out << "ARP settings:\n";
    for (const auto& s : r.sysctls) {
        out << "  " << sysctl::dotted(s.key) << ": expected " << s.expected << ", kernel " << valueOr(s.kernel, "?");
        if (s.effective) out << ", effective " << *s.effective;
        if (s.original) out << ", was " << *s.original << " before the agent";
        out << ": " << (s.ok ? "ok" : "WRONG") << (s.error.empty() ? "" : " (" + s.error + ")") << "\n";
    }
    if (listUnmanaged) {
        out << "addresses on lo not managed by the agent:" << (r.unmanaged.empty() ? " none" : "") << "\n";
        for (const auto& u : r.unmanaged) out << "  " << u << "\n";
    }
    if (r.unknown)
        out << "result: cannot tell (permission denied; run as root)\n";
    else if (r.inPlace())
        out << "result: everything in place\n";
    else
        out << "result: " << r.findings.size() << " problem" << (r.findings.size() == 1 ? "" : "s") << "\n";
    for (const auto& f : r.findings) out << "  - " << describe(f) << "\n";
    return out.str();
}

nlohmann::json toJson(const Finding& f) { return toJson(view(f)); }

namespace {
// "problems" (the sentences) and "findings" (typed) of a list.
std::pair<nlohmann::json, nlohmann::json> rendered(const std::vector<Finding>& list) {
    auto problems = nlohmann::json::array(), findings = nlohmann::json::array();
    for (const auto& f : list) {
        problems.push_back(describe(f));
        findings.push_back(toJson(f));
    }
    return {problems, findings};
}
}  // namespace

nlohmann::json toJson(const VipReport& v) {
    const auto [problems, findings] = rendered(v.findings);
    if (v.rangeLen >= 0)
        return {{"vip", v.text()},
                {"ok", v.ok()},
                {"range", true},
                {"local_route", {{"expected", v.text()}, {"table", "local"}, {"present", v.bound}, {"owned", v.addressOwned}}},
                {"problems", problems},
                {"findings", findings}};
    return {{"vip", v.vip.str()},
            {"ok", v.ok()},
            {"address", {{"expected", v.vip.hostCidr()}, {"present", v.bound}, {"owned", v.addressOwned}}},
            {"route", {{"wanted", v.routeWanted}, {"present", v.routePresent}, {"owned", v.routeOwned}}},
            {"problems", problems},
            {"findings", findings}};
}

nlohmann::json toJson(const ReadinessReport& r) {
    using nlohmann::json;
    const auto [problems, findings] = rendered(r.findings);
    json j{{"in_place", r.inPlace()}, {"unknown", r.unknown}, {"lo_up", r.loUp},
           {"problems", problems}, {"findings", findings}, {"vips", json::array()}, {"sysctls", json::array()},
           {"unmanaged", r.unmanaged}};
    for (const auto& v : r.vips) j["vips"].push_back(toJson(v));
    for (const auto& s : r.sysctls) {
        json e{{"key", sysctl::dotted(s.key)}, {"expected", s.expected}, {"ok", s.ok},
               {"kernel", s.kernel ? json(*s.kernel) : json(nullptr)},
               {"effective", s.effective ? json(*s.effective) : json(nullptr)},
               {"original", s.original ? json(*s.original) : json(nullptr)}};
        if (!s.error.empty()) e["error"] = s.error;
        j["sysctls"].push_back(e);
    }
    return j;
}

}  // namespace agent
