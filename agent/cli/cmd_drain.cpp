#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/base/clock.h"
#include "agent/base/log.h"
#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "api/control_socket.h"

namespace agent {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One command to the running daemon; its reply printed ("ok ...") or logged ("error
// ..."): exit 0, or 1. A reload the daemon rejected for its configuration exits 2, like
// every configuration error; one it did not answer in time, 1.
int control(const Options& o, const std::string& command, int timeoutSeconds) {
    auto reply = api::controlRequest(std::filesystem::path(o.stateDir) / "control.sock", command, timeoutSeconds);
    if (!reply) {
        logError(reply.error());
        return kFailed;
    }
    if (reply->rfind("ok ", 0) != 0) {
        logError(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
        return command == "reload" && reply->find("reload rejected") != std::string::npos ? kUsage : kFailed;
    }
    std::printf("%s\n", reply->substr(3).c_str());
    return kOk;
}

// "ok {JSON}" from the daemon, or why not.
std::expected<json, std::string> ask(const Options& o, const std::string& command) {
    auto reply = api::controlRequest(std::filesystem::path(o.stateDir) / "control.sock", command, 5);
    if (!reply) return std::unexpected(reply.error());
    if (reply->rfind("ok {", 0) != 0) return std::unexpected(reply->rfind("error ", 0) == 0 ? reply->substr(6) : *reply);
    auto doc = json::parse(reply->substr(3), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::unexpected("an unreadable reply: " + *reply);
    return doc;
}

// Drained, and no connection left (an idle end, or a deadline's connections since gone).
bool done(const json& status) {
    const json& d = status.value("drain", json());
    if (!d.is_object() || d.value("ended", json()).is_null()) return false;
    const json& left = status.value("connections", json());
    return d.value("ended", "") == "idle" || (left.is_number_unsigned() && left.get<std::uint64_t>() == 0) ||
           (left.is_number_integer() && left.get<long long>() == 0);
}

std::string connectionsOf(const json& status) {
    const json& left = status.value("connections", json());
    return left.is_number() ? std::to_string(left.get<long long>()) + " connection(s) left" : "connections not counted yet";
}

// Waits until every target (the server: "", or VIPs) is drained with no connection left.
int waitDrained(const Options& o, const std::vector<std::string>& targets) {
    const bool terminal = ::isatty(2) == 1;
    const auto started = Clock::now();
    std::optional<Clock::time_point> giveUp;
    if (!o.timeout.empty()) giveUp = started + std::chrono::seconds(std::stol(o.timeout));
    for (;;) {
        std::string progress;
        bool all = true;
        for (const auto& t : targets) {
            auto status = ask(o, t.empty() ? "drain-status" : "drain-status " + t);
            if (!status) {
                if (terminal) std::fputs("\n", stderr);
                logError("waiting for the drain failed (the running agent went away, or " +
                         (t.empty() ? std::string("the drain") : "VIP " + t) + " is no longer its): " + status.error());
                return kFailed;
            }
            // The default timeout: the drain's own deadline (drain.max_seconds).
            if (!giveUp) {
                const json& d = status->value("drain", json());
                const double span = d.is_object() && d.value("deadline", json()).is_number() ? d["deadline"].get<double>() - d["since"].get<double>() : 0;
                giveUp = started + std::chrono::milliseconds(static_cast<long long>(std::max(0.0, span) * 1000) + 1000);
            }
            if (done(*status)) continue;
            all = false;
            progress += (progress.empty() ? "" : "; ") + (t.empty() ? std::string("the server") : t) + ": " + connectionsOf(*status);
        }
        if (all) {
            if (terminal) std::fputs("\r\033[K", stderr);
            std::printf("drained: no connection left on %s\n", targets.front().empty() ? "the VIPs" : "the VIP(s) asked");
            return kOk;
        }
        const auto now = Clock::now();
        if (now >= *giveUp) break;
        if (terminal) {
            const long left = static_cast<long>(std::ceil(std::chrono::duration<double>(*giveUp - now).count()));
            std::fprintf(stderr, "\r\033[Kdraining %s; giving up in %ld s", progress.c_str(), left);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the daemon's state, bounded by giveUp
    }
    if (terminal) std::fputs("\r\033[K", stderr);
    logError("timed out waiting for the drain: connections are still open; the drain stays (undrain to end it)");
    for (const auto& t : targets) {
        auto list = ask(o, t.empty() ? "connections" : "connections " + t);
        if (!list) continue;
        for (const auto& c : list->value("connections", json::array()))
            std::printf("  %s -> %s (%s)\n", c.value("client", "?").c_str(), c.value("vip", "?").c_str(), c.value("state", "?").c_str());
        const auto total = list->value("count", 0ull);
        const auto shown = list->value("connections", json::array()).size();
        if (total > shown) std::printf("  and %llu more\n", static_cast<unsigned long long>(total - shown));
    }
    return kNotRunning;  // 3
}

}  // namespace

int runDrain(const Options& o, bool drain) {
    std::string command = drain ? "drain" : "undrain";
    // --vip: these VIPs alone. Each is checked here, so a typo is named before the daemon
    // is asked; the daemon refuses the whole command if one is not configured.
    if (o.vips.size() > api::ControlServer::kMaxVips) {
        logError("at most " + std::to_string(api::ControlServer::kMaxVips) + " --vip in one " + command + "; nothing changed");
        return kUsage;
    }
    std::vector<std::string> targets;
    for (const auto& v : o.vips) {
        const auto ip = parseVip(v);
        if (!ip) {
            logError("--vip: " + ip.error() + "; nothing changed");
            return kUsage;
        }
        command += " " + ip->str();
        targets.push_back(ip->str());
    }
    if (!drain && o.wait) {
        logError("--wait goes with drain (undrain takes effect at once)");
        return kUsage;
    }
    if (const int rc = control(o, command, 10); rc != kOk || !o.wait) return rc;
    if (targets.empty()) targets.push_back("");
    std::fflush(stdout);
    return waitDrained(o, targets);
}

int runReload(const Options& o) {
    return control(o, "reload", static_cast<int>(api::ControlServer::kReloadDeadline.count() / 1000) + 10);
}

}  // namespace agent
