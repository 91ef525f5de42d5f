#pragma once
// An in-memory ConnectionCounter for unit tests: the connections a test puts in, counted
// by the same rules as the kernel's (a prefix holds the local address; a peer on this
// host does not count).
#include <mutex>
#include <vector>

#include "netcfg/sock_diag.h"

namespace netcfg {

class FakeConnectionCounter : public ConnectionCounter {
public:
    std::vector<Connection> connections;
    bool fail = false;
    int counts = 0;

    std::expected<ConnectionCount, NetError> count(const std::vector<LocalPrefix>& locals, std::size_t list = 0) override {
        std::lock_guard lock(mu_);
        ++counts;
        if (fail) return std::unexpected(NetError{.code = 0, .err = 0, .message = "the fake refuses"});
        ConnectionCount out;
        out.perPrefix.assign(locals.size(), 0);
        for (const auto& c : connections)
            for (std::size_t i = 0; i < locals.size(); ++i)
                if (locals[i].address.covers(locals[i].length, c.local) && !fromThisHost(c.local, c.remote, locals)) {
                    ++out.perPrefix[i];
                    if (out.listed.size() < list) out.listed.push_back(c);
                    break;
                }
        return out;
    }
    // A test's change, under the lock the counter's readers take.
    template <class F>
    void change(F f) {
        std::lock_guard lock(mu_);
        f(connections);
    }

private:
    std::mutex mu_;
};

}  // namespace netcfg
