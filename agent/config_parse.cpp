#include "agent/config_parse.h"

#include <algorithm>

#include "agent/config.h"

namespace agent::config_parse {
namespace {

std::size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

void Problems::throwIfAny() const {
    if (!list_.empty()) throw ConfigError(list_);
}

std::string joinLines(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += (s.empty() ? "" : "\n") + l;
    return s;
}

std::string unknownKey(const std::string& key, const std::vector<std::string>& known) {
    std::string msg = "unknown key \"" + key + "\"";
    for (const auto& k : known)
        if (editDistance(key, k) <= 2) return msg + " (did you mean \"" + k + "\"?)";
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return msg + " (known keys: " + list + ")";
}

void rejectUnknownKeys(const nlohmann::json& obj, const std::string& prefix, const std::vector<std::string>& known,
                       Problems& problems) {
    for (const auto& [key, value] : obj.items())
        if (std::find(known.begin(), known.end(), key) == known.end())
            problems.add(prefix.empty() ? key : prefix + "." + key, unknownKey(key, known));
}

bool isWholeNumber(const nlohmann::json& v) { return v.is_number_integer() || v.is_number_unsigned(); }

int boundedInt(const nlohmann::json& obj, const std::string& key, const std::string& field, long long lo,
               long long hi, int fallback, Problems& problems) {
    if (!obj.contains(key)) return fallback;
    const auto& v = obj[key];
    const std::string range = std::to_string(lo) + "-" + std::to_string(hi);
    if (!isWholeNumber(v)) {
        problems.add(field, "must be a whole number (" + range + ")");
        return fallback;
    }
    const long long n = v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(hi)
                            ? hi + 1
                            : v.get<long long>();
    if (n < lo || n > hi) {
        problems.add(field, std::to_string(v.get<long long>()) + " is out of range " + range);
        return fallback;
    }
    return static_cast<int>(n);
}

}  // namespace agent::config_parse
