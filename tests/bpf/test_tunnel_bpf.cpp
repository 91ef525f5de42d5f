// The tunnel decapsulation program (tunnel/tunnel.bpf.c) run by the kernel on crafted
// packets (BPF_PROG_TEST_RUN): what comes out, the verdict, and the counters. Nothing is
// decapsulated unless it is a whole IPIP or GUE packet from a director to a VIP.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tunnel/tunnel_program.h"

using netcfg::IpAddress;
using tunnel::TunnelDrop;
using tunnel::TunnelProgram;

namespace {

using Bytes = std::vector<unsigned char>;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

void put16(Bytes& b, std::size_t at, unsigned v) { b[at] = static_cast<unsigned char>(v >> 8); b[at + 1] = static_cast<unsigned char>(v); }

// An IPv4 header (20 bytes) with its checksum, carrying `payload`.
Bytes ipv4(const char* src, const char* dst, int proto, const Bytes& payload, unsigned fragOff = 0) {
    Bytes h(20, 0);
    h[0] = 0x45;
    put16(h, 2, static_cast<unsigned>(20 + payload.size()));
    put16(h, 6, fragOff);
    h[8] = 64;
    h[9] = static_cast<unsigned char>(proto);
    inet_pton(AF_INET, src, &h[12]);
    inet_pton(AF_INET, dst, &h[16]);
    unsigned sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (h[i] << 8) | h[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16(h, 10, ~sum & 0xffff);
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

Bytes ipv6(const char* src, const char* dst, int next, const Bytes& payload) {
    Bytes h(40, 0);
    h[0] = 0x60;
    put16(h, 4, static_cast<unsigned>(payload.size()));
    h[6] = static_cast<unsigned char>(next);
    h[7] = 64;
    inet_pton(AF_INET6, src, &h[8]);
    inet_pton(AF_INET6, dst, &h[24]);
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

Bytes udp(unsigned dport, const Bytes& payload) {
    Bytes h(8, 0);
    put16(h, 0, 40000);
    put16(h, 2, dport);
    put16(h, 4, static_cast<unsigned>(8 + payload.size()));
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

// A GUE version 0 header (4 bytes: version, control bit and header length in the first
// byte, then the inner protocol and 16 bits of flags) before `payload`, as IPVS sends it.
Bytes gue0(int proto, const Bytes& payload, unsigned char first = 0, unsigned flags = 0) {
    Bytes h = {first, static_cast<unsigned char>(proto), 0, 0};
    put16(h, 2, flags);
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

// A TCP SYN with some payload: what a client sends to the VIP.
Bytes tcp(std::size_t payload = 12) {
    Bytes h(20 + payload, 0xab);
    put16(h, 0, 41000);
    put16(h, 2, 80);
    h[12] = 0x50;
    h[13] = 0x02;
    return h;
}

Bytes ether(unsigned proto, const Bytes& l3) {
    Bytes f(14, 0);
    for (int i = 0; i < 6; ++i) f[i] = 0x02, f[6 + i] = 0x04;
    put16(f, 12, proto);
    f.insert(f.end(), l3.begin(), l3.end());
    return f;
}

struct Run {
    int verdict = -1;
    Bytes out;
};

// The program run once on frame; nullopt when the kernel's test run refuses the frame
// itself (EINVAL: one too short for the L3 header its protocol names, which no driver hands up).
std::optional<Run> tryRun(const TunnelProgram& p, const Bytes& frame, bool egress = false) {
    Run r;
    r.out.resize(frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame.data(), .data_out = r.out.data(), .data_size_in = static_cast<__u32>(frame.size()),
                .data_size_out = static_cast<__u32>(r.out.size()), .repeat = 1);
    const int err = bpf_prog_test_run_opts(egress ? p.mssProgramFd() : p.programFd(), &o);
    if (err == -EINVAL) return std::nullopt;
    REQUIRE(err == 0);
    r.verdict = static_cast<int>(o.retval);
    r.out.resize(o.data_size_out);
    return r;
}

Run run(const TunnelProgram& p, const Bytes& frame, bool egress = false) {
    auto r = tryRun(p, frame, egress);
    REQUIRE(r.has_value());
    return *r;
}

// A SYN-ACK's TCP header with these options (padded to 4 bytes), checksum 0 (the caller sets it).
Bytes synAck(Bytes options, bool ack = true) {
    while (options.size() % 4) options.push_back(0);
    Bytes t(20, 0);
    put16(t, 0, 80);
    put16(t, 2, 41000);
    t[12] = static_cast<unsigned char>((20 + options.size()) / 4 << 4);
    t[13] = ack ? 0x12 : 0x02;
    put16(t, 14, 65535);
    t.insert(t.end(), options.begin(), options.end());
    return t;
}

// The TCP checksum over an IPv4 pseudo-header: 0 when the segment's checksum is right.
unsigned tcpSum4(const Bytes& ipPacket) {
    unsigned sum = 0;
    for (int i = 12; i < 20; i += 2) sum += (ipPacket[i] << 8) | ipPacket[i + 1];
    const std::size_t len = ipPacket.size() - 20;
    sum += IPPROTO_TCP + static_cast<unsigned>(len);
    for (std::size_t i = 20; i < ipPacket.size(); i += 2) sum += (ipPacket[i] << 8) | (i + 1 < ipPacket.size() ? ipPacket[i + 1] : 0);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

// A SYN-ACK from src in an IPv4 packet with a correct TCP checksum.
Bytes synAck4(const char* src, const char* dst, const Bytes& options, bool ack = true) {
    Bytes p = ipv4(src, dst, IPPROTO_TCP, synAck(options, ack));
    const unsigned c = tcpSum4(p);
    put16(p, 20 + 16, c);
    return p;
}

unsigned mssOf(const Bytes& frame) {  // the MSS option's value in an IPv4 SYN-ACK frame (first option after NOPs/others)
    const std::size_t tcp = 14 + 20, end = tcp + ((frame[tcp + 12] >> 4) * 4);
    for (std::size_t i = tcp + 20; i < end;) {
        if (frame[i] == 0) break;
        if (frame[i] == 1) { ++i; continue; }
        if (frame[i] == 2) return (frame[i + 2] << 8) | frame[i + 3];
        i += frame[i + 1];
    }
    return 0;
}

constexpr const char* kDirector = "198.51.100.50";
constexpr const char* kDirector6 = "2001:db8::50";
constexpr const char* kRip = "198.51.100.60";
constexpr const char* kRip6 = "2001:db8::60";
constexpr const char* kVip = "203.0.113.10";
constexpr const char* kVip6 = "2001:db8:1::10";
constexpr const char* kClient = "192.0.2.7";
constexpr const char* kClient6 = "2001:db8:2::7";
constexpr unsigned kGue = 6080;

TunnelProgram loaded() {
    auto p = TunnelProgram::load();
    REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error()));
    REQUIRE(p->configure({.ipip = true, .gue = true, .guePort = kGue}));
    REQUIRE(p->addDirector(ip(kDirector)));
    REQUIRE(p->addDirector(ip(kDirector6)));
    REQUIRE(p->addVip(ip(kVip), 0));
    REQUIRE(p->addVip(ip(kVip6), 1));
    return std::move(*p);
}

}  // namespace

TEST_SUITE("tunnel_bpf") {
    TEST_CASE("adopting a running program: same code as this build's load, its maps and counters carried on") {
        auto p = loaded();
        REQUIRE(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, ipv4(kClient, kVip, IPPROTO_TCP, tcp())))).verdict == TC_ACT_UNSPEC);
        auto fresh = TunnelProgram::load();
        REQUIRE(fresh.has_value());
        CHECK(fresh->programId() != p.programId());
        CHECK(fresh->sameCode(p));  // the kernel's tag ignores which maps a load was given
        auto adopted = TunnelProgram::adopt(p.programId(), p.mssProgramId());
        REQUIRE_MESSAGE(adopted.has_value(), (adopted ? std::string() : adopted.error()));
        CHECK(adopted->sameCode(p));
        CHECK(adopted->vipCounters(0).ipipPackets == 1);
        CHECK(adopted->vips().size() == 2);
        CHECK_FALSE(TunnelProgram::adopt(p.mssProgramId(), p.programId()).has_value());  // names swapped: not the agent's layout
    }

    TEST_CASE("taking a program up from kept descriptors (systemd's store): the same program and counters; wrong ones refused") {
        auto p = loaded();
        REQUIRE(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, ipv4(kClient, kVip, IPPROTO_TCP, tcp())))).verdict == TC_ACT_UNSPEC);
        auto kept = [&](const std::map<std::string, std::string>& rename = {}) {
            std::map<std::string, agent::UniqueFd> fds;
            for (const auto& [name, fd] : p.descriptors()) {
                const auto r = rename.find(name);
                fds[r == rename.end() ? name : r->second] = agent::UniqueFd(fcntl(fd, F_DUPFD_CLOEXEC, 0));
            }
            return fds;
        };
        CHECK(p.descriptors().size() == 8);  // two programs, six maps
        auto q = TunnelProgram::fromDescriptors(kept());
        REQUIRE_MESSAGE(q.has_value(), (q ? std::string() : q.error()));
        CHECK(q->programId() == p.programId());
        CHECK(q->sameCode(p));
        CHECK(q->vipCounters(0).ipipPackets == 1);
        CHECK(TunnelProgram::fromDescriptors(kept({{"lvs_decap", "lvs_mss"}, {"lvs_mss", "lvs_decap"}})).error().find("not the agent's") !=
              std::string::npos);
        CHECK(TunnelProgram::fromDescriptors(kept({{"lvs_vips", "lvs_directors"}, {"lvs_directors", "lvs_vips"}})).error() ==
              "the descriptor given for map lvs_vips is not that map");  // the first map checked
        auto missing = kept();
        missing.erase("lvs_drops");
        CHECK(TunnelProgram::fromDescriptors(std::move(missing)).error() == "the program has no map lvs_drops");
    }

    TEST_CASE("IPIP from a director to a VIP: the outer header goes, the client's packet comes out as sent") {
        auto p = loaded();
        const Bytes inner = ipv4(kClient, kVip, IPPROTO_TCP, tcp());
        const Run r = run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, inner)));
        CHECK(r.verdict == TC_ACT_UNSPEC);
        CHECK(r.out == ether(ETH_P_IP, inner));
        CHECK(p.vipCounters(0).ipipPackets == 1);
        CHECK(p.vipCounters(0).ipipBytes == inner.size());
        CHECK(p.activity() == 1);  // what a tick reads to tell the counters moved
    }

    TEST_CASE("GUE (IPv4 and IPv6) and IPv6-in-IPv6 are decapsulated the same way") {
        auto p = loaded();
        const Bytes in4 = ipv4(kClient, kVip, IPPROTO_TCP, tcp(1400));
        Run r = run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, in4))));
        CHECK(r.verdict == TC_ACT_UNSPEC);
        CHECK(r.out == ether(ETH_P_IP, in4));
        CHECK(p.vipCounters(0).guePackets == 1);
        const Bytes in6 = ipv6(kClient6, kVip6, IPPROTO_TCP, tcp());
        r = run(p, ether(ETH_P_IPV6, ipv6(kDirector6, kRip6, IPPROTO_IPV6, in6)));
        CHECK(r.verdict == TC_ACT_UNSPEC);
        CHECK(r.out == ether(ETH_P_IPV6, in6));
        r = run(p, ether(ETH_P_IPV6, ipv6(kDirector6, kRip6, IPPROTO_UDP, udp(kGue, in6))));
        CHECK(r.verdict == TC_ACT_UNSPEC);
        CHECK(r.out == ether(ETH_P_IPV6, in6));
        CHECK(p.vipCounters(1).ipipPackets == 1);
        CHECK(p.vipCounters(1).guePackets == 1);
    }

    TEST_CASE("GUE version 0 (IPVS tun_type gue): the 4-byte GUE header goes with the outer ones") {
        auto p = loaded();
        const Bytes in4 = ipv4(kClient, kVip, IPPROTO_TCP, tcp(1400));
        Run r = run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, gue0(IPPROTO_IPIP, in4)))));
        CHECK(r.verdict == TC_ACT_UNSPEC);
        CHECK(r.out == ether(ETH_P_IP, in4));
        CHECK(p.vipCounters(0).guePackets == 1);
        CHECK(p.vipCounters(0).gueBytes == in4.size());
        const Bytes in6 = ipv6(kClient6, kVip6, IPPROTO_TCP, tcp());
        r = run(p, ether(ETH_P_IPV6, ipv6(kDirector6, kRip6, IPPROTO_UDP, udp(kGue, gue0(IPPROTO_IPV6, in6)))));
        CHECK(r.verdict == TC_ACT_UNSPEC);
        CHECK(r.out == ether(ETH_P_IPV6, in6));
        CHECK(p.vipCounters(1).guePackets == 1);
        // Not taken: options (hlen 2, IPVS's remcsum), a control message, flags, versions 2 and 3.
        for (const Bytes& g : {gue0(IPPROTO_IPIP, in4, 0x02), gue0(IPPROTO_IPIP, in4, 0x20), gue0(IPPROTO_IPIP, in4, 0, 0x8000),
                               gue0(IPPROTO_IPIP, in4, 0x80), gue0(IPPROTO_IPIP, in4, 0xc0)}) {
            const Bytes f = ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, g)));
            CHECK(run(p, f).verdict == TC_ACT_SHOT);
        }
        CHECK(p.drops(TunnelDrop::GueHeader) == 5);
        // The inner protocol must be the outer family's: IPv6 named inside IPv4 is refused.
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, gue0(IPPROTO_IPV6, in6))))).verdict == TC_ACT_SHOT);
        CHECK(p.drops(TunnelDrop::Family) == 1);
        CHECK(p.vipCounters(0).guePackets == 1);
    }

    TEST_CASE("from a host that is not a director, or to an address that is not a VIP: dropped and counted") {
        auto p = loaded();
        const Bytes inner = ipv4(kClient, kVip, IPPROTO_TCP, tcp());
        CHECK(run(p, ether(ETH_P_IP, ipv4("198.51.100.99", kRip, IPPROTO_IPIP, inner))).verdict == TC_ACT_SHOT);
        CHECK(p.drops(TunnelDrop::NotDirector) == 1);
        CHECK(p.activity() == 1);  // a drop moves it too
        const Bytes other = ipv4(kClient, "203.0.113.99", IPPROTO_TCP, tcp());
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, other))).verdict == TC_ACT_SHOT);
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, other)))).verdict == TC_ACT_SHOT);
        CHECK(p.drops(TunnelDrop::NotVip) == 2);
        // a VIP removed from the map is no longer decapsulated
        REQUIRE(p.removeVip(ip(kVip)));
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, inner))).verdict == TC_ACT_SHOT);
        CHECK(p.drops(TunnelDrop::NotVip) == 3);
        CHECK(p.vipCounters(0).ipipPackets == 0);
    }

    TEST_CASE("fragments, mixed families and lengths that do not add up are dropped, never decapsulated") {
        auto p = loaded();
        const Bytes inner = ipv4(kClient, kVip, IPPROTO_TCP, tcp());
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, inner, 0x2000))).verdict == TC_ACT_SHOT);  // MF
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, inner, 0x0010))).verdict == TC_ACT_SHOT);  // an offset
        CHECK(p.drops(TunnelDrop::Fragment) == 2);
        const Bytes in6 = ipv6(kClient6, kVip6, IPPROTO_TCP, tcp());
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, in6))).verdict == TC_ACT_SHOT);
        CHECK(p.drops(TunnelDrop::Family) == 1);
        Bytes lying = ipv4(kDirector, kRip, IPPROTO_IPIP, inner);
        put16(lying, 2, 2000);  // the outer total length claims more than arrived
        CHECK(run(p, ether(ETH_P_IP, lying)).verdict == TC_ACT_SHOT);
        Bytes innerLying = inner;
        put16(innerLying, 2, 1500);
        CHECK(run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, innerLying))).verdict == TC_ACT_SHOT);
        CHECK(p.drops(TunnelDrop::Malformed) == 2);
        CHECK(p.vipCounters(0).ipipPackets == 0);
    }

    TEST_CASE("every truncation of a tunnel packet (GUE versions 1 and 0): never decapsulated, never a crash") {
        auto p = loaded();
        const Bytes inner = ipv4(kClient, kVip, IPPROTO_TCP, tcp());
        for (const Bytes& whole : {ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, inner))),
                                   ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(kGue, gue0(IPPROTO_IPIP, inner))))}) {
            std::size_t ran = 0;
            for (std::size_t n = ETH_HLEN; n < whole.size(); ++n) {
                CAPTURE(n);
                const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
                const auto r = tryRun(p, cut);
                CHECK((r.has_value() || n < ETH_HLEN + 20));  // only a frame without a whole IPv4 header is refused by the test run
                if (!r) continue;
                ++ran;
                CHECK((r->verdict == TC_ACT_SHOT || (r->verdict == TC_ACT_UNSPEC && r->out == cut)));  // dropped, or passed untouched
            }
            CHECK(ran >= whole.size() - ETH_HLEN - 20);
        }
        CHECK(p.vipCounters(0).guePackets == 0);
    }

    TEST_CASE("what is not tunnel traffic passes untouched: native packets, other ports, ARP, VLAN tags, a disabled encapsulation") {
        auto p = loaded();
        const std::vector<Bytes> frames = {
            ether(ETH_P_IP, ipv4(kClient, kVip, IPPROTO_TCP, tcp())),
            ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_UDP, udp(53, ipv4(kClient, kVip, IPPROTO_TCP, tcp())))),
            ether(ETH_P_IPV6, ipv6(kClient6, kVip6, IPPROTO_TCP, tcp())),
            ether(ETH_P_ARP, Bytes(28, 0)),
            ether(ETH_P_8021Q, Bytes(60, 0)),
        };
        for (const auto& f : frames) {
            const Run r = run(p, f);
            CHECK(r.verdict == TC_ACT_UNSPEC);
            CHECK(r.out == f);
        }
        CHECK(p.activity() == 0);  // nothing counted, nothing moved
        REQUIRE(p.configure({.ipip = false, .gue = true, .guePort = kGue}));
        const Bytes ipip = ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, ipv4(kClient, kVip, IPPROTO_TCP, tcp())));
        const Run r = run(p, ipip);
        CHECK(r.verdict == TC_ACT_UNSPEC);  // IPIP not accepted: left to the stack, which has no tunnel for it
        CHECK(r.out == ipip);
    }

    TEST_CASE("2,000 random inner packets from a director: only those to a VIP come out decapsulated") {
        auto p = loaded();
        std::mt19937 rng(20261204);
        int decapsulated = 0;
        for (int i = 0; i < 2000; ++i) {
            Bytes junk(static_cast<std::size_t>(rng() % 120), 0);
            for (auto& b : junk) b = static_cast<unsigned char>(rng());
            const Run r = run(p, ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, junk)));
            if (r.verdict == TC_ACT_UNSPEC && r.out != ether(ETH_P_IP, ipv4(kDirector, kRip, IPPROTO_IPIP, junk))) ++decapsulated;
        }
        CHECK(decapsulated == 0);  // random bytes never make a whole IPv4 header to 203.0.113.10
        CHECK(p.vipCounters(0).ipipPackets == 0);
    }

    TEST_CASE("MSS: a VIP's SYN-ACK above the limit is clamped and its checksum stays right; the rest is untouched") {
        auto p = loaded();
        REQUIRE(p.configure({.ipip = true, .gue = true, .guePort = kGue, .mss = 1400}));
        const Bytes mss1460 = {2, 4, 0x05, 0xb4};
        const Bytes linuxOrder = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7};  // MSS SACK TS NOP WS, as Linux sends
        for (const Bytes& opts : {mss1460, linuxOrder}) {
            const Bytes f = ether(ETH_P_IP, synAck4(kVip, kClient, opts));
            CHECK(mssOf(f) == 1460);
            const Run r = run(p, f, true);
            CHECK(r.verdict == TC_ACT_UNSPEC);
            REQUIRE(r.out.size() == f.size());
            CHECK(mssOf(r.out) == 1400);
            CHECK(tcpSum4(Bytes(r.out.begin() + 14, r.out.end())) == 0);  // the checksum still adds up
        }
        CHECK(p.vipCounters(0).mssClamped == 2);
        CHECK(p.activity() == 2);
        const std::vector<Bytes> untouched = {
            ether(ETH_P_IP, synAck4(kVip, kClient, {2, 4, 0x05, 0x00})),            // 1280: already below
            ether(ETH_P_IP, synAck4(kVip, kClient, mss1460, false)),                 // a SYN, not a SYN-ACK
            ether(ETH_P_IP, synAck4("198.51.100.60", kClient, mss1460)),             // from the real server's own address
            ether(ETH_P_IP, synAck4(kVip, kClient, {2, 3, 0x05, 0xb4})),             // a malformed MSS option
            ether(ETH_P_IP, synAck4(kVip, kClient, {1, 1, 1, 1, 0, 2, 4, 0x05, 0xb4})),  // after the end of options
            ether(ETH_P_IP, synAck4(kVip, kClient, {1, 1, 2, 4, 0x05, 0xb4})),       // not first (Linux never sends it so)
        };
        for (const auto& f : untouched) {
            const Run r = run(p, f, true);
            CHECK(r.verdict == TC_ACT_UNSPEC);
            CHECK(r.out == f);
        }
        // every truncation of the options: never a crash, never a wrong checksum
        const Bytes whole = ether(ETH_P_IP, synAck4(kVip, kClient, linuxOrder));
        for (std::size_t n = 14 + 20 + 20; n < whole.size(); ++n) {
            const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
            const auto r = tryRun(p, cut, true);
            REQUIRE(r.has_value());
            CHECK(r->verdict == TC_ACT_UNSPEC);
            CHECK((r->out == cut || mssOf(r->out) == 1400));
        }
        REQUIRE(p.configure({.ipip = true, .gue = true, .guePort = kGue, .mss = 0}));  // no clamping configured
        const Bytes f = ether(ETH_P_IP, synAck4(kVip, kClient, mss1460));
        CHECK(run(p, f, true).out == f);
    }
}
