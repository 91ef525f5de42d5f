// libFuzzer harness: a request's parts (method, path, headers, body) -> the API's request
// handling, in-process. Input layout: lines; the first is "METHOD PATH", then "Name:
// value" header lines, an empty line, the body. Every answer must be a known status with
// a well-formed body, and nothing may drain without the token.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/routes.h"

namespace {

struct CountingControl : api::DrainControl {
    int requests = 0;
    void requestDrain(bool) override { ++requests; }
    void requestVipDrain(const std::vector<std::string>&, bool) override { ++requests; }
};

api::SnapshotStore& store() {
    static api::SnapshotStore* s = [] {
        auto* st = new api::SnapshotStore;
        auto snap = std::make_shared<api::Snapshot>();
        snap->server = api::Readiness::readyNow();
        snap->setVips({{.vip = "198.51.100.1", .bound = true},
                     {.vip = "2001:db8::1", .bound = false, .routeWanted = true, .findings = {{.message = "2001:db8::1/128 is not bound on lo"}}}});
        snap->version = "fuzz";
        st->publish(std::move(snap));
        st->beat();
        return st;
    }();
    return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string kToken = "fuzz-token-0123456789abcdef0123456789";
    const std::string in(reinterpret_cast<const char*>(data), size);
    api::HttpRequest req;
    std::size_t pos = 0;
    auto nextLine = [&](std::string& line) {
        if (pos > in.size()) return false;
        const auto nl = in.find('\n', pos);
        line = in.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? in.size() + 1 : nl + 1;
        return true;
    };
    std::string line;
    if (!nextLine(line)) return 0;
    const auto sp = line.find(' ');
    req.method = line.substr(0, sp);
    req.path = sp == std::string::npos ? "" : line.substr(sp + 1);
    while (nextLine(line) && !line.empty()) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        req.headers.emplace_back(line.substr(0, colon), value);
    }
    if (pos < in.size()) req.body = in.substr(pos);

    CountingControl control;
    const bool withToken = size % 2 == 0;  // both configurations, from the same corpus
    api::Routes routes(store(), control, api::RouteOptions{.token = withToken ? kToken : "", .healthyWithinMs = 60000});
    const api::HttpResponse r = routes.handle(req);
    switch (r.status) {
        case 200: case 400: case 401: case 403: case 404: case 405: case 413: case 429: case 500: case 503: break;
        default: __builtin_trap();
    }
    if (r.contentType == "application/json" && !nlohmann::json::accept(r.body)) __builtin_trap();
    if (control.requests > 0) {
        const std::string* auth = req.header("Authorization");
        if (!withToken || !auth || *auth != "Bearer " + kToken || r.status != 200) __builtin_trap();
    }
    // A request that announced a body must not leave the connection open.
    if ((req.header("Transfer-Encoding") || !req.body.empty()) && !r.close) __builtin_trap();
    return 0;
}
