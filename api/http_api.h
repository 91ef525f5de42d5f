#pragma once
// The readiness API over HTTP: cpp-httplib parses, api/routes answers (reading only the
// published snapshot).
// Hardened for Debian's cpp-httplib 0.11.4: an exception handler (0.11.4 would leak
// e.what() in a header), a payload limit, bounded timeouts and worker pool, no static
// files, bodies and Transfer-Encoding refused on GET, JSON for every error.
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/routes.h"
#include "api/snapshot.h"

namespace httplib {
class Server;
}

namespace api {

struct HttpApiOptions {
    std::string host = "127.0.0.1";
    int port = 0;            // 0: any free port (tests)
    std::string token;       // empty: POST /drain and /undrain answer 403
    int healthyWithinMs = 5000;  // /healthz fails when the loop has not ticked for longer
    int workers = 4;
};

class HttpApi {
public:
    HttpApi(const SnapshotStore& store, DrainControl& control, HttpApiOptions options);
    ~HttpApi();
    HttpApi(const HttpApi&) = delete;
    HttpApi& operator=(const HttpApi&) = delete;

    // Binds and starts serving on a thread of its own; returns the bound port.
    std::expected<int, std::string> start();
    void stop();
    void setToken(const std::string& token);

private:
    void configure();

    Routes routes_;
    HttpApiOptions options_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
};

}  // namespace api
