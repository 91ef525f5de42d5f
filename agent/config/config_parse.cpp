#include "agent/config/config_parse.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "agent/config/config.h"
#include "agent/base/text_file.h"

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
    std::string msg = "unknown key " + quoteInput(key);
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
            problems.add(prefix.empty() ? quoteInput(key, false) : prefix + "." + quoteInput(key, false), unknownKey(key, known));
}

bool isWholeNumber(const nlohmann::json& v) { return v.is_number_integer() || v.is_number_unsigned(); }

std::string notWholeNumber(const nlohmann::json& v, const std::string& want) {
    std::string got;
    if (v.is_string()) {
        const std::string text = v.get<std::string>();
        const bool digits = !text.empty() && text.size() <= 20 &&
                            std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
        got = "the string " + (text.size() > 40 ? nlohmann::json(text.substr(0, 40) + "...").dump() : v.dump()) +
              (digits ? " (write " + text + ", without quotes)" : "");
    } else if (v.is_boolean() || v.is_null()) {
        got = v.dump();
    } else if (v.is_number_float()) {
        got = v.dump() + ", which is not whole";
    } else {
        got = v.is_array() ? "a list" : "an object";
    }
    return "expected a whole number (" + want + "), got " + got;
}

long long wholeNumber(const nlohmann::json& v) {
    if (v.is_number_unsigned()) {
        const auto u = v.get<unsigned long long>();
        return u > static_cast<unsigned long long>(std::numeric_limits<long long>::max())
                   ? std::numeric_limits<long long>::max()
                   : static_cast<long long>(u);
    }
    return v.get<long long>();
}

nlohmann::json parseStrictJson(const std::string& text, Problems& problems) {
    using nlohmann::json;
    // One frame per open object or array: its keys so far (objects) or the index of the
    // element being read (arrays), so a duplicate is named by its full field path.
    struct Frame {
        bool object;
        std::set<std::string> keys;
        std::string current;
        std::size_t index = 0;
    };
    std::vector<Frame> frames;
    auto path = [&] {
        std::string p;
        for (const auto& f : frames) {
            if (f.object && !f.keys.empty())
                p += (p.empty() ? "" : ".") + quoteInput(f.current, false);
            else if (!f.object)
                p += "[" + std::to_string(f.index) + "]";
        }
        return p;
    };
    auto elementDone = [&] {
        if (!frames.empty() && !frames.back().object) ++frames.back().index;
    };
    json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start: frames.push_back({.object = true, .keys = {}, .current = {}}); break;
            case json::parse_event_t::array_start: frames.push_back({.object = false, .keys = {}, .current = {}}); break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                frames.pop_back();
                elementDone();
                break;
            case json::parse_event_t::key: {
                auto& f = frames.back();
                f.current = parsed.get<std::string>();
                if (!f.keys.insert(f.current).second) problems.add(path(), "appears twice in the same object; give each key once");
                break;
            }
            case json::parse_event_t::value: elementDone(); break;
        }
        return true;
    };
    return json::parse(text, cb);
}

int boundedInt(const nlohmann::json& obj, const std::string& key, const std::string& field, long long lo,
               long long hi, int fallback, Problems& problems) {
    if (!obj.contains(key)) return fallback;
    const auto& v = obj[key];
    const std::string range = std::to_string(lo) + "-" + std::to_string(hi);
    if (!isWholeNumber(v)) {
        problems.add(field, notWholeNumber(v, range));
        return fallback;
    }
    const long long n = wholeNumber(v);
    if (n < lo || n > hi) {
        problems.add(field, v.dump() + " is out of range " + range);
        return fallback;
    }
    return static_cast<int>(n);
}

}  // namespace agent::config_parse
