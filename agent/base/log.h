#pragma once
// One line per event on stderr. Under systemd (JOURNAL_STREAM set) each line carries the
// sd-daemon "<N>" priority prefix, so the journal records its priority (and the time).
// Elsewhere the daemon's lines start with the local time, to the millisecond, with its
// UTC offset (2026-12-06T21:40:01.123+0000); a one-shot command's lines carry none.
#include <string>

namespace agent {

enum class Priority : int { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

void logLine(Priority p, const std::string& line);
inline void logInfo(const std::string& line) { logLine(Priority::Info, line); }
inline void logWarning(const std::string& line) { logLine(Priority::Warning, line); }
inline void logError(const std::string& line) { logLine(Priority::Error, line); }

// The daemon (`run`) asks for timestamps; they are left out under journald, which adds its own.
void logTimestamps(bool on);

}  // namespace agent
