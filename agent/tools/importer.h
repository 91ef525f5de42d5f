#pragma once
// `import`: reads what an old LVS-DR setup left behind (rc.local and init scripts with
// ifconfig/route/ip/echo/sysctl lines, ifcfg-lo:N files, ifupdown lo aliases, the arp
// lines of sysctl files) and derives the equivalent configuration, plus the list of
// lines to delete once the agent runs.
#include <map>
#include <string>
#include <vector>

#include "agent/base/text_file.h"

namespace agent {

struct ImportResult {
    std::vector<std::string> vips;              // in order of appearance, unique
    bool hostRoutes = false;                    // a route add -host / ip route add was found
    std::map<std::string, int> arpIgnore;       // iface -> value
    std::map<std::string, int> arpAnnounce;
    std::vector<std::string> toDelete;          // "FILE:LINE: text" (or "FILE" for whole files)
    std::vector<std::string> notes;             // what was odd (a non-/32 netmask, ...)

    std::string configJson() const;             // the equivalent config.json
};

// Reads every file; a file named ifcfg-lo:N is read as such, others as shell scripts,
// ifupdown interfaces files or sysctl files depending on their content.
ImportResult importSetup(const std::vector<TextFile>& files);

}  // namespace agent
