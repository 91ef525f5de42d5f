#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "agent/config/config.h"
#include "temp_dir.h"

using agent::ConfigError;
using agent::parseConfig;

namespace {

// What the configuration says of its VIPs, one view at a time.
std::set<netcfg::IpAddress> notAnnounced(const agent::Config& c) {
    std::set<netcfg::IpAddress> out;
    for (const auto& v : c.vips)
        if (!v.announce) out.insert(v.address);
    return out;
}
std::vector<netcfg::IpAddress> drained(const agent::Config& c) {
    std::vector<netcfg::IpAddress> out;
    for (const auto& v : c.vips)
        if (v.drained) out.push_back(v.address);
    return out;
}
std::vector<std::string> sources(const agent::Config& c) {
    std::vector<std::string> out;
    for (const auto& v : c.vips) out.push_back(v.source);
    return out;
}
std::size_t rangeCount(const agent::Config& c) {
    std::size_t n = 0;
    for (const auto& v : c.vips) n += v.isRange() ? 1 : 0;
    return n;
}

// The problems reported for a document, joined; empty when it is valid.
std::string problemsOf(const std::string& text, const std::vector<std::string>& cli = {}) {
    try {
        parseConfig(text, "cfg.json", cli);
        return "";
    } catch (const ConfigError& e) {
        return e.what();
    }
}

struct BadCase {
    const char* name;
    const char* json;
    const char* expected;  // must appear in the message
};

const BadCase kBad[] = {
    {"empty file", "", "cfg.json: (document): the file is empty"},
    {"whitespace only", "  \n ", "the file is empty"},
    {"truncated", R"({"vips": ["198.51.100.1")", "not valid JSON at line 1, column 25: the text ends too early"},
    {"trailing comma", "{\"vips\": [\"198.51.100.1\",\n  ]}", "not valid JSON at line 2, column 3: a trailing comma before ']' (JSON allows none: remove the comma)"},
    {"single quotes", R"({'vips': []})", "not valid JSON at line 1, column 2: a single quote: JSON strings take double quotes"},
    {"trailing garbage", R"({"vips": ["198.51.100.1"]} x)", "not valid JSON"},
    {"array document", R"(["198.51.100.1"])", "(document): must be a JSON object, not array"},
    {"string document", R"("198.51.100.1")", "must be a JSON object, not string"},
    {"null document", "null", "must be a JSON object, not null"},
    {"announce not an object", R"({"vips": ["198.51.100.1"], "announce": 200})", "announce: must be an object such as {\"table\": 200}"},
    {"announce without a table", R"({"vips": ["198.51.100.1"], "announce": {}})", "announce.table: missing: the kernel route table"},
    {"announce into main", R"({"vips": ["198.51.100.1"], "announce": {"table": 254}})", "announce.table: 254 is table main, which the kernel and other programs use"},
    {"announce into local", R"({"vips": ["198.51.100.1"], "announce": {"table": 255}})", "255 is table local"},
    {"announce table 0", R"({"vips": ["198.51.100.1"], "announce": {"table": 0}})", "announce.table: 0 is out of the kernel's range 1-4294967295"},
    {"announce table too large", R"({"vips": ["198.51.100.1"], "announce": {"table": 4294967296}})", "4294967296 is out of the kernel's range"},
    {"announce table a string", R"({"vips": ["198.51.100.1"], "announce": {"table": "200"}})", "announce.table: expected a whole number (a kernel route table id, e.g. 200), got the string \"200\" (write 200, without quotes)"},
    {"announce metric negative", R"({"vips": ["198.51.100.1"], "announce": {"table": 200, "metric": -1}})", "announce.metric: -1 is out of the kernel's range"},
    {"announce unknown key", R"({"vips": ["198.51.100.1"], "announce": {"table": 200, "tabel": 1}})", "announce.tabel: unknown key"},
    {"a VIP's announce not a bool", R"({"vips": [{"address": "198.51.100.1", "announce": "no"}]})", "vips[0].announce: must be true or false"},
    {"typo vip", R"({"vip": ["198.51.100.1"]})", "cfg.json: vip: unknown key \"vip\" (did you mean \"vips\"?)"},
    {"unknown key", R"({"vips": ["198.51.100.1"], "colour": 1})", "colour: unknown key \"colour\" (known keys: vips, arp, host_routes, announce, tunnel, nat, colocated, check_interval_ms, drain, drain_seconds, resync_interval_seconds, keep_on_exit, api, services, director)"},
    {"missing vips", "{}", "vips: missing"},
    {"vips not a list", R"({"vips": "198.51.100.1"})", "vips: must be a list of address strings"},
    {"empty vips", R"({"vips": []})", "vips: is empty"},
    {"vip not a string", R"({"vips": [42]})", "vips[0]: must be an address string such as \"198.51.100.188\" or an object"},
    {"vip object without address", R"({"vips": [{"drained": true}]})", "vips[0].address: missing: the VIP's address"},
    {"vip object address not a string", R"({"vips": [{"address": 1}]})", "vips[0].address: must be an address string"},
    {"vip object drained not a boolean", R"({"vips": [{"address": "198.51.100.1", "drained": "yes"}]})", "vips[0].drained: must be true or false"},
    {"vip object unknown key", R"({"vips": [{"address": "198.51.100.1", "drain": true}]})", "vips[0].drain: unknown key \"drain\""},
    {"vip object bad address", R"({"vips": [{"address": "198.51.100.1/24", "drained": true}]})", "vips[0]: \"198.51.100.1/24\" has prefix /24"},
    {"vip object duplicate", R"({"vips": ["198.51.100.1", {"address": "198.51.100.1", "drained": true}]})", "vips[1]: \"198.51.100.1\" duplicates vips[0]"},
    {"malformed address", R"({"vips": ["198.51.100"]})", "vips[0]: \"198.51.100\" is not an IPv4 or IPv6 address"},
    {"hostname", R"({"vips": ["www.example.com"]})", "is not an IPv4 or IPv6 address"},
    {"prefix /24", R"({"vips": ["198.51.100.188/24"]})", "has prefix /24; DR binds a VIP as a host address (/32): write \"198.51.100.188\""},
    {"ipv6 prefix /64", R"({"vips": ["2001:db8::1/64"]})", "has prefix /64; DR binds a VIP as a host address (/128)"},
    {"duplicate", R"({"vips": ["198.51.100.1", "198.51.100.1"]})", "vips[1]: \"198.51.100.1\" duplicates vips[0]"},
    {"duplicate ipv6 spelling", R"({"vips": ["2001:db8::1", "2001:DB8:0::1"]})", "vips[1]: \"2001:DB8:0::1\" duplicates vips[0]"},
    {"limited broadcast", R"({"vips": ["255.255.255.255"]})", "is the broadcast address"},
    {"loopback v4", R"({"vips": ["127.0.0.2"]})", "127.0.0.2 is a loopback address"},
    {"loopback v6", R"({"vips": ["::1"]})", "::1 is the loopback address"},
    {"multicast v4", R"({"vips": ["224.0.0.5"]})", "224.0.0.5 is a multicast address"},
    {"multicast v6", R"({"vips": ["ff02::1"]})", "ff02::1 is a multicast address"},
    {"unspecified v4", R"({"vips": ["0.0.0.0"]})", "0.0.0.0 is the unspecified address"},
    {"unspecified v6", R"({"vips": ["::"]})", ":: is the unspecified address"},
    {"link-local v6", R"({"vips": ["fe80::1"]})", "fe80::1 is a link-local address"},
    {"v4-mapped", R"({"vips": ["::ffff:198.51.100.1"]})", "is an IPv4-mapped address"},
    {"arp not object", R"({"vips": ["198.51.100.1"], "arp": 1})", "arp: must be an object"},
    {"arp typo", R"({"vips": ["198.51.100.1"], "arp": {"ignor": 1}})", "arp.ignor: unknown key \"ignor\" (did you mean \"ignore\"?)"},
    {"arp_ignore too big", R"({"vips": ["198.51.100.1"], "arp": {"ignore": 9}})", "arp.ignore: 9 is out of the kernel's range 0-8"},
    {"arp_ignore negative", R"({"vips": ["198.51.100.1"], "arp": {"ignore": -1}})", "arp.ignore: -1 is out of the kernel's range 0-8"},
    {"arp_ignore zero", R"({"vips": ["198.51.100.1"], "arp": {"ignore": 0}})", "arp.ignore: 0 lets this host answer ARP"},
    {"arp_ignore reserved", R"({"vips": ["198.51.100.1"], "arp": {"ignore": 5}})", "5 is reserved by the kernel"},
    {"arp_ignore string", R"({"vips": ["198.51.100.1"], "arp": {"ignore": "1"}})", "arp.ignore: expected a whole number (1, 2, 3 or 8), got the string \"1\" (write 1, without quotes)"},
    {"arp_ignore float", R"({"vips": ["198.51.100.1"], "arp": {"ignore": 1.5}})", "arp.ignore: expected a whole number (1, 2, 3 or 8), got 1.5, which is not whole"},
    {"service port a string", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "type": "tcp", "port": "80"}]})",
     "services[0].port: expected a whole number (1-65535), got the string \"80\" (write 80, without quotes)"},
    {"arp_announce too big", R"({"vips": ["198.51.100.1"], "arp": {"announce": 3}})", "arp.announce: 3 is out of the kernel's range 0-2"},
    {"arp_announce zero", R"({"vips": ["198.51.100.1"], "arp": {"announce": 0}})", "arp.announce: 0 lets this host announce the VIP"},
    {"interfaces empty", R"({"vips": ["198.51.100.1"], "arp": {"interfaces": []}})", "arp.interfaces: must be a non-empty list"},
    {"interface with slash", R"({"vips": ["198.51.100.1"], "arp": {"interfaces": ["lo/x"]}})", "arp.interfaces[0]: \"lo/x\" is not a valid interface name"},
    {"interface too long", R"({"vips": ["198.51.100.1"], "arp": {"interfaces": ["abcdefghijklmnop"]}})", "\"abcdefghijklmnop\" is not a valid interface name"},
    {"interface dotdot", R"({"vips": ["198.51.100.1"], "arp": {"interfaces": [".."]}})", "\"..\" is not a valid interface name"},
    {"interface twice", R"({"vips": ["198.51.100.1"], "arp": {"interfaces": ["lo", "lo"]}})", "arp.interfaces[1]: \"lo\" is listed twice"},
    {"interface not string", R"({"vips": ["198.51.100.1"], "arp": {"interfaces": [1]}})", "arp.interfaces[0]: must be a string"},
    {"host_routes not bool", R"({"vips": ["198.51.100.1"], "host_routes": "yes"})", "host_routes: must be true or false"},
    {"check interval too small", R"({"vips": ["198.51.100.1"], "check_interval_ms": 1})", "check_interval_ms: 1 is out of range 10-60000"},
    {"drain negative", R"({"vips": ["198.51.100.1"], "drain_seconds": -5})", "drain_seconds: -5 is out of range 0-3600"},
    {"drain both spellings", R"({"vips": ["198.51.100.1"], "drain_seconds": 5, "drain": {"max_seconds": 5}})",
     "drain_seconds: is the older spelling of drain.max_seconds; give \"drain\" or \"drain_seconds\", not both"},
    {"drain min above max", R"({"vips": ["198.51.100.1"], "drain": {"min_seconds": 30, "max_seconds": 10}})",
     "drain.min_seconds: 30 is longer than drain.max_seconds 10"},
    {"drain min above the default max", R"({"vips": ["198.51.100.1"], "drain": {"min_seconds": 90}})",
     "drain.min_seconds: 90 is longer than drain.max_seconds 60 (its default)"},
    {"drain not an object", R"({"vips": ["198.51.100.1"], "drain": 5})", "drain: must be an object such as {\"min_seconds\": 5, \"max_seconds\": 60}"},
    {"drain unknown key", R"({"vips": ["198.51.100.1"], "drain": {"max": 5}})", "drain.max: unknown key \"max\""},
    {"drain max too large", R"({"vips": ["198.51.100.1"], "drain": {"max_seconds": 3601}})", "drain.max_seconds: 3601 is out of range 0-3600"},
    {"keep_on_exit not bool", R"({"vips": ["198.51.100.1"], "keep_on_exit": 1})", "keep_on_exit: must be true or false"},
    {"api without listen", R"({"vips": ["198.51.100.1"], "api": {}})", "api.listen: missing"},
    {"api listen no port", R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1"}})", "api.listen: \"127.0.0.1\" must be ADDR:PORT"},
    {"api listen bad port", R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:99999"}})", "api.listen: port \"99999\" must be 1-65535"},
    {"api listen port 0", R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:0"}})", "api.listen: port \"0\" must be 1-65535 (port 0 would listen on a random port"},
    {"duplicate key", R"({"vips": ["198.51.100.1"], "vips": ["198.51.100.2"]})", "cfg.json: vips: appears twice in the same object"},
    {"duplicate nested key", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "port": 80}, {"vip": "198.51.100.1", "port": 81, "port": 82}]})", "services[1].port: appears twice in the same object"},
    {"duplicate key in arp", R"({"vips": ["198.51.100.1"], "arp": {"ignore": 1, "ignore": 2}})", "arp.ignore: appears twice"},
    {"overflowing number", R"({"vips": ["198.51.100.1"], "check_interval_ms": 18446744073709551615})", "check_interval_ms: 18446744073709551615 is out of range 10-60000"},
    {"overflowing arp_ignore", R"({"vips": ["198.51.100.1"], "arp": {"ignore": 18446744073709551615}})", "arp.ignore: 18446744073709551615 is out of the kernel's range 0-8"},
    {"huge negative", R"({"vips": ["198.51.100.1"], "drain_seconds": -9223372036854775808})", "drain_seconds: -9223372036854775808 is out of range 0-3600"},
    {"number beyond a double", R"({"vips": ["198.51.100.1"], "drain_seconds": 1e400})", "cfg.json: (document): cannot be read: number overflow parsing '1e400'"},
    {"ipv4-compatible v6", R"({"vips": ["::198.51.100.1"]})", "::198.51.100.1 is a deprecated IPv4-compatible IPv6 address (RFC 4291); write the IPv4 address 198.51.100.1 instead"},
    {"control character in a key", "{\"vips\": [\"198.51.100.1\"], \"a\\u0001b\": 1}", "unknown key \"a\\x01b\""},
    {"api listen without an address", R"({"vips": ["198.51.100.1"], "api": {"listen": ":9100"}})", "api.listen: \":9100\" has no address: write \"0.0.0.0:9100\" (every IPv4 address), \"[::]:9100\" (every address)"},
    {"api listen hostname", R"({"vips": ["198.51.100.1"], "api": {"listen": "localhost:9100"}})", "api.listen: \"localhost\" is not an IP address"},
    {"api typo", R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:9100", "tokenfile": "x"}})", "api.tokenfile: unknown key \"tokenfile\" (did you mean \"token_file\"?)"},
    {"token file missing", R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:9100", "token_file": "/nonexistent/token"}})", "api.token_file: cannot read /nonexistent/token"},
    {"agent check port", R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:9100", "agent_check_port": 0}})", "api.agent_check_port: 0 is out of range 1-65535"},
    {"service vip unknown", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.2", "port": 80}]})", "services[0].vip: \"198.51.100.2\" is not one of the configured vips"},
    {"service port missing", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1"}]})", "services[0].port: missing"},
    {"service type", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "port": 80, "type": "udp"}]})", "services[0].type: must be \"tcp\", \"http\", \"https\", \"exec\" or \"dns\""},
    {"service path", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "port": 80, "type": "http", "path": "health"}]})", "services[0].path: must be an absolute URL path"},
    {"service timeout > interval", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "port": 80, "interval_ms": 500, "timeout_ms": 900}]})", "services[0].timeout_ms: 900 is longer than interval_ms 500"},
    {"service twice", R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "port": 80}, {"vip": "198.51.100.1", "port": 80}]})", "services: tcp 198.51.100.1:80 is checked twice"},
    {"tunnel not object", R"({"vips": ["198.51.100.1"], "tunnel": ["eth0"]})", "tunnel: must be an object such as"},
    {"tunnel typo", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "directors": ["198.51.100.50"], "director": "x"}})", "tunnel.director: unknown key \"director\" (did you mean \"directors\"?)"},
    {"tunnel no interfaces", R"({"vips": ["198.51.100.1"], "tunnel": {"directors": ["198.51.100.50"]}})", "tunnel.interfaces: missing"},
    {"tunnel empty interfaces", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": [], "directors": ["198.51.100.50"]}})", "tunnel.interfaces: must be a non-empty list"},
    {"tunnel on lo", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["lo"], "directors": ["198.51.100.50"]}})", "tunnel.interfaces[0]: \"lo\": tunnel packets arrive on the interface facing the directors"},
    {"tunnel bad interface", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0/1"], "directors": ["198.51.100.50"]}})", "tunnel.interfaces[0]: \"eth0/1\" is not an interface name"},
    {"tunnel interface twice", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0", "eth0"], "directors": ["198.51.100.50"]}})", "tunnel.interfaces[1]: \"eth0\" is listed twice"},
    {"tunnel no directors", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"]}})", "tunnel.directors: missing"},
    {"tunnel director bad", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "directors": ["198.51.100.0/24"]}})", "tunnel.directors[0]: \"198.51.100.0/24\" is not an IPv4 or IPv6 address"},
    {"tunnel director multicast", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "directors": ["224.0.0.5"]}})", "tunnel.directors[0]: 224.0.0.5 is a multicast"},
    {"tunnel director is vip", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "directors": ["198.51.100.1"]}})", "tunnel.directors[0]: 198.51.100.1 is a VIP of this server, not a director"},
    {"tunnel director twice", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "directors": ["2001:db8::50", "2001:DB8::50"]}})", "tunnel.directors[1]: 2001:db8::50 is listed twice"},
    {"tunnel encap unknown", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "encap": ["gre"], "directors": ["198.51.100.50"]}})", "tunnel.encap[0]: \"gre\" is not an encapsulation: \"ipip\" or \"gue\""},
    {"tunnel gue without port", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "encap": ["gue"], "directors": ["198.51.100.50"]}})", "tunnel.gue_port: missing: the UDP port the directors send GUE to"},
    {"tunnel port without gue", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "gue_port": 6080, "directors": ["198.51.100.50"]}})", "tunnel.gue_port: is set but \"gue\" is not in tunnel.encap"},
    {"tunnel gue port range", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "encap": ["gue"], "gue_port": 70000, "directors": ["198.51.100.50"]}})", "tunnel.gue_port: 70000 is out of range 1-65535"},
    {"tunnel mss small", R"({"vips": ["198.51.100.1"], "tunnel": {"interfaces": ["eth0"], "mss": 100, "directors": ["198.51.100.50"]}})", "tunnel.mss: 100 is out of range 536-65495"},
};

}  // namespace

