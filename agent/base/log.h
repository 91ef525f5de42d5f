#pragma once
// One line per event on stderr. Under systemd (JOURNAL_STREAM set) each line carries the
// sd-daemon "<N>" priority prefix, so the journal records its priority.
#include <string>

namespace agent {

enum class Priority : int { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

void logLine(Priority p, const std::string& line);
inline void logInfo(const std::string& line) { logLine(Priority::Info, line); }
inline void logWarning(const std::string& line) { logLine(Priority::Warning, line); }
inline void logError(const std::string& line) { logLine(Priority::Error, line); }

}  // namespace agent
