#include "agent/daemon/probe_text.h"

#include <cctype>

namespace agent::probe_text {

namespace {

// The length of the well-formed UTF-8 sequence at the start of s, or 0 (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF).
std::size_t utf8Length(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (b(i) < 0x80 || b(i) > 0xBF) return 0;
    return n;
}

}  // namespace

std::string firstLine(std::string_view output) {
    constexpr std::size_t kMax = 200;
    const auto end = output.find_first_of("\r\n");
    std::string_view line = output.substr(0, end);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    // Shown in JSON, the log and /ready: control characters and bytes that are not UTF-8
    // (a script in another encoding) become '?'; a character is never cut in two.
    std::string out;
    std::size_t i = 0;
    while (i < line.size() && out.size() < kMax) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c < 0x80) {
            out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
            ++i;
        } else if (const std::size_t n = utf8Length(line.substr(i)); n > 0 && out.size() + n <= kMax) {
            out.append(line.substr(i, n));
            i += n;
        } else if (n > 0) {
            break;  // no room for the whole character
        } else {
            out.push_back('?');
            ++i;
        }
    }
    if (i < line.size()) out += "...";
    return out;
}

std::string rcodeName(int rcode) {
    static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    return rcode >= 0 && rcode < 6 ? names[rcode] : "RCODE " + std::to_string(rcode);
}

namespace {

constexpr std::size_t kHeader = 12;

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) { return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]); }

// The end of the question (its name's labels, then type and class) starting at `at`, or
// nullopt when it runs past the message or is not a plain name (a question is never compressed).
std::optional<std::size_t> questionEnd(std::span<const std::uint8_t> m, std::size_t at) {
    for (std::size_t labels = 0; labels < 128; ++labels) {
        if (at >= m.size()) return std::nullopt;
        const std::uint8_t len = m[at];
        if (len == 0) return at + 1 + 4 <= m.size() ? std::optional(at + 1 + 4) : std::nullopt;
        if (len > 63) return std::nullopt;
        at += 1 + len;
    }
    return std::nullopt;
}

bool sameQuestion(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(a[i]) != std::tolower(b[i])) return false;  // names compare without case
    return true;
}

}  // namespace

std::optional<std::string> dnsAnswerProblem(std::span<const std::uint8_t> query, std::span<const std::uint8_t> answer) {
    if (answer.size() < kHeader) return "a malformed answer (" + std::to_string(answer.size()) + " bytes)";
    if (query.size() < kHeader) return "no question to compare with";
    if ((answer[2] & 0x80) == 0) return std::string("a malformed answer (the response bit is not set)");
    if (be16(answer, 4) != 1) return std::string("an answer that does not echo the question");
    const auto qEnd = questionEnd(query, kHeader);
    const auto aEnd = questionEnd(answer, kHeader);
    if (!qEnd) return std::string("no question to compare with");
    if (!aEnd || !sameQuestion(query.subspan(kHeader, *qEnd - kHeader), answer.subspan(kHeader, *aEnd - kHeader)))
        return std::string("an answer that does not echo the question");
    const int rcode = answer[3] & 0x0f;
    if (rcode == 2 || rcode == 5) return "answered " + rcodeName(rcode);
    return std::nullopt;
}

std::optional<std::string> statusProblem(int status, const std::vector<int>& expected) {
    for (int e : expected)
        if (e == status) return std::nullopt;
    std::string want;
    for (std::size_t i = 0; i < expected.size(); ++i)
        want += (i == 0 ? "" : i + 1 == expected.size() ? " or " : ", ") + std::to_string(expected[i]);
    return "status " + std::to_string(status) + ", expected " + want;
}

}  // namespace agent::probe_text
