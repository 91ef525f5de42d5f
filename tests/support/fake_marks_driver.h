#pragma once
// The two-box marks' nftables table in memory, as libnftables would leave it after each of
// the agent's requests (the rules as nft reads them back, in the shape markTableMatches
// looks for). Unit tests inject a refusal and change the table behind the agent's back.
#include <optional>
#include <string>
#include <vector>

#include "netcfg/nftables.h"

namespace netcfg {

class FakeMarksDriver final : public MarksDriver {
public:
    std::optional<MarkTableSeen> table;
    std::optional<std::string> refuse;  // every request fails with this
    std::vector<std::string> calls;     // "apply", "peers -A +B", "remove"

    std::expected<std::optional<MarkTableSeen>, std::string> read() override;
    std::expected<void, std::string> apply(const MarkSpec& spec) override;
    std::expected<void, std::string> updatePeers(const std::set<std::string>& remove, const std::set<std::string>& add) override;
    std::expected<void, std::string> remove() override;

    // The table nft would list after `apply(spec)`.
    static MarkTableSeen seenOf(const MarkSpec& spec);
};

}  // namespace netcfg
