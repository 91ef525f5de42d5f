#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <string>
#include <vector>

#include "netcfg/events.h"

using netcfg::Change;
using netcfg::ChangeEvents;
using netcfg::Drained;
using netcfg::RouteTables;
using netcfg::attachRouteFilter;

namespace {

// One rtnetlink message built by hand, as the kernel sends it: header, family struct,
// attributes (each padded to 4 bytes).
class Message {
public:
    template <class Body>
    Message(std::uint16_t type, const Body& body) : type_(type) {
        append(&body, sizeof body);
    }
    Message& attr(std::uint16_t type, const void* data, std::size_t len) {
        rtattr a{.rta_len = static_cast<unsigned short>(RTA_LENGTH(len)), .rta_type = type};
        append(&a, sizeof a);
        append(data, len);
        payload_.resize(NLMSG_ALIGN(payload_.size()), '\0');
        return *this;
    }
    Message& address(std::uint16_t type, int family, const char* text) {
        unsigned char buf[16];
        REQUIRE(inet_pton(family, text, buf) == 1);
        return attr(type, buf, family == AF_INET ? 4 : 16);
    }
    Message& u32(std::uint16_t type, std::uint32_t v) { return attr(type, &v, sizeof v); }
    std::string bytes() const {
        nlmsghdr h{.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(payload_.size())), .nlmsg_type = type_, .nlmsg_flags = 0,
                   .nlmsg_seq = 0, .nlmsg_pid = 0};
        std::string out(reinterpret_cast<const char*>(&h), sizeof h);
        out += payload_;
        out.resize(NLMSG_ALIGN(out.size()), '\0');
        return out;
    }

private:
    void append(const void* p, std::size_t n) { payload_.append(static_cast<const char*>(p), n); }
    std::uint16_t type_;
    std::string payload_;
};

Message addr(std::uint16_t type, int family, const char* ip, int prefix, int ifindex) {
    ifaddrmsg m{.ifa_family = static_cast<unsigned char>(family), .ifa_prefixlen = static_cast<unsigned char>(prefix),
                .ifa_flags = 0, .ifa_scope = RT_SCOPE_HOST, .ifa_index = static_cast<unsigned>(ifindex)};
    Message msg(type, m);
    msg.address(IFA_ADDRESS, family, ip);
    if (family == AF_INET) msg.address(IFA_LOCAL, family, ip);
    return msg;
}

Message route(std::uint16_t type, int family, const char* dst, int len, int table, int oif, int protocol = 177,
              unsigned char rtype = RTN_UNICAST) {
    rtmsg m{.rtm_family = static_cast<unsigned char>(family), .rtm_dst_len = static_cast<unsigned char>(len), .rtm_src_len = 0,
            .rtm_tos = 0, .rtm_table = static_cast<unsigned char>(table), .rtm_protocol = static_cast<unsigned char>(protocol),
            .rtm_scope = RT_SCOPE_LINK, .rtm_type = rtype, .rtm_flags = 0};
    Message msg(type, m);
    msg.u32(RTA_TABLE, static_cast<std::uint32_t>(table)).address(RTA_DST, family, dst).u32(RTA_OIF, static_cast<std::uint32_t>(oif));
    return msg;
}

Message link(std::uint16_t type, int ifindex, const char* name, unsigned flags) {
    ifinfomsg m{.ifi_family = AF_UNSPEC, .__ifi_pad = 0, .ifi_type = 772, .ifi_index = ifindex, .ifi_flags = flags, .ifi_change = 0};
    Message msg(type, m);
    msg.attr(IFLA_IFNAME, name, std::strlen(name) + 1);
    return msg;
}

Drained parse(const std::string& datagram, const RouteTables& tables = {}) {
    Drained d;
    ChangeEvents::parse(datagram.data(), datagram.size(), d, tables);
    return d;
}

// Whether the kernel's socket filter for tables lets datagram through. It runs on a
// datagram socket pair (no root, no netlink): what it drops never arrives.
bool passes(const RouteTables& tables, const std::string& datagram) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) == 0);
    REQUIRE(attachRouteFilter(sv[1], tables));
    REQUIRE(::send(sv[0], datagram.data(), datagram.size(), 0) == static_cast<ssize_t>(datagram.size()));
    char buf[4096];
    const bool got = ::recv(sv[1], buf, sizeof buf, 0) == static_cast<ssize_t>(datagram.size());
    ::close(sv[0]);
    ::close(sv[1]);
    return got;
}

}  // namespace

