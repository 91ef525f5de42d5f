#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "agent/config/config.h"
#include "temp_dir.h"

using agent::ConfigError;
using agent::ServiceCheck;

namespace {

// The document with one service check (its JSON object's inside).
std::string withCheck(const std::string& inside) {
    return R"({"vips": ["198.51.100.1", "2001:db8::53"], "services": [{"vip": "198.51.100.1", )" + inside + "}]}";
}

std::string problemsOf(const std::string& text) {
    try {
        agent::parseConfig(text, "cfg.json");
        return "";
    } catch (const ConfigError& e) {
        return e.what();
    }
}

ServiceCheck only(const std::string& inside) {
    const auto cfg = agent::parseConfig(withCheck(inside), "cfg.json");
    REQUIRE(cfg.services.size() == 1);
    return cfg.services[0];
}

}  // namespace

TEST_SUITE("config_services") {
    TEST_CASE("a short interval alone takes a timeout no longer than itself, an explicit longer one is refused") {
        CHECK(only(R"("type": "tcp", "port": 80, "interval_ms": 500)").timeoutMs == 500);
        CHECK(only(R"("type": "tcp", "port": 80)").timeoutMs == 1000);
        CHECK(problemsOf(withCheck(R"("type": "tcp", "port": 80, "interval_ms": 500, "timeout_ms": 800)"))
                  .find("timeout_ms: 800 is longer than interval_ms 500") != std::string::npos);
    }

    TEST_CASE("http and https: path, host, statuses, body, verify and ca_file, with their defaults") {
        const auto h = only(R"("type": "http")");
        CHECK(h.port == 80);
        CHECK(h.path == "/");
        CHECK(h.expectStatus == std::vector<int>{200});
        CHECK_FALSE(h.host);
        CHECK_FALSE(h.expectBody);
        CHECK(h.name() == "http 198.51.100.1:80/");
        const auto s = only(R"("type": "https", "path": "/health", "host": "www.example.org", "expect_status": [200, 204],
                               "expect_body": "ok", "verify": true, "ca_file": "/etc/ssl/certs/ca-certificates.crt")");
        CHECK(s.port == 443);
        CHECK(s.host == "www.example.org");
        CHECK(s.expectStatus == std::vector<int>{200, 204});
        CHECK(s.expectBody == "ok");
        CHECK(s.verify);
        CHECK(s.caFile == "/etc/ssl/certs/ca-certificates.crt");
        CHECK(s.name() == "https 198.51.100.1:443/health host www.example.org");
        CHECK_FALSE(only(R"("type": "https")").verify);  // the service's certificate names the public site, not the VIP
        CHECK(only(R"("type": "http", "expect_status": 301)").expectStatus == std::vector<int>{301});
    }

    TEST_CASE("exec: an absolute command without shell, the port optional") {
        const auto e = only(R"("type": "exec", "command": ["/usr/local/lib/check-db", "--max-lag", "5"])");
        CHECK(e.port == 0);
        CHECK(e.command == std::vector<std::string>{"/usr/local/lib/check-db", "--max-lag", "5"});
        CHECK(e.name() == "exec 198.51.100.1 /usr/local/lib/check-db --max-lag 5");
        CHECK(only(R"("type": "exec", "port": 5432, "command": ["/bin/true"])").name() == "exec 198.51.100.1:5432 /bin/true");
    }

    TEST_CASE("dns: a query, its type (A by default, any case), port 53") {
        const auto d = only(R"("type": "dns", "query": "example.org")");
        CHECK(d.port == 53);
        CHECK(d.qtype == "A");
        CHECK(d.name() == "dns 198.51.100.1:53 example.org A");
        CHECK(only(R"("type": "dns", "query": "_sip._udp.example.org.", "qtype": "srv")").qtype == "SRV");
    }

    TEST_CASE("each bad key or value is named, with what it should be") {
        const std::vector<std::pair<std::string, std::string>> bad{
            {R"("type": "udp", "port": 53)", R"(services[0].type: must be "tcp", "http", "https", "exec" or "dns")"},
            {R"("port": 80, "path": "/x")", "services[0].path: does not apply to a tcp check (only to http, https)"},
            {R"("type": "http", "verify": true)", "services[0].verify: does not apply to a http check (only to https)"},
            {R"("type": "dns", "query": "example.org", "command": ["/bin/true"])", "services[0].command: does not apply to a dns check (only to exec)"},
            {R"("type": "http", "exepct_status": 200)", "services[0].exepct_status: unknown key"},
            {R"("type": "http", "expect_status": [])", "services[0].expect_status: must be an HTTP status (100-599) or a list"},
            {R"("type": "http", "expect_status": [200, 99])", "services[0].expect_status: must be an HTTP status"},
            {R"("type": "http", "expect_status": "200")", "services[0].expect_status: must be an HTTP status"},
            {R"("type": "http", "expect_body": "")", "services[0].expect_body: must be a text of 1 to 1024 bytes"},
            {R"("type": "http", "host": "bad host")", "services[0].host: must be a DNS name"},
            {R"("type": "https", "ca_file": "/etc/ssl/certs/ca-certificates.crt")", "services[0].ca_file: is used only with \"verify\": true"},
            {R"("type": "https", "verify": true, "ca_file": "certs.pem")", "services[0].ca_file: must be an absolute path"},
            {R"("type": "https", "verify": "yes")", "services[0].verify: must be true or false"},
            {R"("type": "exec")", "services[0].command: missing"},
            {R"("type": "exec", "command": [])", "services[0].command: must be a list of 1 to 64 strings"},
            {R"("type": "exec", "command": "/bin/true")", "services[0].command: must be a list"},
            {R"("type": "exec", "command": ["check-db"])", "services[0].command[0]: \"check-db\" is not an absolute path"},
            {R"("type": "exec", "command": ["/bin/true", 5])", "services[0].command[1]: must be a string"},
            {R"("type": "dns")", "services[0].query: missing"},
            {R"("type": "dns", "query": "a..b")", "services[0].query: must be a DNS name"},
            {R"("type": "dns", "query": "example.org", "qtype": "AXFR")", "services[0].qtype: must be one of A, AAAA"},
            {R"("type": "dns", "query": "example.org", "port": 0)", "services[0].port: "},
            {R"("port": 80, "timeout_ms": 3000, "interval_ms": 1000)", "services[0].timeout_ms: 3000 is longer than interval_ms 1000"},
        };
        for (const auto& [inside, expected] : bad) {
            CAPTURE(inside);
            const std::string p = problemsOf(withCheck(inside));
            CHECK(p.find(expected) != std::string::npos);
        }
    }

    TEST_CASE("two checks of one service differ by their identity, the same one twice is refused") {
        CHECK(problemsOf(R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "type": "http", "path": "/a"},
                                                                     {"vip": "198.51.100.1", "type": "http", "path": "/b"},
                                                                     {"vip": "198.51.100.1", "type": "http", "path": "/a", "host": "x.example"}]})")
                  .empty());
        CHECK(problemsOf(R"({"vips": ["198.51.100.1"], "services": [{"vip": "198.51.100.1", "type": "dns", "query": "a.example"},
                                                                     {"vip": "198.51.100.1", "type": "dns", "query": "a.example", "timeout_ms": 500}]})")
                  .find("services: dns 198.51.100.1:53 a.example A is checked twice") != std::string::npos);
    }

    TEST_CASE("an exec command must be a root's (or the agent's) executable nobody else may change") {
        fixtures::TempDir dir("lvs-exec-");
        auto cfgWith = [](const std::string& program) {
            return agent::parseConfig(withCheck(R"("type": "exec", "command": [")" + program + R"("])"), "cfg.json");
        };
        auto problems = [&](const std::string& program, unsigned self) {
            const auto lines = agent::serviceHostProblems(cfgWith(program), self);
            std::string all;
            for (const auto& l : lines) all += l + "\n";
            return all;
        };
        const unsigned me = ::geteuid();
        CHECK(problems("/bin/true", me).empty());  // root's, in root's directories (through /bin -> usr/bin)
        CHECK(problems("/nonexistent/check", me).find("cannot run /nonexistent/check") != std::string::npos);

        const std::string script = (dir.path / "check.sh").string();
        std::ofstream(script) << "#!/bin/sh\nexit 0\n";
        ::chmod(script.c_str(), 0755);
        // Its directory is under /tmp, which everybody may write.
        CHECK(problems(script, me).find("/tmp is writable by its others") != std::string::npos);
        ::chmod(script.c_str(), 0775);
        CHECK(problems(script, me).find(script + " is writable by its group") != std::string::npos);
        ::chmod(script.c_str(), 0644);
        CHECK(problems(script, me).find(script + " is not executable") != std::string::npos);
        ::chmod(script.c_str(), 0755);
        // Somebody else's: as root, the file is given away; otherwise it is ours and the agent another.
        const unsigned owner = me == 0 ? 65534 : me;
        if (me == 0) REQUIRE(::chown(script.c_str(), 65534, static_cast<gid_t>(-1)) == 0);
        CHECK(problems(script, me == 0 ? 0 : me + 1).find(script + " belongs to uid " + std::to_string(owner) + ", not to root or to the agent's user") !=
              std::string::npos);
        // The message names the file and the check.
        CHECK(problems("/nonexistent/check", me).rfind("services: exec 198.51.100.1 /nonexistent/check: ", 0) == 0);
    }

    TEST_CASE("the host's part is refused by loadConfig, left out by check --offline") {
        fixtures::TempDir dir("lvs-exec-load-");
        const std::string file = (dir.path / "config.json").string();
        std::ofstream(file) << withCheck(R"("type": "exec", "command": ["/nonexistent/check"])");
        try {
            (void)agent::loadConfig(file, {});
            FAIL("a command that cannot run was accepted");
        } catch (const ConfigError& e) {
            CHECK(std::string(e.what()).find(file + ": services: exec 198.51.100.1 /nonexistent/check: cannot run") != std::string::npos);
        }
        CHECK(agent::loadConfig(file, {}, std::nullopt, false).services.size() == 1);
    }
}
