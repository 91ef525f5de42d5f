// The "services" list: each check's keys by type, validated strictly (every key known and
// meaningful for its type), and the host-side rules for exec commands and CA files.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "agent/base/text_file.h"
#include "agent/config/config.h"
#include "agent/config/config_parse.h"

namespace agent {

const char* typeName(ServiceCheck::Type t) {
    switch (t) {
        case ServiceCheck::Type::Tcp: return "tcp";
        case ServiceCheck::Type::Http: return "http";
        case ServiceCheck::Type::Https: return "https";
        case ServiceCheck::Type::Exec: return "exec";
        case ServiceCheck::Type::Dns: return "dns";
    }
    return "?";
}

std::string ServiceCheck::name() const {
    const std::string at = port > 0 ? netcfg::hostPort(vip, port) : netcfg::bracketed(vip);
    std::string n = std::string(typeName(type)) + " " + at;
    switch (type) {
        case Type::Tcp: break;
        case Type::Http:
        case Type::Https:
            n += path;
            if (host) n += " host " + *host;
            break;
        case Type::Exec:
            for (const auto& a : command) n += " " + a;
            break;
        case Type::Dns: n += " " + query + " " + qtype; break;
    }
    return n;
}

namespace config_parse {
namespace {

using nlohmann::json;
using Type = ServiceCheck::Type;

constexpr std::size_t kMaxStatuses = 32;
constexpr std::size_t kMaxBodyNeedle = 1024;
constexpr std::size_t kMaxArgs = 64;
constexpr std::size_t kMaxArgBytes = 4096;

const std::vector<std::string> kCommonKeys{"vip", "port", "type", "interval_ms", "timeout_ms", "rise", "fall"};
// The keys each type adds to the common ones.
const std::map<Type, std::vector<std::string>> kTypeKeys{
    {Type::Tcp, {}},
    {Type::Http, {"path", "host", "expect_status", "expect_body"}},
    {Type::Https, {"path", "host", "expect_status", "expect_body", "verify", "ca_file"}},
    {Type::Exec, {"command"}},
    {Type::Dns, {"query", "qtype"}},
};
const std::vector<std::string> kQtypes{"A", "AAAA", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "SRV", "CAA", "ANY"};

std::optional<Type> typeFrom(const std::string& t) {
    for (Type x : {Type::Tcp, Type::Http, Type::Https, Type::Exec, Type::Dns})
        if (t == typeName(x)) return x;
    return std::nullopt;
}

// A DNS name ("www.example.org", "_sip._udp.example.org.", "example.org"): labels of
// letters, digits, '-' and '_', 1-63 bytes each, 253 in all.
bool isDnsName(const std::string& s, bool underscores) {
    std::string n = s;
    if (n.ends_with(".")) n.pop_back();
    if (n.empty() || n.size() > 253) return false;
    std::size_t label = 0;
    for (char c : n) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || (underscores && c == '_'))) return false;
        if (++label > 63) return false;
    }
    return label > 0;
}

bool isString(const json& s, const char* key) { return s.contains(key) && s[key].is_string(); }

// A service names a VIP (of this file or another), or one address of a range (the address
// its check probes).
bool namesVip(const netcfg::IpAddress& ip, const std::set<netcfg::IpAddress>& vips, const Config& cfg) {
    return vips.contains(ip) || cfg.vipHolding(ip).has_value();
}

void parseHttp(const json& s, const std::string& where, Problems& problems, ServiceCheck& c) {
    if (s.contains("path")) {
        if (!s["path"].is_string() || s["path"].get<std::string>().empty() || s["path"].get<std::string>()[0] != '/' ||
            s["path"].get<std::string>().find_first_of(" \r\n\t") != std::string::npos)
            problems.add(where + ".path", "must be an absolute URL path such as \"/health\"");
        else
            c.path = s["path"].get<std::string>();
    }
    if (s.contains("host")) {
        if (!isString(s, "host") || !isDnsName(s["host"].get<std::string>(), false))
            problems.add(where + ".host", "must be a DNS name such as \"www.example.org\" (the Host header" +
                                              std::string(c.type == Type::Https ? " and the TLS server name)" : ")"));
        else
            c.host = s["host"].get<std::string>();
    }
    if (s.contains("expect_status")) {
        const json& e = s["expect_status"];
        const json list = e.is_array() ? e : json::array({e});
        std::vector<int> statuses;
        bool ok = !list.empty() && list.size() <= kMaxStatuses;
        for (const auto& v : list) {
            if (!isWholeNumber(v) || wholeNumber(v) < 100 || wholeNumber(v) > 599) ok = false;
            else statuses.push_back(static_cast<int>(wholeNumber(v)));
        }
        if (!ok)
            problems.add(where + ".expect_status", "must be an HTTP status (100-599) or a list of 1 to 32 of them, such as [200, 204]");
        else
            c.expectStatus = std::move(statuses);
    }
    if (s.contains("expect_body")) {
        if (!isString(s, "expect_body") || s["expect_body"].get<std::string>().empty() ||
            s["expect_body"].get<std::string>().size() > kMaxBodyNeedle)
            problems.add(where + ".expect_body", "must be a text of 1 to 1024 bytes to find in the response body");
        else
            c.expectBody = s["expect_body"].get<std::string>();
    }
    if (s.contains("verify")) {
        if (!s["verify"].is_boolean()) problems.add(where + ".verify", "must be true or false");
        else c.verify = s["verify"].get<bool>();
    }
    if (s.contains("ca_file")) {
        if (!isString(s, "ca_file") || s["ca_file"].get<std::string>().empty() || s["ca_file"].get<std::string>()[0] != '/')
            problems.add(where + ".ca_file", "must be an absolute path to a PEM file of CA certificates");
        else if (!c.verify)
            problems.add(where + ".ca_file", "is used only with \"verify\": true (without it no certificate is checked)");
        else
            c.caFile = s["ca_file"].get<std::string>();
    }
}

