#include "netcfg/nftables.h"

#include <nftables/libnftables.h>

#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <algorithm>

namespace netcfg {

namespace {

std::string elements(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

std::string setBlock(const std::string& name, const std::string& type, const std::vector<std::string>& items, bool interval = false) {
    std::string out = "  set " + name + " {\n    type " + type + "\n";
    if (interval) out += "    flags interval\n";
    if (!items.empty()) out += "    elements = { " + elements(items) + " }\n";
    return out + "  }\n";
}

char hex(unsigned v) { return "0123456789abcdef"[v & 15]; }

}  // namespace

std::string markTableScript(const MarkSpec& spec) {
    const std::string t = std::string("inet ") + kMarkTable;
    std::vector<std::string> v4, v6, ports;
    for (const auto& v : spec.vips) (v.isV4() ? v4 : v6).push_back(v.str());
    bool ranges4 = false, ranges6 = false;
    for (const auto& [net, len] : spec.ranges) {
        (net.isV4() ? v4 : v6).push_back(net.str() + "/" + std::to_string(len));
        (net.isV4() ? ranges4 : ranges6) = true;
    }
    for (const auto& [proto, port] : spec.ports) ports.push_back(std::string(proto == 17 ? "udp" : "tcp") + " . " + std::to_string(port));
    std::string mark = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) mark += hex(spec.mark >> shift);
    std::string s = "table " + t + "\ndelete table " + t + "\ntable " + t + " {\n";
    s += setBlock("peer_macs", "ether_addr", {spec.peerMacs.begin(), spec.peerMacs.end()});
    if (!v4.empty()) s += setBlock("vips4", "ipv4_addr", v4, ranges4);
    if (!v6.empty()) s += setBlock("vips6", "ipv6_addr", v6, ranges6);
    s += setBlock("ports", "inet_proto . inet_service", ports);
    s += "  chain prerouting {\n    type filter hook prerouting priority mangle; policy accept;\n";
    if (spec.marking && !ports.empty()) {
        const std::string tail = " meta l4proto . th dport @ports ether saddr != @peer_macs meta mark set " + mark + "\n";
        if (!v4.empty()) s += "    ip daddr @vips4" + tail;
        if (!v6.empty()) s += "    ip6 daddr @vips6" + tail;
    }
    return s + "  }\n}\n";
}

std::string peerSetScript(const std::set<std::string>& remove, const std::set<std::string>& add) {
    const std::string set = std::string("inet ") + kMarkTable + " peer_macs";
    std::string s;
    if (!remove.empty()) s += "delete element " + set + " { " + elements({remove.begin(), remove.end()}) + " }\n";
    if (!add.empty()) s += "add element " + set + " { " + elements({add.begin(), add.end()}) + " }\n";
    return s;
}

std::string deleteMarkTableScript() { return std::string("delete table inet ") + kMarkTable + "\n"; }

std::optional<MarkTableSeen> parseMarkTable(const std::string& text) {
    using json = nlohmann::json;
    const auto doc = json::parse(text, nullptr, false);
    if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) return std::nullopt;
    auto ours = [](const json& o) { return o.is_object() && o.value("family", "") == "inet" && o.value("table", o.value("name", "")) == kMarkTable; };
    std::optional<MarkTableSeen> out;
    for (const auto& e : doc["nftables"]) {
        if (!e.is_object()) continue;
        if (e.contains("table") && ours(e["table"])) {
            if (!out) out.emplace();
        } else if (e.contains("set") && ours(e["set"])) {
            const auto& s = e["set"];
            if (!out) out.emplace();
            const std::string name = s.value("name", "");
            for (const auto& el : s.value("elem", json::array())) {
                if (name == "peer_macs" && el.is_string()) {
                    out->peerMacs.insert(el.get<std::string>());
                } else if ((name == "vips4" || name == "vips6") && el.is_string()) {
                    if (auto ip = IpAddress::parse(el.get<std::string>())) out->vips.insert(*ip);
                } else if ((name == "vips4" || name == "vips6") && el.is_object() && el.contains("prefix") && el["prefix"].is_object()) {
                    const auto& p = el["prefix"];
                    if (p.contains("addr") && p["addr"].is_string() && p.contains("len") && p["len"].is_number_integer())
                        if (auto ip = IpAddress::parse(p["addr"].get<std::string>())) out->ranges.insert({*ip, p["len"].get<int>()});
                } else if (name == "ports" && el.is_object() && el.contains("concat") && el["concat"].is_array() && el["concat"].size() == 2) {
                    const auto& c = el["concat"];
                    if (c[0].is_string() && c[1].is_number_integer())
                        out->ports.insert({c[0] == "udp" ? 17 : 6, c[1].get<int>()});
                }
            }
        } else if (e.contains("chain") && ours(e["chain"])) {
            const auto& c = e["chain"];
            if (!out) out.emplace();
            out->hooked = out->hooked || (c.value("name", "") == "prerouting" && c.value("hook", "") == "prerouting" &&
                                          c.value("type", "") == "filter" && c.value("prio", 0) == -150);
        } else if (e.contains("rule") && ours(e["rule"])) {
            if (!out) out.emplace();
            out->rules.push_back(e["rule"].value("expr", json::array()).dump());
        }
    }
    return out;
}

