#include "api/auth_throttle.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace api {

AuthThrottle::Entry& AuthThrottle::entryFor(const std::string& client, Clock::time_point now) {
    auto it = clients_.find(client);
    if (it != clients_.end()) return it->second;
    if (clients_.size() >= kMaxClients)
        std::erase_if(clients_, [&](const auto& kv) { return now - kv.second.windowStart >= kWindow; });
    if (clients_.size() >= kMaxClients) return others_;
    return clients_[client];
}

std::optional<int> AuthThrottle::refusedFor(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(mu_);
    auto it = clients_.find(client);
    const Entry* e = it != clients_.end() ? &it->second : (clients_.size() >= kMaxClients ? &others_ : nullptr);
    if (!e || e->failures < kMaxFailures || now - e->windowStart >= kWindow) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(e->windowStart + kWindow - now).count();
    return static_cast<int>(std::max<long long>(1, left + 1));
}

bool AuthThrottle::mayLog(Clock::time_point now) {
    if (logRefill_ != Clock::time_point{})
        logTokens_ = std::min(5.0, logTokens_ + std::chrono::duration<double>(now - logRefill_).count());
    logRefill_ = now;
    if (logTokens_ < 1) {
        ++suppressed_;
        return false;
    }
    logTokens_ -= 1;
    return true;
}

std::string AuthThrottle::failed(const std::string& client, const std::string& why, Clock::time_point now) {
    ++total_;
    std::lock_guard lock(mu_);
    Entry& e = entryFor(client, now);
    if (e.failures == 0 || now - e.windowStart >= kWindow) e = Entry{.failures = 0, .windowStart = now};
    ++e.failures;
    if (!mayLog(now)) return "";
    std::string line = "API: refused a drain request from " + client + ": " + why;
    if (e.failures >= kMaxFailures)
        line += "; " + std::to_string(e.failures) + " failures in " + std::to_string(kWindow.count()) +
                " s, its attempts are refused (429) until the minute is over";
    if (suppressed_ > 0) line += " (" + std::to_string(std::exchange(suppressed_, 0)) + " similar lines suppressed)";
    return line;
}

}  // namespace api
