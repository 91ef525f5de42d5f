#pragma once
// Reading a file the agent is handed (configuration, API token, state file, the old
// setups import and doctor read) with hard limits: a regular file (a pipe only where
// asked), at most maxBytes whatever st_size says, within a deadline. A device, a FIFO
// with a writer that never finishes or a file that keeps growing is refused with a
// reason instead of being read forever.
#include <chrono>
#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace agent {

struct TextFile {
    std::string path;  // as shown to the operator
    std::string content;
};

struct ReadLimits {
    std::size_t maxBytes = std::size_t{1} << 20;
    std::chrono::milliseconds deadline{5000};
    bool allowPipe = false;  // a FIFO or pipe (e.g. -c /dev/stdin), still bounded by the deadline
};

struct ReadError {
    int err = 0;          // the errno of a failed system call; 0 for a refusal by the limits
    std::string message;  // "No such file or directory", "is a character device, not a
                          // regular file", "larger than 1 MiB", ...: the caller names the file
};

// The file's bytes, or why not.
std::expected<std::string, ReadError> readLimited(const std::string& path, const ReadLimits& limits = {});

// "1 MiB", "4 KiB", "300 bytes".
std::string sizeText(std::size_t bytes);

// Input text as it may be echoed in a message: in double quotes (unless withQuotes is
// false), control characters escaped, and cut after 64 characters with the full length
// named, so a 100 KB argument or key is never echoed whole.
std::string quoteInput(std::string_view text, bool withQuotes = true);

// Digits as a number, saturated at `cap` (a long digit string from a script or a file is
// a big number, never an exception); nullopt when text holds anything but digits.
std::optional<int> boundedNumber(std::string_view digits, int cap = 1'000'000);

// Writes text to path all at once: into PATH.tmp, fsync, then renamed over path (or,
// with noClobber, linked to it, which refuses an existing path), and the folder synced.
// A failure leaves path as it was and no PATH.tmp behind. Errors name what failed.
std::expected<void, std::string> writeAtomically(const std::string& path, const std::string& text, unsigned mode, bool noClobber = false);

// fsync of a file or a folder (after a rename in it); false when it cannot be done.
bool syncPath(const std::string& path, bool directory);

// Where the first NUL byte is, if any: a text file never holds one.
std::optional<std::size_t> firstNul(std::string_view text);

}  // namespace agent