TEST_SUITE("events") {
    TEST_CASE("every message kind the agent follows, parsed into its typed change") {
        using K = Change::Kind;
        struct Row {
            const char* name;
            Message msg;
            K kind;
        };
        const Row rows[] = {
            {"IPv4 address added", addr(RTM_NEWADDR, AF_INET, "198.51.100.1", 32, 1), K::AddressAdded},
            {"IPv4 address removed", addr(RTM_DELADDR, AF_INET, "198.51.100.1", 32, 1), K::AddressRemoved},
            {"IPv6 address added", addr(RTM_NEWADDR, AF_INET6, "2001:db8::1", 128, 1), K::AddressAdded},
            {"IPv6 address removed", addr(RTM_DELADDR, AF_INET6, "2001:db8::1", 128, 1), K::AddressRemoved},
            {"IPv4 host route added", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1), K::RouteAdded},
            {"IPv4 host route removed", route(RTM_DELROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1), K::RouteRemoved},
            {"IPv6 host route added", route(RTM_NEWROUTE, AF_INET6, "2001:db8::1", 128, RT_TABLE_MAIN, 1), K::RouteAdded},
            {"IPv6 host route removed", route(RTM_DELROUTE, AF_INET6, "2001:db8::1", 128, RT_TABLE_MAIN, 1), K::RouteRemoved},
            {"link changed", link(RTM_NEWLINK, 1, "lo", IFF_UP | IFF_LOOPBACK), K::LinkChanged},
            {"link removed", link(RTM_DELLINK, 7, "veth0", 0), K::LinkRemoved},
        };
        for (const auto& r : rows) {
            CAPTURE(r.name);
            const Drained d = parse(r.msg.bytes());
            REQUIRE(d.changes.size() == 1);
            CHECK(d.ignored == 0);
            CHECK_FALSE(d.overrun);
            const Change& c = d.changes[0];
            CHECK(c.kind == r.kind);
            if (r.kind == K::AddressAdded || r.kind == K::AddressRemoved) {
                CHECK(c.address.ifindex == 1);
                CHECK((c.address.address.str() == "198.51.100.1" || c.address.address.str() == "2001:db8::1"));
                CHECK(c.address.prefixlen == c.address.address.hostPrefix());
            } else if (r.kind == K::RouteAdded || r.kind == K::RouteRemoved) {
                CHECK((c.route.dst.str() == "198.51.100.1" || c.route.dst.str() == "2001:db8::1"));
                CHECK(c.route.table == RT_TABLE_MAIN);
                CHECK(c.route.protocol == 177);
                CHECK(c.route.oif == 1);
            }
        }
        const Change lo = parse(rows[8].msg.bytes()).changes.at(0);
        CHECK(lo.link.ifindex == 1);
        CHECK(lo.link.name == "lo");
        CHECK(lo.link.up);
        CHECK(lo.link.loopback);
        const Change gone = parse(rows[9].msg.bytes()).changes.at(0);
        CHECK(gone.link.ifindex == 7);
        CHECK_FALSE(gone.link.up);
    }

    TEST_CASE("several messages in one datagram, in order, and routes the agent never cares about dropped unparsed") {
        const std::string datagram = addr(RTM_NEWADDR, AF_INET, "198.51.100.1", 32, 1).bytes() +
                                     route(RTM_NEWROUTE, AF_INET, "198.51.100.0", 24, RT_TABLE_MAIN, 2).bytes() +  // not a host route
                                     route(RTM_NEWROUTE, AF_INET, "198.51.100.9", 32, 200, 2).bytes() +            // another table
                                     route(RTM_DELROUTE, AF_INET6, "2001:db8::1", 128, RT_TABLE_MAIN, 1).bytes();
        const Drained d = parse(datagram);
        REQUIRE(d.changes.size() == 2);
        CHECK(d.changes[0].kind == Change::Kind::AddressAdded);
        CHECK(d.changes[1].kind == Change::Kind::RouteRemoved);
        CHECK(d.ignored == 2);
    }

    TEST_CASE("qdisc and tc filter messages are counted (the tunnel's hooks are asked for again), other kinds ignored") {
        tcmsg t{};
        t.tcm_family = AF_UNSPEC;
        t.tcm_ifindex = 2;
        t.tcm_parent = 0xfffffff2;  // clsact ingress
        const std::string datagram = Message(RTM_DELTFILTER, t).bytes() + Message(RTM_NEWTFILTER, t).bytes() +
                                     Message(RTM_DELQDISC, t).bytes() + Message(RTM_NEWQDISC, t).bytes() +
                                     Message(RTM_NEWNEIGH, t).bytes() + addr(RTM_NEWADDR, AF_INET, "198.51.100.1", 32, 1).bytes();
        const Drained d = parse(datagram);
        CHECK(d.tc == 4);
        CHECK(d.ignored == 1);  // the neighbour message
        REQUIRE(d.changes.size() == 1);
        CHECK(d.changes[0].kind == Change::Kind::AddressAdded);
    }

    TEST_CASE("a route whose multipath list is malformed is dropped before libnl parses it, a well-formed one is not") {
        rtnexthop hops[2]{{.rtnh_len = sizeof(rtnexthop), .rtnh_flags = 0, .rtnh_hops = 0, .rtnh_ifindex = 1},
                          {.rtnh_len = sizeof(rtnexthop), .rtnh_flags = 0, .rtnh_hops = 0, .rtnh_ifindex = 2}};
        Message good = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
        good.attr(RTA_MULTIPATH, hops, sizeof hops);
        CHECK(parse(good.bytes()).changes.size() == 1);
        hops[1].rtnh_len = 0;  // a next hop of no length: libnl 3.7 would loop over it, allocating
        Message zero = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
        zero.attr(RTA_MULTIPATH, hops, sizeof hops);
        Drained d = parse(zero.bytes());
        CHECK(d.changes.empty());
        CHECK(d.ignored == 1);
        hops[1].rtnh_len = 200;  // past its attribute
        Message past = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
        past.attr(RTA_MULTIPATH, hops, sizeof hops);
        CHECK(parse(past.bytes()).ignored == 1);
        // A last next hop whose aligned length passes the room (10 of 10 bytes, aligned 12).
        {
            unsigned char list[sizeof(rtnexthop) + 10]{};
            rtnexthop first{.rtnh_len = sizeof(rtnexthop), .rtnh_flags = 0, .rtnh_hops = 0, .rtnh_ifindex = 1};
            rtnexthop last{.rtnh_len = 10, .rtnh_flags = 0, .rtnh_hops = 0, .rtnh_ifindex = 2};
            std::memcpy(list, &first, sizeof first);
            std::memcpy(list + sizeof first, &last, sizeof last);
            Message unaligned = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
            unaligned.attr(RTA_MULTIPATH, list, sizeof list);
            CHECK(parse(unaligned.bytes()).ignored == 1);
        }
        // An RTA_VIA shorter than its family, at the top and in a next hop; a full one passes.
        {
            const unsigned char shortVia[1]{AF_INET};
            Message top = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
            top.attr(RTA_VIA, shortVia, 0);
            CHECK(parse(top.bytes()).ignored == 1);
            unsigned char nested[sizeof(rtnexthop) + 4]{};
            rtnexthop hop{.rtnh_len = sizeof nested, .rtnh_flags = 0, .rtnh_hops = 0, .rtnh_ifindex = 1};
            const rtattr via{.rta_len = 4, .rta_type = RTA_VIA};
            std::memcpy(nested, &hop, sizeof hop);
            std::memcpy(nested + sizeof hop, &via, sizeof via);
            Message inHop = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
            inHop.attr(RTA_MULTIPATH, nested, sizeof nested);
            CHECK(parse(inHop.bytes()).ignored == 1);
            const unsigned char fullVia[6]{AF_INET, 0, 198, 51, 100, 2};
            Message full = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
            full.attr(RTA_VIA, fullVia, sizeof fullVia);
            CHECK(parse(full.bytes()).ignored == 0);
        }
        // The same with the attribute type's flag bits set, which libnl masks off.
        hops[1].rtnh_len = 0;
        for (const unsigned flag : {unsigned{NLA_F_NET_BYTEORDER}, unsigned{NLA_F_NESTED}}) {
            CAPTURE(flag);
            Message flagged = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1);
            flagged.attr(static_cast<unsigned short>(RTA_MULTIPATH | flag), hops, sizeof hops);
            Drained f = parse(flagged.bytes());
            CHECK(f.changes.empty());
            CHECK(f.ignored == 1);
        }
    }

    TEST_CASE("the kernel's socket filter passes what the header check keeps and drops the rest") {
        const RouteTables none{}, t200{.announce = 200}, t1000{.announce = 1000};
        struct Row {
            const char* name;
            std::string msg;
            RouteTables tables;
        };
        const Row rows[] = {
            {"an address", addr(RTM_NEWADDR, AF_INET, "198.51.100.1", 32, 1).bytes(), none},
            {"a link", link(RTM_NEWLINK, 1, "lo", IFF_UP | IFF_LOOPBACK).bytes(), none},
            {"an IPv4 host route in main", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1).bytes(), none},
            {"an IPv6 host route in main, removed", route(RTM_DELROUTE, AF_INET6, "2001:db8::1", 128, RT_TABLE_MAIN, 1).bytes(), none},
            {"a host route in the announce table", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, 200, 1).bytes(), t200},
            {"a host route in table 252 (ids >= 256)", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_COMPAT, 1).bytes(), t1000},
            {"a message too short for a route header", std::string(addr(RTM_NEWADDR, AF_INET, "198.51.100.1", 32, 1).bytes()).substr(0, 16), none},
        };
        for (const auto& r : rows) {
            CAPTURE(r.name);
            CHECK(passes(r.tables, r.msg));
        }
        const Row dropped[] = {
            {"a host route in another table", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, 200, 1).bytes(), none},
            {"a host route in another table (announce 201)", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, 200, 1).bytes(), RouteTables{.announce = 201}},
            {"a /24 in main", route(RTM_NEWROUTE, AF_INET, "198.51.100.0", 24, RT_TABLE_MAIN, 1).bytes(), none},
            {"an IPv6 /64 in main", route(RTM_DELROUTE, AF_INET6, "2001:db8::", 64, RT_TABLE_MAIN, 1).bytes(), none},
            {"an IPv6 /32 (the IPv4 host length) in main", route(RTM_NEWROUTE, AF_INET6, "2001:db8::", 32, RT_TABLE_MAIN, 1).bytes(), none},
            {"table 252 without a large announce table", route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_COMPAT, 1).bytes(), t200},
        };
        for (const auto& r : dropped) {
            CAPTURE(r.name);
            CHECK_FALSE(passes(r.tables, r.msg));
            CHECK(parse(r.msg, r.tables).ignored == 1);  // the header check drops it too
        }
    }
    TEST_CASE("with ranges: table local's local routes (but the kernel's own) and the announce table at any length pass") {
        const RouteTables ranges{.announce = 200, .ranges = true}, noRanges{.announce = 200};
        const auto agentRange = route(RTM_DELROUTE, AF_INET, "198.18.0.0", 16, RT_TABLE_LOCAL, 1, 177, RTN_LOCAL).bytes();
        const auto otherRange = route(RTM_NEWROUTE, AF_INET6, "2001:db8:1::", 64, RT_TABLE_LOCAL, 1, RTPROT_BOOT, RTN_LOCAL).bytes();
        const auto addressOwn = route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_LOCAL, 1, RTPROT_KERNEL, RTN_LOCAL).bytes();
        const auto announced = route(RTM_NEWROUTE, AF_INET, "198.18.0.0", 16, 200, 1).bytes();
        const auto mainPrefix = route(RTM_NEWROUTE, AF_INET, "198.18.0.0", 16, RT_TABLE_MAIN, 1).bytes();
        CHECK(passes(ranges, agentRange));
        CHECK(passes(ranges, otherRange));
        CHECK(passes(ranges, announced));
        CHECK(passes(ranges, route(RTM_NEWROUTE, AF_INET, "198.51.100.1", 32, RT_TABLE_MAIN, 1).bytes()));  // the block falls through
        CHECK(passes(ranges, addr(RTM_NEWADDR, AF_INET, "198.51.100.1", 32, 1).bytes()));
        CHECK_FALSE(passes(ranges, addressOwn));  // each address's own local route: the kernel's
        CHECK_FALSE(passes(ranges, mainPrefix));  // a prefix in main stays dropped
        CHECK_FALSE(passes(noRanges, agentRange));
        CHECK_FALSE(passes(noRanges, announced));

        // and the header check and parser agree: the range's local route arrives typed
        const auto d = parse(agentRange, ranges);
        REQUIRE(d.changes.size() == 1);
        CHECK(d.changes[0].kind == Change::Kind::RouteRemoved);
        CHECK(d.changes[0].route.table == netcfg::kLocalTable);
        CHECK(d.changes[0].route.length() == 16);
        CHECK(d.changes[0].route.type == netcfg::kLocalType);
        CHECK(parse(otherRange, ranges).changes.size() == 1);
        CHECK(parse(announced, ranges).changes.at(0).route.length() == 16);
        CHECK(parse(addressOwn, ranges).ignored == 1);
        CHECK(parse(mainPrefix, ranges).ignored == 1);
        CHECK(parse(agentRange, noRanges).ignored == 1);
        // a length past the host's (never from the kernel; fuzz.events made one) is dropped
        CHECK(parse(route(RTM_NEWROUTE, AF_INET, "198.18.0.0", 65, 200, 1).bytes(), ranges).changes.empty());
        // an announce-table prefix of another program is not wanted at another length
        CHECK(parse(route(RTM_NEWROUTE, AF_INET, "198.18.0.0", 16, 200, 1, RTPROT_BOOT).bytes(), ranges).changes.empty());
    }
}