void parseExec(const json& s, const std::string& where, Problems& problems, ServiceCheck& c) {
    const std::string example = " such as [\"/usr/local/lib/lvs-checks/db-replication\", \"--max-lag\", \"5\"]";
    if (!s.contains("command")) {
        problems.add(where + ".command", "missing: the program to run and its arguments" + example);
        return;
    }
    const json& cmd = s["command"];
    if (!cmd.is_array() || cmd.empty() || cmd.size() > kMaxArgs) {
        problems.add(where + ".command", "must be a list of 1 to 64 strings, the program first" + example + " (no shell)");
        return;
    }
    std::vector<std::string> args;
    for (std::size_t i = 0; i < cmd.size(); ++i) {
        const std::string field = where + ".command[" + std::to_string(i) + "]";
        if (!cmd[i].is_string() || cmd[i].get<std::string>().size() > kMaxArgBytes || firstNul(cmd[i].get<std::string>())) {
            problems.add(field, "must be a string of at most 4096 bytes without NUL");
            return;
        }
        args.push_back(cmd[i].get<std::string>());
    }
    if (args[0].empty() || args[0][0] != '/') {
        problems.add(where + ".command[0]", quoteInput(args[0]) + " is not an absolute path; the program is run without a shell or PATH lookup");
        return;
    }
    c.command = std::move(args);
}

void parseDns(const json& s, const std::string& where, Problems& problems, ServiceCheck& c) {
    if (!s.contains("query"))
        problems.add(where + ".query", "missing: the name to ask for, such as \"example.org\"");
    else if (!isString(s, "query") || !isDnsName(s["query"].get<std::string>(), true))
        problems.add(where + ".query", "must be a DNS name such as \"example.org\"");
    else
        c.query = s["query"].get<std::string>();
    if (s.contains("qtype")) {
        std::string t = s["qtype"].is_string() ? s["qtype"].get<std::string>() : "";
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
        if (std::find(kQtypes.begin(), kQtypes.end(), t) == kQtypes.end())
            problems.add(where + ".qtype", "must be one of A, AAAA, NS, CNAME, SOA, PTR, MX, TXT, SRV, CAA, ANY");
        else
            c.qtype = t;
    }
}

