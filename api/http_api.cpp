#include "api/http_api.h"

#include <sys/resource.h>
#include <unistd.h>
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>

namespace api {
namespace {

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

}  // namespace

HttpApi::HttpApi(const SnapshotStore& store, DrainControl& control, HttpApiOptions options)
    : routes_(store, control, RouteOptions{.token = options.token, .healthyWithinMs = options.healthyWithinMs}),
      options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()) {
    configure();
}

HttpApi::~HttpApi() { stop(); }

void HttpApi::setToken(const std::string& token) { routes_.setToken(token); }

void HttpApi::configure() {
    auto& s = *server_;
    const int workers = options_.workers;
    s.new_task_queue = [workers] { return new BoundedPool(workers); };
    s.set_payload_max_length(kMaxRequestBody);
    s.set_read_timeout(2, 0);
    s.set_write_timeout(2, 0);
    s.set_keep_alive_timeout(2);
    s.set_keep_alive_max_count(100);
    s.set_tcp_nodelay(true);

    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.headers.clear();
        res.status = 500;
        res.set_content("{\"error\":\"internal error\"}\n", "application/json");
    });
    s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) res.set_content("{\"error\":\"bad request\"}\n", "application/json");
        return httplib::Server::HandlerResponse::Handled;
    }));
    // Every request is answered by Routes here, before the engine reads a body: routes
    // that take none refuse one (and close), POST /drain and /undrain need none.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        HttpRequest in{.method = req.method, .path = req.path, .headers = {}, .body = {}};
        for (const auto& [k, v] : req.headers) in.headers.emplace_back(k, v);
        const HttpResponse out = routes_.handle(in);
        res.status = out.status;
        for (const auto& [k, v] : out.headers) res.set_header(k, v);
        if (out.close) res.set_header("Connection", "close");
        res.set_content(out.body, out.contentType);
        return httplib::Server::HandlerResponse::Handled;
    });
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
