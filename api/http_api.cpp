#include "api/http_api.h"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>

#include "api/metrics.h"

namespace api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBody = 1024;

// API threads run at a lower priority (nice 10, which needs no privilege) so that a flood
// of polls never delays the reconcile loop's repairs.
void yieldToTheLoop() { ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10); }
constexpr std::size_t kMaxQueued = 64;

// A fixed pool of workers with a bounded queue. When the queue is full the connection is
// served on the accepting thread, which stops accepting meanwhile: backpressure instead
// of unbounded memory.
class BoundedPool final : public httplib::TaskQueue {
public:
    explicit BoundedPool(int workers) {
        for (int i = 0; i < workers; ++i)
            threads_.emplace_back([this] {
                yieldToTheLoop();
                work();
            });
    }
    void enqueue(std::function<void()> fn) override {
        {
            std::unique_lock lock(mu_);
            if (queue_.size() < kMaxQueued) {
                queue_.push_back(std::move(fn));
                cv_.notify_one();
                return;
            }
        }
        fn();
    }
    void shutdown() override {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

private:
    void work() {
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                fn = std::move(queue_.front());
                queue_.pop_front();
            }
            fn();
        }
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    bool stopping_ = false;
};

void sendJson(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump() + "\n", "application/json");
}

// The VIP in canonical form, or "" if the text is not an address.
std::string canonical(const std::string& text) {
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    for (int family : {AF_INET, AF_INET6})
        if (inet_pton(family, text.c_str(), buf) == 1 && inet_ntop(family, buf, out, sizeof out)) return out;
    return "";
}

double nowUnix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* reasonPhrase(int status) {
    switch (status) {
        case 400: return "bad request";
        case 401: return "unauthorized";
        case 403: return "forbidden";
        case 404: return "not found";
        case 405: return "method not allowed";
        case 413: return "payload too large";
        case 414: return "URI too long";
        default: return "error";
    }
}

}  // namespace

bool tokensEqual(const std::string& a, const std::string& b) {
    // Compare over the longer length so the time depends on neither content nor prefix.
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

HttpApi::HttpApi(const SnapshotStore& store, DrainControl& control, HttpApiOptions options)
    : store_(store), control_(control), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
    routes();
}

HttpApi::~HttpApi() { stop(); }

void HttpApi::setToken(const std::string& token) {
    std::lock_guard lock(tokenMu_);
    options_.token = token;
}

bool HttpApi::authorized(const std::string& header, int& status, std::string& why) const {
    std::lock_guard lock(tokenMu_);
    if (options_.token.empty()) {
        status = 403;
        why = "remote drain is disabled: configure api.token_file";
        return false;
    }
    const std::string prefix = "Bearer ";
    if (header.rfind(prefix, 0) != 0) {
        status = 401;
        why = "missing bearer token";
        return false;
    }
    if (!tokensEqual(header.substr(prefix.size()), options_.token)) {
        status = 401;
        why = "wrong token";
        return false;
    }
    return true;
}

