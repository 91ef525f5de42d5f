// libFuzzer harness: bytes as an old setup's file (the first byte picks which kind:
// shell script, ifcfg-lo:N, ifupdown interfaces, sysctl file) -> import. Whatever it
// derives must be a configuration the agent itself accepts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/config/config.h"
#include "agent/tools/importer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const char* kPaths[] = {"/etc/rc.local", "/etc/sysconfig/network-scripts/ifcfg-lo:0",
                                   "/etc/network/interfaces", "/etc/sysctl.d/99-lvs.conf"};
    const std::string path = kPaths[data[0] % 4];
    const std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
    const agent::ImportResult r = agent::importSetup({agent::TextFile{.path = path, .content = content}});
    if (!r.vips.empty()) {
        try {
            (void)agent::parseConfig(r.configJson(), "imported.json");
        } catch (const agent::ConfigError&) {
            __builtin_trap();  // import derived a configuration that check would refuse
        }
    }
    return 0;
}
