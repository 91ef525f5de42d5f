#pragma once
// Helpers shared by the parts of the configuration parser: problem collection, unknown
// key detection with a suggestion, bounded integers.
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "netcfg/ip_address.h"

namespace agent::config_parse {

// Collects problems with the file name in front; never stops at the first.
class Problems {
public:
    explicit Problems(std::string source) : source_(std::move(source)) {}
    // "SOURCE: FIELD: PROBLEM"; a field that already names the source ("--vip[0]" of
    // "--vip") is not prefixed with it again.
    void add(const std::string& field, const std::string& problem) {
        const bool named = field.rfind(source_, 0) == 0 && field.size() > source_.size() && field[source_.size()] == '[';
        list_.push_back((named ? "" : source_ + ": ") + field + ": " + problem);
    }
    bool empty() const { return list_.empty(); }
    const std::vector<std::string>& lines() const { return list_; }
    void throwIfAny() const;
    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::vector<std::string> list_;
};

std::string unknownKey(const std::string& key, const std::vector<std::string>& known);
// Reports every key of obj not in known as "PREFIX.KEY: unknown key ...".
void rejectUnknownKeys(const nlohmann::json& obj, const std::string& prefix, const std::vector<std::string>& known,
                       Problems& problems);
bool isWholeNumber(const nlohmann::json& v);
// "expected a whole number (WANT), got the string \"80\" (write 80, without quotes)": what a
// value that is not a whole number was, in words.
std::string notWholeNumber(const nlohmann::json& v, const std::string& want);
// A whole number's value, saturated to the range of long long (18446744073709551615 is
// "very large", never -1). Report the value itself with v.dump().
long long wholeNumber(const nlohmann::json& v);
// Parses JSON text and refuses a key that appears twice in one object (nlohmann::json
// would keep the last one without a word): each one a problem naming the field.
// Throws nlohmann::json::parse_error for text that is not JSON.
nlohmann::json parseStrictJson(const std::string& text, Problems& problems);
// obj[key] as an integer in [lo, hi], or `fallback` when absent; a problem otherwise.
int boundedInt(const nlohmann::json& obj, const std::string& key, const std::string& field, long long lo,
               long long hi, int fallback, Problems& problems);
std::string joinLines(const std::vector<std::string>& lines);

}  // namespace agent::config_parse

namespace agent {
namespace config_parse {
// The text as a JSON object; a fatal problem (empty, NUL, not JSON, not an object) throws
// ConfigError with it.
nlohmann::json readDocument(const std::string& text, Problems& problems);
// A "vips" list, in the main file or a drop-in: its usable VIPs (of `source`) and where
// each stood in the list; every problem named.
struct VipList {
    std::vector<Vip> vips;
    std::vector<std::size_t> positions;
};
VipList parseVipList(const nlohmann::json& list, const std::string& source, Problems& problems);
// The watch-mode keys: check_interval_ms, drain_seconds, keep_on_exit, api, services.
// vips: those a service may name (the main file's and the drop-ins').
void parseRuntime(const nlohmann::json& doc, Problems& problems, Config& cfg, const std::set<netcfg::IpAddress>& vips);
// "tunnel": {"interfaces": [...], "encap": [...], "directors": [...], "gue_port": N, "mss": N}
// into cfg.tunnel; the directors must not be VIPs of cfg.
void parseTunnel(const nlohmann::json& t, Problems& problems, Config& cfg);
// text as a director's address (no prefix, not loopback, multicast or unspecified) into
// out, or why not.
std::optional<std::string> directorProblem(const std::string& text, netcfg::IpAddress& out);
// "nat": {"director", "vips", "ports", "table", "priority"} into cfg.nat; its VIPs must not
// be cfg's DR VIPs, nor its table the announce table.
void parseNat(const nlohmann::json& n, Problems& problems, Config& cfg);
// One port: 80 (TCP), "tcp/80", "udp/53", or {"port": 8080, "virtual_port": 80, "protocol": "tcp"}.
std::optional<NatPort> parsePort(const nlohmann::json& v, const std::string& where, Problems& problems);
// "colocated": {"peer_directors", "fwmark", "ports"} into cfg.colocated (needs cfg.vips).
void parseColocated(const nlohmann::json& c, Problems& problems, Config& cfg);
// A "services" list, appended to cfg.services (each names one of vips; a service checked
// twice, here or before, is a problem).
void parseServices(const nlohmann::json& list, Problems& problems, Config& cfg, const std::set<netcfg::IpAddress>& vips);
inline const std::vector<std::string> kRuntimeKeys{"check_interval_ms", "drain", "drain_seconds", "resync_interval_seconds", "keep_on_exit", "api", "services", "director"};
}  // namespace config_parse
}  // namespace agent

