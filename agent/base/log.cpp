#include "agent/base/log.h"

#include <cstdio>
#include <cstdlib>

namespace agent {

void logLine(Priority p, const std::string& line) {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (journal)
        std::fprintf(stderr, "<%d>%s\n", static_cast<int>(p), line.c_str());
    else
        std::fprintf(stderr, "%s%s\n", p <= Priority::Error ? "error: " : "", line.c_str());
}

}  // namespace agent
