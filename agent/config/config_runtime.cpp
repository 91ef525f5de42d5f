// The watch-mode part of the configuration: timings, drains, the HTTP API (the service
// checks are config_services.cpp's).
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "agent/config/config.h"
#include "agent/config/config_parse.h"
#include "agent/base/text_file.h"

namespace agent {

namespace config_parse {
namespace {

using nlohmann::json;
constexpr std::size_t kMaxTokenFileBytes = 4096;
constexpr std::size_t kMinTokenLength = 32;

// The token in a file only its owner can read: one line of at least 32 printable
// characters. Anything else is refused with what to do about it.
std::expected<std::string, std::string> readToken(const std::string& path) {
    const std::string howTo = "; make one with: (umask 077; head -c 32 /dev/urandom | base64 > " + path + ")";
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return std::unexpected("cannot read " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return std::unexpected(path + " is " + (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                               "; it must be a file holding the token" + howTo);
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return std::unexpected(path + " has mode " + mode + ": group or others may read or change it, so any local user "
                               "could drain this node; run: chmod 600 " + path);
    }
    auto text = readLimited(path, {.maxBytes = kMaxTokenFileBytes, .deadline = std::chrono::seconds(2)});
    if (!text) return std::unexpected("cannot read " + path + ": " + text.error().message);
    std::string token = *text;
    if (token.ends_with("\n")) token.pop_back();
    if (token.ends_with("\r")) token.pop_back();
    if (firstNul(token)) return std::unexpected(path + " holds a NUL byte; a token is one line of text" + howTo);
    if (token.find_first_of("\r\n") != std::string::npos)
        return std::unexpected(path + " holds more than one line; a token is one line" + howTo);
    if (std::any_of(token.begin(), token.end(), [](char c) { return c <= ' ' || c == 0x7f; }))
        return std::unexpected(path + " holds a space or a control character; a token is printable ASCII without spaces" + howTo);
    if (token.size() < kMinTokenLength)
        return std::unexpected(path + " holds a token of " + std::to_string(token.size()) + " characters; at least " +
                               std::to_string(kMinTokenLength) + " are needed" + howTo);
    return token;
}

// "ADDR:PORT" or "[V6ADDR]:PORT".
std::expected<netcfg::HostPort, std::string> parseListen(const std::string& text) {
    using Part = netcfg::HostPortError::Part;
    const auto hp = netcfg::parseHostPort(text);
    if (!hp) {
        const auto& e = hp.error();
        return std::unexpected(e.part == Part::Shape ? quoteInput(text) + " must be ADDR:PORT or [IPV6]:PORT"
                               : e.part == Part::Address && e.text.empty()
                                   ? quoteInput(text) + " has no address: write \"0.0.0.0" + text + "\" (every IPv4 address), \"[::]" + text +
                                         "\" (every address) or one address such as \"127.0.0.1" + text + "\""
                               : e.part == Part::Address ? quoteInput(e.text) + " is not an IP address to listen on"
                                                         : "port " + quoteInput(e.text) + " must be 1-65535");
    }
    if (hp->port == 0) return std::unexpected("port \"0\" must be 1-65535 (port 0 would listen on a random port the director cannot know)");
    return *hp;
}

void parseApi(const json& api, Problems& problems, ApiSettings& out) {
    if (!api.is_object()) {
        problems.add("api", "must be an object such as {\"listen\": \"127.0.0.1:9100\"}");
        return;
    }
    rejectUnknownKeys(api, "api", {"listen", "token_file", "agent_check_port", "agent_check_weight", "agent_check_wait_ms"}, problems);
    if (!api.contains("listen")) {
        problems.add("api.listen", "missing: where the HTTP API listens, e.g. \"127.0.0.1:9100\"");
    } else if (!api["listen"].is_string()) {
        problems.add("api.listen", "must be a string such as \"127.0.0.1:9100\"");
    } else if (const auto listen = parseListen(api["listen"].get<std::string>()); !listen) {
        problems.add("api.listen", listen.error());
    } else {
        out.host = listen->address.str();
        out.port = listen->port;
        out.enabled = true;
    }
    if (api.contains("token_file")) {
        if (!api["token_file"].is_string() || api["token_file"].get<std::string>().empty()) {
            problems.add("api.token_file", "must be a file path");
        } else {
            out.tokenFile = api["token_file"].get<std::string>();
            if (auto token = readToken(out.tokenFile); token)
                out.token = *token;
            else
                problems.add("api.token_file", token.error());
        }
    }
    out.agentCheckPort = boundedInt(api, "agent_check_port", "api.agent_check_port", 1, 65535, 0, problems);
    out.agentCheckWeight = boundedInt(api, "agent_check_weight", "api.agent_check_weight", 0, 100, -1, problems);
    out.agentCheckWaitMs = boundedInt(api, "agent_check_wait_ms", "api.agent_check_wait_ms", 10, 5000, out.agentCheckWaitMs, problems);
}

// "drain": {"min_seconds": N, "max_seconds": M}, or the older "drain_seconds": M (the
// maximum; the minimum is then the default, never above it). Both: an error.
void parseDrain(const json& doc, Problems& problems, DrainSettings& out) {
    const bool old = doc.contains("drain_seconds");
    if (old && doc.contains("drain")) {
        problems.add("drain_seconds", "is the older spelling of drain.max_seconds; give \"drain\" or \"drain_seconds\", not both");
        return;
    }
    if (old) {
        out.maxSeconds = boundedInt(doc, "drain_seconds", "drain_seconds", 0, 3600, out.maxSeconds, problems);
        out.minSeconds = std::min(kDefaultDrainMinSeconds, out.maxSeconds);
        return;
    }
    if (!doc.contains("drain")) return;
    const json& d = doc["drain"];
    if (!d.is_object()) {
        problems.add("drain", "must be an object such as {\"min_seconds\": 5, \"max_seconds\": 60}");
        return;
    }
    rejectUnknownKeys(d, "drain", {"min_seconds", "max_seconds"}, problems);
    out.maxSeconds = boundedInt(d, "max_seconds", "drain.max_seconds", 0, 3600, out.maxSeconds, problems);
    out.minSeconds = boundedInt(d, "min_seconds", "drain.min_seconds", 0, 3600, std::min(kDefaultDrainMinSeconds, out.maxSeconds), problems);
    if (out.minSeconds > out.maxSeconds)
        problems.add("drain.min_seconds", std::to_string(out.minSeconds) + " is longer than drain.max_seconds " +
                                              std::to_string(out.maxSeconds) + (d.contains("max_seconds") ? "" : " (its default)"));
}

}  // namespace

void parseRuntime(const json& doc, Problems& problems, Config& cfg, const std::set<netcfg::IpAddress>& vips) {
    cfg.checkIntervalMs = boundedInt(doc, "check_interval_ms", "check_interval_ms", 10, 60000, cfg.checkIntervalMs, problems);
    parseDrain(doc, problems, cfg.drain);
    cfg.resyncSeconds = boundedInt(doc, "resync_interval_seconds", "resync_interval_seconds", 1, 86400, cfg.resyncSeconds, problems);
    if (doc.contains("keep_on_exit")) {
        if (!doc["keep_on_exit"].is_boolean())
            problems.add("keep_on_exit", "must be true or false");
        else
            cfg.keepOnExit = doc["keep_on_exit"].get<bool>();
    }
    if (doc.contains("api")) parseApi(doc["api"], problems, cfg.api);
    if (doc.contains("director")) {
        const auto ip = doc["director"].is_string() ? netcfg::IpAddress::parse(doc["director"].get<std::string>()) : std::nullopt;
        if (!ip)
            problems.add("director", "must be the director's IP address, e.g. \"198.51.100.50\"");
        else
            cfg.director = ip;
    }
    if (doc.contains("services")) parseServices(doc["services"], problems, cfg, vips);
}

}  // namespace config_parse
}  // namespace agent
