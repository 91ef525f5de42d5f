#include "support/fake_marks_driver.h"

#include <sys/socket.h>

namespace netcfg {

MarkTableSeen FakeMarksDriver::seenOf(const MarkSpec& spec) {
    MarkTableSeen t{.peerMacs = spec.peerMacs, .vips = {spec.vips.begin(), spec.vips.end()},
                    .ranges = {spec.ranges.begin(), spec.ranges.end()}, .ports = {spec.ports.begin(), spec.ports.end()},
                    .rules = {}, .hooked = true};
    std::vector<IpAddress> all = spec.vips;
    for (const auto& r : spec.ranges) all.push_back(r.first);
    if (spec.marking && !spec.ports.empty())
        for (int family : {AF_INET, AF_INET6})
            for (const auto& v : all)
                if (v.family == family) {
                    t.rules.push_back(std::string("[{\"match\":{\"op\":\"==\",\"right\":\"@") + (family == AF_INET ? "vips4" : "vips6") +
                                      "\"}},{\"match\":{\"op\":\"==\",\"right\":\"@ports\"}},{\"match\":{\"op\":\"!=\",\"right\":\"@peer_macs\"}}," +
                                      "{\"mangle\":{\"key\":{\"meta\":{\"key\":\"mark\"}},\"value\":" + std::to_string(spec.mark) + "}}]");
                    break;
                }
    return t;
}

std::expected<std::optional<MarkTableSeen>, std::string> FakeMarksDriver::read() {
    if (refuse) return std::unexpected(*refuse);
    return table;
}

std::expected<void, std::string> FakeMarksDriver::apply(const MarkSpec& spec) {
    calls.push_back("apply");
    if (refuse) return std::unexpected(*refuse);
    table = seenOf(spec);
    return {};
}

std::expected<void, std::string> FakeMarksDriver::updatePeers(const std::set<std::string>& remove, const std::set<std::string>& add) {
    std::string call = "peers";
    for (const auto& m : remove) call += " -" + m;
    for (const auto& m : add) call += " +" + m;
    calls.push_back(call);
    if (refuse) return std::unexpected(*refuse);
    if (!table) return std::unexpected(std::string("Error: No such file or directory"));
    for (const auto& m : remove) table->peerMacs.erase(m);
    table->peerMacs.insert(add.begin(), add.end());
    return {};
}

std::expected<void, std::string> FakeMarksDriver::remove() {
    calls.push_back("remove");
    if (refuse) return std::unexpected(*refuse);
    table.reset();
    return {};
}

}  // namespace netcfg
