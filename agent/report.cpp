#include "agent/report.h"

#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>

namespace agent {
namespace {

std::string yesNo(bool ok) { return ok ? "ok" : "MISSING"; }

std::string valueOr(const std::optional<int>& v, const std::string& none) {
    return v ? std::to_string(*v) : none;
}

}  // namespace

ReadinessReport buildReport(const Desired& desired, const Observed& observed, const Owned& owned) {
    ReadinessReport r;
    const int lo = observed.loIndex;
    const KernelIndex index(observed.kernel);
    r.loUp = observed.loUp;
    if (lo == 0) r.problems.push_back("no loopback interface");
    else if (!observed.loUp && !desired.vips.empty()) r.problems.push_back("lo is down");

    for (const auto& vip : desired.vips) {
        VipReport v;
        v.vip = vip;
        v.routeWanted = desired.hostRoutes;
        for (const auto& a : index.addressesOf(vip)) {
            if (a.ifindex == lo && a.prefixlen == vip.hostPrefix()) v.bound = true;
            if (a.ifindex != lo)
                v.problems.push_back(vip.str() + " is also bound on " + observed.linkName(a.ifindex) +
                                     ", which answers ARP for it");
        }
        v.addressOwned = v.bound && owned.addresses.contains(vip);
        for (const auto& rt : index.routesTo(vip)) {
            if (rt.oif != lo) continue;
            v.routePresent = true;
            if (rt.protocol == netcfg::kRouteProtocol && owned.routes.contains(vip)) v.routeOwned = true;
        }
        if (!v.bound) v.problems.insert(v.problems.begin(), vip.hostCidr() + " is not bound on lo");
        if (v.routeWanted && !v.routePresent)
            v.problems.push_back("host route " + vip.hostCidr() + " dev lo is missing from table main");
        r.problems.insert(r.problems.end(), v.problems.begin(), v.problems.end());
        r.vips.push_back(std::move(v));
    }

    for (const auto& [key, want] : desired.sysctls) {
        SysctlReport s;
        s.key = key;
        s.expected = want;
        if (auto o = owned.sysctlOriginals.find(key); o != owned.sysctlOriginals.end()) s.original = o->second;
        if (auto v = observed.sysctls.find(key); v != observed.sysctls.end()) s.kernel = v->second;
        if (auto e = observed.sysctlErrors.find(key); e != observed.sysctlErrors.end()) {
            s.error = e->second.message;
            if (e->second.err == EACCES || e->second.err == EPERM) r.unknown = true;
        }
        const sysctl::ConfKey allKey{.iface = "all", .name = key.name};
        auto all = observed.sysctls.find(allKey);
        if (s.kernel && key.iface != "all" && key.iface != "default" && all != observed.sysctls.end())
            s.effective = sysctl::effective(all->second, *s.kernel);
        s.ok = s.kernel && *s.kernel == want;
        if (!s.ok)
            r.problems.push_back(sysctl::dotted(key) + " is " + valueOr(s.kernel, "unreadable") +
                                 ", expected " + std::to_string(want) + (s.error.empty() ? "" : " (" + s.error + ")"));
        else if (s.effective && *s.effective < want)
            r.problems.push_back(sysctl::dotted(key) + " is effectively " + std::to_string(*s.effective));
        r.sysctls.push_back(std::move(s));
    }

    const std::set<netcfg::IpAddress> wanted(desired.vips.begin(), desired.vips.end());
    for (const auto& a : observed.kernel.addresses) {
        if (a.ifindex != lo || wanted.contains(a.address)) continue;
        const auto& b = a.address.bytes;
        const bool builtin = a.address.isV4() ? b[0] == 127
                                              : std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; }) && b[15] == 1;
        if (!builtin) r.unmanaged.push_back(a.address.str() + "/" + std::to_string(a.prefixlen));
    }
    return r;
}

std::string renderText(const ReadinessReport& r, bool listUnmanaged) {
    std::ostringstream out;
    out << "lo: " << (r.loUp ? "up" : "DOWN") << "\n";
    for (const auto& v : r.vips) {
        out << "VIP " << v.vip.str() << ": " << (v.ok() ? "in place" : "NOT in place") << "\n";
        out << "  address " << v.vip.hostCidr() << " on lo: " << yesNo(v.bound)
            << (v.bound ? (v.addressOwned ? " (added by the agent)" : " (was already there; left alone by stop)") : "") << "\n";
        if (v.routeWanted)
            out << "  host route " << v.vip.hostCidr() << " dev lo: " << yesNo(v.routePresent)
                << (v.routePresent ? (v.routeOwned ? " (added by the agent)" : " (not the agent's; left alone by stop)") : "")
                << "\n";
        for (const auto& p : v.problems)
            if (p.find("also bound") != std::string::npos) out << "  problem: " << p << "\n";
    }
    out << "ARP settings:\n";
    for (const auto& s : r.sysctls) {
        out << "  " << sysctl::dotted(s.key) << ": expected " << s.expected << ", kernel "
            << valueOr(s.kernel, "?") ;
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
        out << "result: " << r.problems.size() << " problem" << (r.problems.size() == 1 ? "" : "s") << "\n";
    for (const auto& p : r.problems) out << "  - " << p << "\n";
    return out.str();
}

nlohmann::json toJson(const ReadinessReport& r) {
    using nlohmann::json;
    json j{{"in_place", r.inPlace()}, {"unknown", r.unknown}, {"lo_up", r.loUp},
           {"problems", r.problems}, {"vips", json::array()}, {"sysctls", json::array()},
           {"unmanaged", r.unmanaged}};
    for (const auto& v : r.vips)
        j["vips"].push_back({{"vip", v.vip.str()},
                             {"ok", v.ok()},
                             {"address", {{"expected", v.vip.hostCidr()}, {"present", v.bound}, {"owned", v.addressOwned}}},
                             {"route", {{"wanted", v.routeWanted}, {"present", v.routePresent}, {"owned", v.routeOwned}}},
                             {"problems", v.problems}});
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
