#pragma once
// Number and list wording shared by every layer's messages.
#include <cstddef>
#include <string>
#include <vector>

namespace agent {

// 10000 -> "10,000"
inline std::string thousands(std::size_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

// "a, b, c and 9,997 more"
inline std::string summarise(const std::vector<std::string>& names, std::size_t total, std::size_t shown = 3) {
    std::string out;
    const std::size_t n = names.size() < shown ? names.size() : shown;
    for (std::size_t i = 0; i < n; ++i) out += (i == 0 ? "" : ", ") + names[i];
    if (total > n) out += " and " + thousands(total - n) + " more";
    return out;
}

}  // namespace agent
