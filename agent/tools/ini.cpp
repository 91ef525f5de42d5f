#include "agent/tools/ini.h"

#include <sstream>

namespace agent {
namespace {

std::string trim(std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
}

}  // namespace

std::vector<IniLine> iniLines(const std::string& text) {
    std::vector<IniLine> out;
    std::istringstream in(text);
    std::string l, section;
    for (int n = 1; std::getline(in, l); ++n) {
        const auto b = l.find_first_not_of(" \t");
        if (b == std::string::npos || l[b] == '#' || l[b] == ';') continue;
        if (l[b] == '[') {
            const auto end = l.find(']', b);
            section = l.substr(b + 1, end == std::string::npos ? std::string::npos : end - b - 1);
            continue;
        }
        const auto eq = l.find('=');
        if (eq == std::string::npos) continue;
        out.push_back({section, trim(l.substr(b, eq - b)), trim(l.substr(eq + 1)), n});
    }
    return out;
}

}  // namespace agent
