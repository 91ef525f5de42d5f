#pragma once
// A finding as every layer may hold it once the planner has made it: what it is about, its
// kind and its sentence, with the values it carries. The planner's Finding
// (agent/reconcile/finding.h) is the source; this is its form in the published snapshot
// and in every JSON document (/status, `status --json`), rendered by toJson here only.
// No layer parses it back from text.
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

namespace agent {

struct FindingView {
    std::string subject{};    // "198.51.100.1", "lo", "net.ipv4.conf.all.arp_ignore"
    std::string kind{};       // "address_missing", as name(FindingKind)
    std::string message{};    // the sentence an operator acts on, as describe(Finding)
    std::string interface{};  // on_real_interface, route_via_other_device: the other device
    std::optional<int> expected{}, actual{};  // wrong_value
    int err = 0;              // errno when known
    bool permissionDenied = false;  // an ARP setting unreadable for want of permission: the verdict is unknown

    bool operator==(const FindingView&) const = default;
};

// {"subject", "kind", "message", and "interface", "expected"/"actual", "errno" when set}
inline nlohmann::json toJson(const FindingView& f) {
    nlohmann::json j{{"subject", f.subject}, {"kind", f.kind}, {"message", f.message}};
    if (!f.interface.empty()) j["interface"] = f.interface;
    if (f.expected) j["expected"] = *f.expected;
    if (f.actual) j["actual"] = *f.actual;
    if (f.err != 0) j["errno"] = f.err;
    return j;
}

}  // namespace agent
