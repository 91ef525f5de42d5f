#pragma once
// The key=value lines of an INI-style file (systemd units and .network files,
// networkd.conf, NetworkManager.conf), as doctor reads them: in order, with their section
// and line number. Comments (# and ;) and lines without '=' are skipped; keys and values
// are trimmed. No continuation lines, no quoting: what the checks need, nothing more.
#include <string>
#include <vector>

namespace agent {

struct IniLine {
    std::string section;  // "[Match]" -> "Match"; empty before the first section
    std::string key, value;
    int line = 0;  // 1-based
    bool operator==(const IniLine&) const = default;
};

std::vector<IniLine> iniLines(const std::string& text);

}  // namespace agent
