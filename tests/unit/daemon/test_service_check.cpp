#include <doctest/doctest.h>

#include "agent/daemon/service_check.h"
#include "api/api_harness.h"

using namespace api;
using namespace apitest;
using testhttp::Connection;
using testhttp::request;

TEST_SUITE("service_check") {
    TEST_CASE("service probes: tcp and http against a local listener") {
        Harness web;  // /healthz answers 200, /ready 503
        agent::ServiceCheck c;
        c.vip = *netcfg::IpAddress::parse("127.0.0.1");
        c.port = web.port;
        c.timeoutMs = 500;
        CHECK_FALSE(agent::probeService(c));
        c.type = agent::ServiceCheck::Type::Http;
        c.path = "/healthz";
        CHECK_FALSE(agent::probeService(c));
        c.path = "/ready";
        CHECK(agent::probeService(c).value() == "status 503, expected 200");
        web.api.stop();
        c.type = agent::ServiceCheck::Type::Tcp;
        CHECK(agent::probeService(c).value().find("Connection refused") != std::string::npos);
    }
}
