#include "agent/daemon/handover.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/base/text_file.h"

namespace agent {
namespace {

using nlohmann::json;
constexpr int kFormat = 1;
constexpr std::size_t kMaxBytes = std::size_t{16} << 20;

}  // namespace

std::string toText(const Handover& h) {
    return json{{"format", kFormat},
                {"written_at", h.writtenAtUnix},
                {"services_up", h.servicesUp},
                {"draining", h.draining},
                {"drained_vips", h.drainedVips}}
               .dump() +
           "\n";
}

std::expected<Handover, std::string> parseHandover(const std::string& text) {
    if (firstNul(text)) return std::unexpected("holds a NUL byte");
    const json j = json::parse(text, nullptr, false);
    if (!j.is_object()) return std::unexpected("not a JSON object");
    if (!j.contains("format") || !j["format"].is_number_integer() || j["format"].get<int>() != kFormat)
        return std::unexpected("format " + (j.contains("format") ? j["format"].dump() : std::string("missing")) + ", this version reads " +
                               std::to_string(kFormat));
    Handover h;
    try {
        h.writtenAtUnix = j.at("written_at").get<double>();
        h.servicesUp = j.at("services_up").get<std::map<std::string, bool>>();
        h.draining = j.at("draining").get<bool>();
        h.drainedVips = j.at("drained_vips").get<std::set<std::string>>();
    } catch (const json::exception&) {
        return std::unexpected("a field is missing or of the wrong type");
    }
    return h;
}

std::expected<void, std::string> writeHandover(const std::filesystem::path& stateDir, const Handover& h) {
    return writeAtomically((stateDir / kHandoverFile).string(), toText(h), 0600);
}

TakenHandover takeHandover(const std::filesystem::path& stateDir, double nowUnix) {
    const auto path = (stateDir / kHandoverFile).string();
    auto text = readLimited(path, {.maxBytes = kMaxBytes});
    if (!text) {
        if (text.error().err == ENOENT) return {};
        return {.value = std::nullopt, .warning = "ignoring " + path + ": " + text.error().message};
    }
    ::unlink(path.c_str());
    auto h = parseHandover(*text);
    if (!h) return {.value = std::nullopt, .warning = "ignoring " + path + ": " + h.error() + "; starting from the configuration"};
    const double age = nowUnix - h->writtenAtUnix;
    if (age > kHandoverFreshSeconds || age < -kHandoverFreshSeconds)
        return {.value = std::nullopt,
                .warning = "ignoring " + path + ": written " + std::to_string(static_cast<long long>(age)) + " s ago; starting from the configuration"};
    return {.value = *h, .warning = std::nullopt};
}

std::optional<double> takeRestartMarker(const std::filesystem::path& stateDir, double nowUnix) {
    const auto path = (stateDir / kRestartMarker).string();
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    ::unlink(path.c_str());
    const double mtime = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
    return nowUnix - mtime;
}

}  // namespace agent
