#pragma once
// What the probes make of the bytes a service sends back, without any I/O (fuzzed):
// an exec command's first line of output, a DNS answer to our question, an HTTP status
// against the expected ones.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agent::probe_text {

// The first line of a command's output as a reason: at most 200 bytes (then "..."),
// control characters and bytes that are not UTF-8 as '?', surrounding blanks trimmed
// ("" for none): always valid UTF-8, safe in JSON and the log.
std::string firstLine(std::string_view output);

// A DNS answer to `query` (the question we sent, header first; c-ares has matched the
// ID, which it chose): nullopt when the service answered (the response bit set, our
// question echoed, an rcode other than SERVFAIL or REFUSED: NXDOMAIN is an answer), else
// why not.
std::optional<std::string> dnsAnswerProblem(std::span<const std::uint8_t> query, std::span<const std::uint8_t> answer);
// The rcode's name: "NOERROR", "NXDOMAIN", "SERVFAIL", ... or "RCODE 11".
std::string rcodeName(int rcode);

// nullopt when status is one of expected, else "status 503, expected 200 or 204".
std::optional<std::string> statusProblem(int status, const std::vector<int>& expected);

}  // namespace agent::probe_text
