#pragma once
// An in-memory TunnelDriver for unit tests: interfaces, their hooks and the maps, with
// failures injectable. Lives in the test-support library: the production binary never
// links it.
#include <map>
#include <optional>
#include <set>
#include <string>

#include "tunnel/tunnel_driver.h"

namespace tunnel {

class FakeTunnelDriver : public TunnelDriver {
public:
    struct Hooks {
        bool clsact = false;
        bool ours[2] = {false, false};       // ingress, egress: the agent's filter
        bool foreign[2] = {false, false};    // another program at the agent's place
        int others = 0;                      // other filters on the qdisc
    };
    std::map<int, Hooks> hooks;            // by ifindex (absent: no clsact qdisc)
    std::set<int> interfaces;              // the interfaces that exist
    std::optional<TunnelMaps> program;     // the maps of the program held
    std::optional<TunnelMaps> attachedProgram;  // a previous run's, taken up by prepare
    std::string loadError;                 // prepare fails with it when set
    std::string attachError;               // attach fails with it when set
    TunnelStats counters;
    std::uint64_t moved = 0;  // activity(): tests bump it with the counters
    int attaches = 0, detaches = 0, syncs = 0;

    std::expected<void, std::string> prepare(const std::vector<int>& ifindexes, bool mayLoad = true) override;
    bool prepared() const override { return program.has_value(); }
    std::optional<TunnelMaps> maps() const override { return program; }
    std::expected<TunnelHook, std::string> hook(int ifindex) override;
    netcfg::NetResult createClsact(int ifindex) override;
    netcfg::NetResult attach(int ifindex) override;
    netcfg::NetResult detach(int ifindex, bool removeClsact) override;
    netcfg::NetResult sync(const TunnelMaps& want) override;
    TunnelStats stats() const override { return counters; }
    std::uint64_t activity() const override { return moved; }
};

}  // namespace tunnel
