// libFuzzer harness: bytes as a configuration file -> parse and validate. Any input must
// end in a Config or a ConfigError naming the file; nothing else may escape, and a
// configuration that is accepted must hold what validation promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const agent::Config cfg = agent::parseConfig(text, "fuzz.json");
        if (cfg.vips.empty()) __builtin_trap();
        if (cfg.checkIntervalMs < 10 || cfg.drain.minSeconds < 0 || cfg.drain.maxSeconds > 3600 || cfg.drain.minSeconds > cfg.drain.maxSeconds)
            __builtin_trap();
        if (cfg.api.enabled && (cfg.api.port < 1 || cfg.api.port > 65535)) __builtin_trap();
        for (const auto& s : cfg.services)
            if (s.timeoutMs > s.intervalMs) __builtin_trap();
    } catch (const agent::ConfigError& e) {
        if (e.problems().empty()) __builtin_trap();
        for (const auto& p : e.problems())
            if (p.rfind("fuzz.json: ", 0) != 0 || p.size() > 4096) __builtin_trap();
    }
    return 0;
}