bool markTableMatches(const MarkTableSeen& seen, const MarkSpec& spec) {
    if (!onlyPeersDiffer(seen, spec)) return false;
    return seen.peerMacs == spec.peerMacs;
}

bool onlyPeersDiffer(const MarkTableSeen& seen, const MarkSpec& spec) {
    if (!seen.hooked || seen.vips != std::set<IpAddress>(spec.vips.begin(), spec.vips.end()) ||
        seen.ranges != std::set<std::pair<IpAddress, int>>(spec.ranges.begin(), spec.ranges.end()) ||
        seen.ports != std::set<std::pair<int, int>>(spec.ports.begin(), spec.ports.end()))
        return false;
    std::size_t families = 0;
    for (int family : {AF_INET, AF_INET6})
        families += std::any_of(spec.vips.begin(), spec.vips.end(), [&](const IpAddress& v) { return v.family == family; }) ||
                    std::any_of(spec.ranges.begin(), spec.ranges.end(), [&](const auto& r) { return r.first.family == family; });
    const std::size_t want = spec.marking && !spec.ports.empty() ? families : 0;
    if (seen.rules.size() != want) return false;
    const std::string mark = "\"value\":" + std::to_string(spec.mark) + "}";
    for (const auto& r : seen.rules)
        if (r.find("\"right\":\"@peer_macs\"") == std::string::npos || r.find("\"op\":\"!=\"") == std::string::npos ||
            r.find("\"right\":\"@ports\"") == std::string::npos || r.find(mark) == std::string::npos)
            return false;
    return true;
}

namespace {

class KernelMarks final : public MarksDriver {
public:
    explicit KernelMarks(Nftables n) : nft_(std::move(n)) {}
    std::expected<std::optional<MarkTableSeen>, std::string> read() override { return nft_.readMarkTable(); }
    std::expected<void, std::string> apply(const MarkSpec& spec) override { return done(nft_.run(markTableScript(spec))); }
    std::expected<void, std::string> updatePeers(const std::set<std::string>& remove, const std::set<std::string>& add) override {
        const std::string script = peerSetScript(remove, add);
        return script.empty() ? std::expected<void, std::string>{} : done(nft_.run(script));
    }
    std::expected<void, std::string> remove() override {
        // "table X" first: deleting a table that is not there is then no error.
        return done(nft_.run(std::string("table inet ") + kMarkTable + "\n" + deleteMarkTableScript()));
    }

private:
    static std::expected<void, std::string> done(const std::expected<std::string, std::string>& r) {
        if (!r) return std::unexpected(r.error());
        return {};
    }
    Nftables nft_;
};

}  // namespace

std::expected<std::unique_ptr<MarksDriver>, std::string> openKernelMarks() {
    auto n = Nftables::open();
    if (!n) return std::unexpected(n.error());
    return std::make_unique<KernelMarks>(std::move(*n));
}

void Nftables::Free::operator()(nft_ctx* c) const { nft_ctx_free(c); }

Nftables::Nftables(nft_ctx* ctx) : ctx_(ctx) {}
Nftables::Nftables(Nftables&&) noexcept = default;
Nftables& Nftables::operator=(Nftables&&) noexcept = default;
Nftables::~Nftables() = default;

std::expected<Nftables, std::string> Nftables::open() {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return std::unexpected(std::string("libnftables: no context"));
    Nftables n(ctx);
    if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0)
        return std::unexpected(std::string("libnftables: cannot buffer its output"));
    return n;
}

std::expected<std::string, std::string> Nftables::run(const std::string& script, bool json) {
    nft_ctx* c = ctx_.get();
    const unsigned flags = nft_ctx_output_get_flags(c);
    nft_ctx_output_set_flags(c, json ? flags | NFT_CTX_OUTPUT_JSON : flags & ~NFT_CTX_OUTPUT_JSON);
    const int rc = nft_run_cmd_from_buffer(c, script.c_str());
    std::string out = nft_ctx_get_output_buffer(c);
    std::string err = nft_ctx_get_error_buffer(c);
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (rc != 0) return std::unexpected(err.empty() ? "nftables refused: " + script : err);
    return out;
}

std::expected<std::optional<MarkTableSeen>, std::string> Nftables::readMarkTable() {
    auto all = run("list tables", true);
    if (!all) return std::unexpected(all.error());
    const auto tables = parseMarkTable(*all);
    if (!tables) return std::optional<MarkTableSeen>{};
    auto t = run(std::string("list table inet ") + kMarkTable, true);
    if (!t) return std::unexpected(t.error());
    return parseMarkTable(*t);
}

}  // namespace netcfg