void HttpApi::routes() {
    auto& s = *server_;
    const int workers = options_.workers;
    s.new_task_queue = [workers] { return new BoundedPool(workers); };
    s.set_payload_max_length(kMaxBody);
    s.set_read_timeout(2, 0);
    s.set_write_timeout(2, 0);
    s.set_keep_alive_timeout(2);
    s.set_keep_alive_max_count(100);
    s.set_tcp_nodelay(true);

    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.headers.clear();
        sendJson(res, 500, {{"error", "internal error"}});
    });
    s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) sendJson(res, res.status, {{"error", reasonPhrase(res.status)}});
        return httplib::Server::HandlerResponse::Handled;
    }));
    // GET and HEAD take no body; 0.11.4 would not read one and would parse it as the
    // next request on the connection, so such a request is refused and the connection closed.
    // POST /drain and /undrain are answered here, before 0.11.4 insists on reading a body
    // (it refuses a POST without Content-Length); any body is ignored and capped.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (req.method == "POST" && (req.path == "/drain" || req.path == "/undrain")) {
            res.set_header("Connection", "close");
            int status = 0;
            std::string why;
            if (!authorized(req.get_header_value("Authorization"), status, why)) {
                if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
                sendJson(res, status, {{"error", why}});
            } else {
                const bool drain = req.path == "/drain";
                control_.requestDrain(drain);
                sendJson(res, 200, {{"draining", drain}});
            }
            return httplib::Server::HandlerResponse::Handled;
        }
        if ((req.method == "GET" || req.method == "HEAD") &&
            (req.has_header("Transfer-Encoding") ||
             (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0"))) {
            res.set_header("Connection", "close");
            sendJson(res, 400, {{"error", "a GET request takes no body"}});
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    s.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
        const auto snap = store_.get();
        res.status = snap->ready ? 200 : 503;
        res.set_content(snap->readyBody, "application/json");
    });
    s.Get(R"(/ready/([0-9A-Fa-f.:]{1,45}))", [this](const httplib::Request& req, httplib::Response& res) {
        const auto snap = store_.get();
        const std::string vip = canonical(req.matches[1]);
        for (const auto& v : snap->vips) {
            if (vip.empty() || v.vip != vip) continue;
            res.status = v.ready ? 200 : 503;
            res.set_content(snap->vipBodies.at(vip), "application/json");
            return;
        }
        sendJson(res, 404, {{"error", std::string(req.matches[1]) + " is not a VIP managed by this agent"}});
    });
    s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
        const auto since = store_.msSinceBeat();
        const bool alive = since <= options_.healthyWithinMs;
        sendJson(res, alive ? 200 : 500, {{"alive", alive}, {"last_tick_ms_ago", since}});
    });
    s.Get("/status", [this](const httplib::Request&, httplib::Response& res) {
        const auto snap = store_.get();
        json body = snap->status;
        body["uptime_seconds"] = snap->startedAtUnix > 0 ? nowUnix() - snap->startedAtUnix : 0.0;
        sendJson(res, 200, body);
    });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(renderMetrics(*store_.get(), nowUnix()), "text/plain; version=0.0.4; charset=utf-8");
    });
    // The wrong method on a known path is 405 with Allow, not 404.
    auto notAllowed = [](const char* allow) {
        return [allow](const httplib::Request&, httplib::Response& res) {
            res.set_header("Allow", allow);
            sendJson(res, 405, {{"error", "method not allowed"}, {"allow", allow}});
        };
    };
    for (const char* p : {"/ready", R"(/ready/([0-9A-Fa-f.:]{1,45}))", "/healthz", "/status", "/metrics"}) {
        s.Post(p, notAllowed("GET, HEAD"));
        s.Put(p, notAllowed("GET, HEAD"));
        s.Delete(p, notAllowed("GET, HEAD"));
        s.Patch(p, notAllowed("GET, HEAD"));
    }
    for (const char* p : {"/drain", "/undrain"}) {
        s.Get(p, notAllowed("POST"));
        s.Put(p, notAllowed("POST"));
        s.Delete(p, notAllowed("POST"));
    }
}

std::expected<int, std::string> HttpApi::start() {
    int port = options_.port;
    if (port == 0) {
        port = server_->bind_to_any_port(options_.host);
        if (port <= 0) return std::unexpected("cannot listen on " + options_.host + ": no free port");
    } else if (!server_->bind_to_port(options_.host, port)) {
        return std::unexpected("cannot listen on " + options_.host + ":" + std::to_string(port) +
                               " (address in use, not local, or a privileged port)");
    }
    thread_ = std::thread([this] {
        yieldToTheLoop();
        server_->listen_after_bind();
    });
    return port;
}

void HttpApi::stop() {
    if (thread_.joinable()) {
        server_->stop();
        thread_.join();
    }
}

}  // namespace api