TEST_SUITE("config") {
    TEST_CASE("every bad input is rejected with a message naming the file, the field and the problem") {
        CHECK(std::size(kBad) >= 25);
        for (const auto& c : kBad) {
            CAPTURE(c.name);
            const std::string msg = problemsOf(c.json);
            CHECK_MESSAGE(msg.find(c.expected) != std::string::npos, "got: " << msg);
            CHECK(msg.rfind("cfg.json: ", 0) == 0);
        }
    }

    TEST_CASE("the API token file: a regular file only its owner can read, one line of 32+ printable characters") {
        fixtures::TempDir dir("lvs-token-");
        const auto tokenProblems = [&](const std::string& content, mode_t mode) {
            const auto path = dir.path / "token";
            std::filesystem::remove(path);
            std::ofstream(path) << content;
            ::chmod(path.c_str(), mode);
            return problemsOf(R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:9100", "token_file": ")" + path.string() + "\"}}");
        };
        const std::string good = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
        CHECK(tokenProblems(good + "\n", 0600) == "");
        CHECK(tokenProblems(good + "\r\n", 0400) == "");
        const std::string p = (dir.path / "token").string();
        CHECK(tokenProblems(good, 0644) == "cfg.json: api.token_file: " + p + " has mode 0644: group or others may read or change it, "
                                            "so any local user could drain this node; run: chmod 600 " + p);
        CHECK(tokenProblems(good, 0620).find("has mode 0620") != std::string::npos);
        const std::string howTo = "; make one with: (umask 077; head -c 32 /dev/urandom | base64 > " + p + ")";
        CHECK(tokenProblems("s3cret-token-0123456789\n", 0600) ==
              "cfg.json: api.token_file: " + p + " holds a token of 23 characters; at least 32 are needed" + howTo);
        CHECK(tokenProblems(good + "\n" + good + "\n", 0600).find("holds more than one line") != std::string::npos);
        CHECK(tokenProblems(good + " x", 0600).find("holds a space or a control character") != std::string::npos);
        CHECK(tokenProblems(std::string("abc\0", 4) + good, 0600).find("holds a NUL byte") != std::string::npos);
        CHECK(tokenProblems("", 0600).find("holds a token of 0 characters") != std::string::npos);
        std::filesystem::create_directory(dir.path / "tokdir");
        ::chmod((dir.path / "tokdir").c_str(), 0700);
        CHECK(problemsOf(R"({"vips": ["198.51.100.1"], "api": {"listen": "127.0.0.1:9100", "token_file": ")" + (dir.path / "tokdir").string() + "\"}}")
                  .find("tokdir is a directory; it must be a file holding the token") != std::string::npos);
    }

    TEST_CASE("announce: the table and metric, and a VIP opted out") {
        const auto cfg = parseConfig(R"({"vips": ["198.51.100.1", {"address": "198.51.100.2", "announce": false}],
                                         "announce": {"table": 200, "metric": 20}})", "cfg.json");
        CHECK(cfg.announce.table == 200);
        CHECK(cfg.announce.metric == 20);
        CHECK(notAnnounced(cfg) == std::set<netcfg::IpAddress>{*netcfg::IpAddress::parse("198.51.100.2")});
        CHECK_FALSE(parseConfig(R"({"vips": ["198.51.100.1"]})", "cfg.json").announce.enabled());
        CHECK(parseConfig(R"({"vips": ["198.51.100.1"], "announce": {"table": 4294967295}})", "cfg.json").announce.table == 4294967295u);
    }

    TEST_CASE("ranges: {\"prefix\": ...} entries, each kept by its network address with its length") {
        const auto cfg = parseConfig(R"({"vips": ["198.51.100.1", {"prefix": "198.18.0.0/16"}, {"prefix": "2001:db8:1::/64", "announce": false}],
                                         "services": [{"vip": "198.18.7.9", "port": 80}]})", "cfg.json");
        REQUIRE(cfg.vips.size() == 3);
        const auto vips = cfg.addresses();
        CHECK(vips[1] == *netcfg::IpAddress::parse("198.18.0.0"));
        CHECK(cfg.rangeLength(vips[0]) == -1);
        CHECK(cfg.rangeLength(vips[1]) == 16);
        CHECK(cfg.rangeLength(vips[2]) == 64);
        CHECK(cfg.vipText(vips[1]) == "198.18.0.0/16");
        CHECK(cfg.vipText(vips[0]) == "198.51.100.1");
        CHECK(notAnnounced(cfg) == std::set<netcfg::IpAddress>{vips[2]});
        CHECK(cfg.vipHolding(*netcfg::IpAddress::parse("198.18.255.255")) == vips[1]);
        CHECK(cfg.vipHolding(*netcfg::IpAddress::parse("198.51.100.1")) == vips[0]);
        CHECK_FALSE(cfg.vipHolding(*netcfg::IpAddress::parse("198.19.0.1")));
        REQUIRE(cfg.services.size() == 1);  // a service may name one address of a range
        // the narrowest ranges: a /32 and a /128 (one address bound without an address on lo)
        CHECK(rangeCount(parseConfig(R"({"vips": [{"prefix": "198.51.100.188/32"}, {"prefix": "2001:db8::188/128"}]})", "cfg.json")) == 2);
    }

    TEST_CASE("a bad range names the field and the problem, and nothing is taken") {
        const std::pair<const char*, const char*> bad[] = {
            {R"({"vips": [{"prefix": "198.18.0.1/24"}]})", "vips[0].prefix: \"198.18.0.1/24\" has host bits set: the network is 198.18.0.0/24"},
            {R"({"vips": [{"prefix": "198.18.0.0/15"}]})", "vips[0].prefix: \"198.18.0.0/15\" is wider than /16, the widest range accepted (65,536 addresses)"},
            {R"({"vips": [{"prefix": "2001:db8::/48"}]})", "vips[0].prefix: \"2001:db8::/48\" is wider than /64"},
            {R"({"vips": [{"prefix": "198.18.0.0/33"}]})", "vips[0].prefix: \"198.18.0.0/33\": the length must be a whole number up to 32"},
            {R"({"vips": [{"prefix": "198.18.0.0"}]})", "vips[0].prefix: \"198.18.0.0\" is not a prefix"},
            {R"({"vips": [{"prefix": "198.18.0.0/x"}]})", "the length must be a whole number"},
            {R"({"vips": [{"prefix": "example/24"}]})", "\"example\" is not an IPv4 or IPv6 address"},
            {R"({"vips": [{"prefix": "127.0.0.0/16"}]})", "is not a unicast range"},
            {R"({"vips": [{"prefix": "ff02::/64"}]})", "is not a global unicast range"},
            {R"({"vips": [{"prefix": 24}]})", "vips[0].prefix: must be a prefix string"},
            {R"({"vips": [{"prefix": "198.18.0.0/24", "drained": true}]})", "vips[0].drained: unknown key"},
            {R"({"vips": [{"prefix": "198.18.0.0/24", "announce": "no"}]})", "vips[0].announce: must be true or false"},
            {R"({"vips": [{"prefix": "198.18.0.0/24"}, "198.18.0.7"]})", "vips: 198.18.0.7 overlaps the range 198.18.0.0/24"},
            {R"({"vips": [{"prefix": "198.18.0.0/16"}, {"prefix": "198.18.4.0/24"}]})", "vips: 198.18.4.0/24 overlaps the range 198.18.0.0/16"},
            {R"({"vips": [{"prefix": "198.18.0.0/24"}, {"prefix": "198.18.0.0/24"}]})", "duplicates vips[0]"},
            {R"({"vips": [{"prefix": "198.18.0.0/24"}], "services": [{"vip": "198.18.1.1", "port": 80}]})", "services[0].vip: \"198.18.1.1\" is not one of the configured vips"},
        };
        for (const auto& [json, expected] : bad) {
            CAPTURE(json);
            const std::string msg = problemsOf(json);
            CHECK_MESSAGE(msg.find(expected) != std::string::npos, "got: " << msg);
        }
    }

    TEST_CASE("a drop-in's range overlapping the main file's VIP is named with both files") {
        fixtures::TempDir dir("lvs-ranges-");
        const auto main = (dir.path / "config.json").string();
        std::ofstream(main) << R"({"vips": ["198.18.0.7"]})";
        std::filesystem::create_directory(dir.path / "conf.d");
        const auto d = (dir.path / "conf.d" / "10-range.json").string();
        std::ofstream(d) << R"({"vips": [{"prefix": "198.18.0.0/24"}]})";
        try {
            agent::loadConfig(main, {});
            FAIL("an overlap was accepted");
        } catch (const ConfigError& e) {
            REQUIRE(e.problems().size() == 1);
            CHECK(e.problems()[0] == "vips: 198.18.0.7 (" + main + ") overlaps the range 198.18.0.0/24 (" + d +
                                         "): each address belongs to one VIP or range");
        }
        std::ofstream(main) << R"({"vips": ["198.51.100.1"]})";
        const auto cfg = agent::loadConfig(main, {});
        CHECK(cfg.rangeLength(*netcfg::IpAddress::parse("198.18.0.0")) == 24);
    }

    TEST_CASE("a NUL byte is refused, not taken as the end of the document") {
        std::string text = R"({"vips": ["198.51.100.1"]})";
        text.push_back('\0');
        text += R"({"vips": ["198.51.100.2"]})";
        CHECK(problemsOf(text) == "cfg.json: (document): holds a NUL byte at byte 26; a configuration is JSON text");
    }

    TEST_CASE("long input is echoed cut short, with its length") {
        const std::string longVip(100000, 'a');
        const std::string msg = problemsOf("{}", {longVip});
        CHECK(msg.size() < 300);
        CHECK(msg.find("...\" (100000 bytes) is not an IPv4 or IPv6 address") != std::string::npos);
        const std::string longKey = "{\"vips\": [\"198.51.100.1\"], \"" + std::string(5000, 'k') + "\": 1}";
        CHECK(problemsOf(longKey).size() < 1000);
    }

    TEST_CASE("all problems are reported, not just the first") {
        const std::string msg = problemsOf(R"({"vip": 1, "vips": ["127.0.0.2", "x"], "arp": {"ignore": 9}})");
        CHECK(msg.find("unknown key \"vip\"") != std::string::npos);
        CHECK(msg.find("vips[0]") != std::string::npos);
        CHECK(msg.find("vips[1]") != std::string::npos);
        CHECK(msg.find("arp.ignore") != std::string::npos);
    }

    TEST_CASE("defaults") {
        const auto cfg = parseConfig(R"({"vips": ["198.51.100.188", "2001:db8::10/128", "203.0.113.7/32"]})", "f");
        REQUIRE(cfg.vips.size() == 3);
        CHECK(cfg.vips[0].address.str() == "198.51.100.188");
        CHECK(cfg.vips[1].address.str() == "2001:db8::10");
        CHECK(cfg.vips[2].address.str() == "203.0.113.7");
        CHECK(cfg.arp.ignore == 1);
        CHECK(cfg.arp.announce == 2);
        CHECK(cfg.arp.interfaces == std::vector<std::string>{"lo", "all"});
        CHECK(cfg.hostRoutes);
    }

    TEST_CASE("every key is honoured") {
        const auto cfg = parseConfig(
            R"({"vips": ["198.51.100.1"], "arp": {"ignore": 2, "announce": 1, "interfaces": ["lo", "eth0.100"]}, "host_routes": false})",
            "f");
        CHECK(cfg.arp.ignore == 2);
        CHECK(cfg.arp.announce == 1);
        CHECK(cfg.arp.interfaces == std::vector<std::string>{"lo", "eth0.100"});
        CHECK_FALSE(cfg.hostRoutes);
    }

    TEST_CASE("watch-mode keys") {
        const auto cfg = parseConfig(R"({"vips": ["198.51.100.1", "2001:db8::1"], "check_interval_ms": 250, "drain_seconds": 0,
            "keep_on_exit": true, "api": {"listen": "[::1]:9100", "agent_check_port": 9101, "agent_check_weight": 50},
            "services": [{"vip": "2001:db8::1", "port": 80, "type": "http", "path": "/health", "expect_status": 204,
                          "interval_ms": 500, "timeout_ms": 200, "rise": 1, "fall": 2}]})",
                                     "f");
        CHECK(cfg.checkIntervalMs == 250);
        CHECK(cfg.drain.maxSeconds == 0);  // drain_seconds: the maximum
        CHECK(cfg.drain.minSeconds == 0);  // the minimum never above it
        CHECK(cfg.keepOnExit);
        CHECK(cfg.api.enabled);
        CHECK(cfg.api.host == "::1");
        CHECK(cfg.api.port == 9100);
        CHECK(cfg.api.agentCheckPort == 9101);
        CHECK(cfg.api.agentCheckWeight == 50);
        REQUIRE(cfg.services.size() == 1);
        CHECK(cfg.services[0].name() == "http [2001:db8::1]:80/health");
        CHECK(cfg.services[0].expectStatus == std::vector<int>{204});
        CHECK(cfg.services[0].rise == 1);
        const auto defaults = parseConfig(R"({"vips": ["198.51.100.1"]})", "f");
        CHECK(defaults.checkIntervalMs == 1000);
        CHECK(defaults.drain.minSeconds == 5);
        CHECK(defaults.drain.maxSeconds == 60);
        CHECK_FALSE(defaults.keepOnExit);
        CHECK_FALSE(defaults.api.enabled);
    }

    TEST_CASE("--vip replaces the file's vips and is validated the same way") {
        const auto cfg = parseConfig(R"({"vips": ["198.51.100.1"]})", "f", {"203.0.113.9"});
        REQUIRE(cfg.vips.size() == 1);
        CHECK(cfg.vips[0].address.str() == "203.0.113.9");
        CHECK(problemsOf("{}", {"198.51.100.5/24"}).find("--vip[0]: \"198.51.100.5/24\" has prefix /24") != std::string::npos);
        // The field names its source once: "--vip[0]: ...", not "--vip: --vip[0]: ...".
        try {
            agent::loadConfig(std::nullopt, {"198.51.100.5/24"});
            FAIL("a /24 --vip was accepted");
        } catch (const agent::ConfigError& e) {
            CHECK(e.problems().at(0).rfind("--vip[0]: \"198.51.100.5/24\" has prefix /24", 0) == 0);
        }
        CHECK(problemsOf("{}", {"198.51.100.5", "198.51.100.5"}).find("--vip[1]") != std::string::npos);
    }

    TEST_CASE("loadConfig: missing, unreadable, directory, --vip without a file") {
        namespace fs = std::filesystem;
        const fs::path dir = fs::temp_directory_path() / ("lvs-cfg-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        auto msgOf = [](const std::optional<std::string>& path, std::vector<std::string> vips = {}) {
            try {
                agent::loadConfig(path, vips);
                return std::string();
            } catch (const ConfigError& e) {
                return std::string(e.what());
            }
        };
        CHECK(msgOf((dir / "nope.json").string()).find("nope.json: cannot read: No such file or directory") != std::string::npos);
        CHECK(msgOf(dir.string()).find("is a directory") != std::string::npos);
        {
            std::ofstream(dir / "trunc.json") << R"({"vips": ["198.51.1)";
        }
        CHECK(msgOf((dir / "trunc.json").string()).find("trunc.json: (document): not valid JSON") != std::string::npos);
        {
            std::ofstream(dir / "ok.json") << R"({"vips": ["198.51.100.188"]})";
        }
        CHECK(msgOf((dir / "ok.json").string()).empty());
        CHECK(agent::loadConfig(std::nullopt, {"198.51.100.7"}).source == "--vip");
        // Devices and sockets are refused before a byte is read; size is checked on what
        // is read, not on st_size.
        CHECK(msgOf("/dev/zero") == "/dev/zero: cannot read: is a character device, not a regular file");
        {
            std::ofstream big(dir / "big.json");
            big << R"({"vips": ["198.51.100.1"], "x": ")" << std::string(1 << 20, 'x') << "\"}";
        }
        CHECK(msgOf((dir / "big.json").string()).find("big.json: cannot read: larger than 1 MiB") != std::string::npos);
        fs::remove_all(dir);
    }
}

