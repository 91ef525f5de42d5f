// bench/tunnel: the tunnel program's run time per packet, measured by the kernel
// (BPF_PROG_TEST_RUN's duration), REPEAT packets of each kind, one run per call (a repeated
// run would see the packet its first run decapsulated, and time the pass), for each kind it
// sees: IPIP and GUE decapsulated (1,400 bytes inside), a native packet passed, a packet
// from a host that is not a director dropped. Needs root (loading BPF).
// Usage: tunnel_tool [REPEAT]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tunnel/tunnel_program.h"

namespace {

using Bytes = std::vector<unsigned char>;

void put16(Bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<unsigned char>(v >> 8);
    b[at + 1] = static_cast<unsigned char>(v);
}

Bytes ipv4(const char* src, const char* dst, int proto, const Bytes& payload) {
    Bytes h(20, 0);
    h[0] = 0x45;
    put16(h, 2, static_cast<unsigned>(20 + payload.size()));
    h[8] = 64;
    h[9] = static_cast<unsigned char>(proto);
    inet_pton(AF_INET, src, &h[12]);
    inet_pton(AF_INET, dst, &h[16]);
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

Bytes frame(const Bytes& l3) {
    Bytes f(14, 0x02);
    put16(f, 12, ETH_P_IP);
    f.insert(f.end(), l3.begin(), l3.end());
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    const unsigned repeat = argc > 1 ? static_cast<unsigned>(std::stoul(argv[1])) : 20000;
    auto p = tunnel::TunnelProgram::load();
    if (!p) {
        std::fprintf(stderr, "%s\n", p.error().c_str());
        return 1;
    }
    const auto vip = *netcfg::IpAddress::parse("203.0.113.10");
    if (!p->configure({.ipip = true, .gue = true, .guePort = 6080}) || !p->addVip(vip, 0) ||
        !p->addDirector(*netcfg::IpAddress::parse("198.51.100.50")))
        return 1;
    Bytes tcp(20 + 1380, 0xab);
    tcp[12] = 0x50;
    const Bytes inner = ipv4("192.0.2.7", "203.0.113.10", IPPROTO_TCP, tcp);
    Bytes udp(8, 0);
    put16(udp, 2, 6080);
    put16(udp, 4, static_cast<unsigned>(8 + inner.size()));
    udp.insert(udp.end(), inner.begin(), inner.end());
    const struct {
        const char* what;
        Bytes f;
    } cases[] = {
        {"IPIP, decapsulated (1,400 bytes inside)", frame(ipv4("198.51.100.50", "198.51.100.60", IPPROTO_IPIP, inner))},
        {"GUE, decapsulated (1,400 bytes inside)", frame(ipv4("198.51.100.50", "198.51.100.60", IPPROTO_UDP, udp))},
        {"native TCP to the VIP, passed", frame(inner)},
        {"IPIP from a non-director, dropped", frame(ipv4("198.51.100.99", "198.51.100.60", IPPROTO_IPIP, inner))},
    };
    for (const auto& c : cases) {
        Bytes out(c.f.size() + 64);
        unsigned long long total = 0;
        int verdict = 0;
        for (unsigned i = 0; i < repeat; ++i) {
            LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c.f.data(), .data_out = out.data(), .data_size_in = static_cast<__u32>(c.f.size()),
                        .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
            if (bpf_prog_test_run_opts(p->programFd(), &o) != 0) return 1;
            total += o.duration;
            verdict = static_cast<int>(o.retval);
        }
        std::printf("%-42s %u packets: %.0f ns per packet (verdict %d: -1 passed, 2 dropped)\n", c.what, repeat, static_cast<double>(total) / repeat, verdict);
    }
    const auto s = p->vipCounters(0);
    std::printf("counted by the program: %llu IPIP and %llu GUE packets decapsulated\n", static_cast<unsigned long long>(s.ipipPackets),
                static_cast<unsigned long long>(s.guePackets));
    return 0;
}
