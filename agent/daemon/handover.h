#pragma once
// What a restarting daemon hands to the next process beyond what the kernel and the state
// file already hold: which service checks were up (so the next one does not report a
// service down for `rise` checks after every restart), the whole server's drain and the
// VIPs drained on their own. Written to STATE_DIR/handover.json by the process that hands
// over, read and removed by the next one; one older than kFreshSeconds, or unreadable, is
// ignored with a warning (the next process then starts from the configuration, as after a
// crash). The hand-over marker (STATE_DIR/restart-requested) is the other way round:
// written by maintainer scripts or an operator before a restart, read at SIGTERM.
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace agent {

struct Handover {
    double writtenAtUnix = 0;
    std::map<std::string, bool> servicesUp;  // by ServiceCheck::name()
    bool draining = false;                   // the whole server (drain), not a stop
    std::set<std::string> drainedVips;

    bool operator==(const Handover&) const = default;
};

inline constexpr double kHandoverFreshSeconds = 300;
inline constexpr const char* kHandoverFile = "handover.json";
inline constexpr const char* kRestartMarker = "restart-requested";

std::string toText(const Handover& h);
// nullopt with why on a document this version does not read.
std::expected<Handover, std::string> parseHandover(const std::string& text);

// Writes STATE_DIR/handover.json atomically.
std::expected<void, std::string> writeHandover(const std::filesystem::path& stateDir, const Handover& h);
// Reads and removes it: no value when there is none, or (with a warning) when it is stale
// or damaged.
struct TakenHandover {
    std::optional<Handover> value;
    std::optional<std::string> warning;
};
TakenHandover takeHandover(const std::filesystem::path& stateDir, double nowUnix);

// The marker's age in seconds, nullopt when there is none; removed once read.
std::optional<double> takeRestartMarker(const std::filesystem::path& stateDir, double nowUnix);

}  // namespace agent