void parseService(const json& s, const std::string& where, const std::set<netcfg::IpAddress>& vips, const Config& cfg,
                  Problems& problems, std::vector<ServiceCheck>& out) {
    if (!s.is_object()) {
        problems.add(where, "must be an object such as {\"vip\": \"198.51.100.188\", \"port\": 80}");
        return;
    }
    ServiceCheck c;
    const std::size_t before = problems.lines().size();
    if (s.contains("type")) {
        const auto t = typeFrom(s["type"].is_string() ? s["type"].get<std::string>() : "");
        if (!t) {
            problems.add(where + ".type", "must be \"tcp\", \"http\", \"https\", \"exec\" or \"dns\"");
            return;
        }
        c.type = *t;
    }
    // Every key known to some type (a typo gets its suggestion), then meaningful for this one.
    std::vector<std::string> all = kCommonKeys, mine = kCommonKeys;
    for (const auto& [t, keys] : kTypeKeys)
        for (const auto& k : keys)
            if (std::find(all.begin(), all.end(), k) == all.end()) all.push_back(k);
    const auto& own = kTypeKeys.at(c.type);
    mine.insert(mine.end(), own.begin(), own.end());
    rejectUnknownKeys(s, where, all, problems);
    for (const auto& [key, value] : s.items())
        if (std::find(all.begin(), all.end(), key) != all.end() && std::find(mine.begin(), mine.end(), key) == mine.end()) {
            std::string types;
            for (const auto& [t, keys] : kTypeKeys)
                if (std::find(keys.begin(), keys.end(), key) != keys.end()) types += (types.empty() ? "" : ", ") + std::string(typeName(t));
            problems.add(where + "." + key, std::string("does not apply to a ") + typeName(c.type) + " check (only to " + types + ")");
        }
    if (!s.contains("vip") || !s["vip"].is_string()) {
        problems.add(where + ".vip", "missing: the VIP whose service this checks");
    } else if (auto ip = netcfg::IpAddress::parse(s["vip"].get<std::string>()); !ip || !namesVip(*ip, vips, cfg)) {
        problems.add(where + ".vip", quoteInput(s["vip"].get<std::string>()) + " is not one of the configured vips");
    } else {
        c.vip = *ip;
    }
    // The port: the service's own (DR cannot rewrite ports); http, https and dns have the
    // usual one, an exec check may go without.
    const int defaultPort = c.type == Type::Http ? 80 : c.type == Type::Https ? 443 : c.type == Type::Dns ? 53 : 0;
    if (!s.contains("port") && c.type == Type::Tcp) problems.add(where + ".port", "missing: the service's port (DR cannot rewrite ports)");
    c.port = boundedInt(s, "port", where + ".port", 1, 65535, defaultPort, problems);
    switch (c.type) {
        case Type::Tcp: break;
        case Type::Http:
        case Type::Https: parseHttp(s, where, problems, c); break;
        case Type::Exec: parseExec(s, where, problems, c); break;
        case Type::Dns: parseDns(s, where, problems, c); break;
    }
    c.intervalMs = boundedInt(s, "interval_ms", where + ".interval_ms", 100, 3600000, c.intervalMs, problems);
    c.timeoutMs = boundedInt(s, "timeout_ms", where + ".timeout_ms", 10, 60000, c.timeoutMs, problems);
    c.rise = boundedInt(s, "rise", where + ".rise", 1, 100, c.rise, problems);
    c.fall = boundedInt(s, "fall", where + ".fall", 1, 100, c.fall, problems);
    // Unset, the timeout is the default or the interval, whichever is shorter: a short
    // interval alone is never refused for a timeout nobody wrote.
    if (!s.contains("timeout_ms")) c.timeoutMs = std::min(c.timeoutMs, c.intervalMs);
    if (c.timeoutMs > c.intervalMs)
        problems.add(where + ".timeout_ms", std::to_string(c.timeoutMs) + " is longer than interval_ms " + std::to_string(c.intervalMs) +
                                                ": a probe must end before the next one starts");
    if (problems.lines().size() == before) out.push_back(std::move(c));
}

// Why the directory or file at p may not run as the agent's check (keepalived's
// script_security): it must belong to root or to the agent's own user, and nobody else
// may change it.
std::optional<std::string> unsafe(const std::string& p, uid_t self) {
    struct stat st{};
    if (::stat(p.c_str(), &st) != 0) return "cannot look at " + p + ": " + std::strerror(errno);
    if (st.st_uid != 0 && st.st_uid != self)
        return p + " belongs to uid " + std::to_string(st.st_uid) + ", not to root or to the agent's user (uid " + std::to_string(self) + ")";
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return p + " is writable by its " + std::string((st.st_mode & S_IWOTH) ? "others" : "group") +
               ", who could change what the agent runs (chmod go-w " + p + ")";
    return std::nullopt;
}

std::optional<std::string> commandProblem(const std::string& program, uid_t self) {
    std::error_code ec;
    const auto real = std::filesystem::canonical(program, ec);
    if (ec) return "cannot run " + program + ": " + ec.message();
    struct stat st{};
    if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return program + " is not a regular file";
    if ((st.st_mode & 0111) == 0) return program + " is not executable (chmod +x " + program + ")";
    // The file and every directory above it, as written (symbolic links on the way) and as resolved.
    for (const auto& path : {std::filesystem::path(program).lexically_normal(), real}) {
        for (auto p = path; ; p = p.parent_path()) {
            if (auto why = unsafe(p.string(), self)) return why;
            if (p == p.root_path() || p.empty()) break;
        }
    }
    return std::nullopt;
}

}  // namespace

void parseServices(const json& list, Problems& problems, Config& cfg, const std::set<netcfg::IpAddress>& vips) {
    if (!list.is_array()) {
        problems.add("services", "must be a list of service checks");
        return;
    }
    const std::size_t before = cfg.services.size();
    for (std::size_t i = 0; i < list.size(); ++i)
        parseService(list[i], "services[" + std::to_string(i) + "]", vips, cfg, problems, cfg.services);
    for (std::size_t i = before; i < cfg.services.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (cfg.services[i].name() == cfg.services[j].name())
                problems.add("services", cfg.services[i].name() + " is checked twice");
}

}  // namespace config_parse

std::vector<std::string> serviceHostProblems(const Config& cfg, unsigned self) {
    std::vector<std::string> out;
    for (const auto& c : cfg.services) {
        if (c.type == ServiceCheck::Type::Exec)
            if (auto why = config_parse::commandProblem(c.command.at(0), self)) out.push_back("services: " + c.name() + ": " + *why);
        if (c.caFile && ::access(c.caFile->c_str(), R_OK) != 0)
            out.push_back("services: " + c.name() + ": ca_file: cannot read " + *c.caFile + ": " + std::strerror(errno));
    }
    return out;
}

}  // namespace agent
