#include "api/http_api.h"

#include <fcntl.h>

#include "api/http_engine.h"
#include "api/socket_util.h"

namespace api {

HttpApi::HttpApi(const SnapshotStore& store, DrainControl& control, HttpApiOptions options)
    : routes_(store, control,
              RouteOptions{.token = options.token, .healthyWithinMs = options.healthyWithinMs, .warn = options.warn,
                           .engineCounters = [this] { return counters(); }}),
      options_(std::move(options)),
      admission_(std::make_unique<Admission>()) {
    for (int i = 0; i < std::max(1, options_.limits.threads); ++i) {
        engines_.push_back(std::make_unique<Engine>(routes_, options_.limits, *admission_));
        admission_->engines.push_back(engines_.back().get());
    }
}

HttpApi::~HttpApi() { stop(); }

void HttpApi::setToken(const std::string& token) { routes_.setToken(token); }

std::expected<int, std::string> HttpApi::start(agent::UniqueFd listening) {
    if (listening) {
        listen_ = std::move(listening);
    } else {
        auto bound = listenTcp(options_.host, options_.port, options_.limits.backlog);
        if (!bound) return std::unexpected(bound.error());
        listen_ = std::move(*bound);
    }
    ::fcntl(listen_.get(), F_SETFL, ::fcntl(listen_.get(), F_GETFL) | O_NONBLOCK);  // a client gone before accept
    for (auto& e : engines_)
        if (auto r = e->start(listen_.get()); !r) {
            stop();
            return std::unexpected(r.error());
        }
    return boundPort(listen_.get());
}

void HttpApi::quiesce(std::chrono::milliseconds within) {
    for (auto& e : engines_) e->stopAccepting();
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        {
            std::lock_guard lock(admission_->mu);
            if (admission_->counters.open == 0) return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling for a condition, bounded by `within`
    }
}

std::expected<void, std::string> HttpApi::startWithoutListener() { return engines_.front()->start(-1); }

void HttpApi::addConnection(agent::UniqueFd fd) { engines_.front()->add(std::move(fd)); }

void HttpApi::stop() {
    for (auto& e : engines_) e->stop();
    listen_.reset();
}

HttpCounters HttpApi::counters() const {
    std::lock_guard lock(admission_->mu);
    return admission_->counters;
}

}  // namespace api