namespace {

// A main file and its conf.d, in a fresh folder.
struct DropInDir {
    fixtures::TempDir dir{"lvs-dropins-"};
    std::string main = (dir.path / "config.json").string();
    void write(const std::string& name, const std::string& text) {
        std::filesystem::create_directories((dir.path / name).parent_path());
        std::ofstream(dir.path / name) << text;
    }
    std::vector<std::string> problems(const std::optional<std::string>& configDir = std::nullopt) {
        try {
            agent::loadConfig(main, {}, configDir);
        } catch (const agent::ConfigError& e) {
            return e.problems();
        }
        return {};
    }
};

}  // namespace

TEST_SUITE("config drop-ins") {
    TEST_CASE("drop-ins add VIPs and services after the main file, in lexical order, each VIP knows its file") {
        DropInDir d;
        d.write("config.json", R"({"vips": ["198.51.100.1"], "drain_seconds": 2})");
        d.write("conf.d/20-web.json", R"({"vips": ["198.51.100.3"], "services": [{"vip": "198.51.100.3", "port": 80}]})");
        d.write("conf.d/10-mail.json", R"({"vips": ["198.51.100.2", "2001:db8::2"]})");
        d.write("conf.d/README", "not JSON, not read");
        d.write("conf.d/30-old.json.dpkg-old", "{");
        d.write("conf.d/.hidden.json", "{");
        const auto cfg = agent::loadConfig(d.main, {});
        std::vector<std::string> vips;
        for (const auto& v : cfg.vips) vips.push_back(v.address.str());
        CHECK(vips == std::vector<std::string>{"198.51.100.1", "198.51.100.2", "2001:db8::2", "198.51.100.3"});
        CHECK(sources(cfg) == std::vector<std::string>{d.main, (d.dir.path / "conf.d/10-mail.json").string(),
                                                          (d.dir.path / "conf.d/10-mail.json").string(),
                                                          (d.dir.path / "conf.d/20-web.json").string()});
        CHECK(cfg.dropIns.size() == 2);
        REQUIRE(cfg.services.size() == 1);
        CHECK(cfg.services[0].port == 80);
        CHECK(cfg.drain.maxSeconds == 2);
    }

    TEST_CASE("a VIP may be an object: {\"address\", \"drained\"}, in the main file and in drop-ins") {
        DropInDir d;
        d.write("config.json", R"({"vips": ["198.51.100.1", {"address": "198.51.100.2", "drained": true}, {"address": "198.51.100.3", "drained": false}]})");
        d.write("conf.d/10-web.json", R"({"vips": [{"address": "2001:DB8::7", "drained": true}, {"address": "198.51.100.8"}]})");
        const auto cfg = agent::loadConfig(d.main, {});
        std::vector<std::string> vips, drained;
        for (const auto& v : cfg.vips) vips.push_back(v.address.str());
        for (const auto& v : ::drained(cfg)) drained.push_back(v.str());
        CHECK(vips == std::vector<std::string>{"198.51.100.1", "198.51.100.2", "198.51.100.3", "2001:db8::7", "198.51.100.8"});
        CHECK(drained == std::vector<std::string>{"198.51.100.2", "2001:db8::7"});
        // --vip replaces them all: nothing is drained
        CHECK(::drained(agent::loadConfig(d.main, {"198.51.100.9"})).empty());
    }

    TEST_CASE("the main file may leave the VIPs to the drop-ins, and check their services") {
        DropInDir d;
        d.write("config.json", R"({"services": [{"vip": "198.51.100.7", "port": 443}]})");
        d.write("conf.d/web.json", R"({"vips": ["198.51.100.7"]})");
        const auto cfg = agent::loadConfig(d.main, {});
        CHECK(cfg.vips.size() == 1);
        CHECK(cfg.services.size() == 1);
        std::filesystem::remove(d.dir.path / "conf.d/web.json");
        CHECK(d.problems() == std::vector<std::string>{
                                 d.main + ": vips: missing: list the virtual IP addresses, e.g. \"vips\": [\"198.51.100.188\"] (here or in a drop-in)",
                                 d.main + ": services[0].vip: \"198.51.100.7\" is not one of the configured vips"});
    }

    TEST_CASE("errors name the file and the field, a VIP in two files names both") {
        DropInDir d;
        d.write("config.json", R"({"vips": ["198.51.100.1"]})");
        d.write("conf.d/a.json", R"({"vips": ["198.51.100.1", "198.51.100.2"], "drain_seconds": 9})");
        d.write("conf.d/b.json", R"({"vips": ["198.51.100.2"], "services": [{"vip": "198.51.100.99", "port": 80}]})");
        d.write("conf.d/c.json", R"({"vips": ["198.51.100.300"]})");
        const std::string a = (d.dir.path / "conf.d/a.json").string(), b = (d.dir.path / "conf.d/b.json").string(),
                          c = (d.dir.path / "conf.d/c.json").string();
        const auto p = d.problems();
        CHECK(p == std::vector<std::string>{
                       a + ": drain_seconds: not allowed in a drop-in, which holds only \"vips\" and \"services\"; global settings go in " + d.main,
                       c + ": vips[0]: \"198.51.100.300\" is not an IPv4 or IPv6 address",
                       a + ": vips[0]: 198.51.100.1 is also in " + d.main,
                       b + ": vips[0]: 198.51.100.2 is also in " + a,
                       b + ": services[0].vip: \"198.51.100.99\" is not one of the configured vips"});  // all at once
        d.write("conf.d/c.json", R"({"sevices": []})");
        CHECK(d.problems()[1] == c + ": sevices: unknown key \"sevices\" (did you mean \"services\"?); a drop-in holds only \"vips\" and \"services\"");
        // with those fixed, the cross-file problems
        d.write("conf.d/a.json", R"({"vips": ["198.51.100.1", "198.51.100.2"]})");
        std::filesystem::remove(c);
        CHECK(d.problems() == std::vector<std::string>{
                                 a + ": vips[0]: 198.51.100.1 is also in " + d.main,
                                 b + ": vips[0]: 198.51.100.2 is also in " + a,
                                 b + ": services[0].vip: \"198.51.100.99\" is not one of the configured vips"});
    }

    TEST_CASE("--config-dir, a missing directory, a file where the directory should be, --vip") {
        DropInDir d;
        d.write("config.json", R"({"vips": ["198.51.100.1"]})");
        d.write("elsewhere/x.json", R"({"vips": ["198.51.100.5"]})");
        CHECK(agent::loadConfig(d.main, {}).vips.size() == 1);  // no conf.d: none
        CHECK(agent::loadConfig(d.main, {}, (d.dir.path / "elsewhere").string()).vips.size() == 2);
        d.write("conf.d", "a file");
        CHECK(d.problems() == std::vector<std::string>{(d.dir.path / "conf.d").string() + ": the drop-in directory is not a directory"});
        // --vip replaces the file's VIPs and the drop-ins' alike
        CHECK(agent::loadConfig(d.main, {"198.51.100.9"}, (d.dir.path / "elsewhere").string()).vips.size() == 1);
        // A --config-dir named on purpose must be there: a typo is not "no drop-ins".
        const std::string missing = (d.dir.path / "nonexistent").string();
        CHECK(d.problems(missing) == std::vector<std::string>{"--config-dir " + missing + ": no such directory"});
        CHECK(d.problems(d.main) == std::vector<std::string>{"--config-dir " + d.main + ": not a directory"});
        try {
            agent::loadConfig(std::nullopt, {"198.51.100.9"}, missing);
            FAIL("--config-dir with --vip alone was accepted");
        } catch (const agent::ConfigError& e) {
            CHECK(e.problems().at(0).find("drop-ins go with a configuration file (-c FILE)") != std::string::npos);
        }
    }
}
