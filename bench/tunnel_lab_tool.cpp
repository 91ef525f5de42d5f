// Measurement helper for bench/tunnel's lab part (not part of the product). Each mode runs
// in one of the lab's namespaces:
//   tunnel_lab_tool sink VIP PORT SECONDS IFACE   (real server) counts UDP datagrams to
//       VIP:PORT for SECONDS from the first one; meanwhile the kernel's BPF run-time stats
//       are on (BPF_ENABLE_STATS: held by this process, off when it exits; no sysctl is
//       written) and the run count and time of the program at the agent's place on
//       IFACE's clsact ingress are read before and after. Prints one line of JSON.
//   tunnel_lab_tool flood MODE SRC RS VIP PORT SECONDS SIZE IFACE DST_MAC   (director)
//       writes frames to IFACE for DST_MAC (AF_PACKET) as fast as one core does for
//       SECONDS, each a SIZE-byte UDP payload from SRC:41000 to VIP:PORT: MODE dr (the
//       client's packet as it is), ipip (inside an outer IPv4 header SRC -> RS) or gue
//       (inside outer IPv4 and UDP to RS:6080).
//   tunnel_lab_tool echo VIP PORT   (real server) answers each datagram to VIP:PORT.
//   tunnel_lab_tool rtt SRC RS VIP PORT ROUNDS   (director) one datagram at a time as
//       flood sends it, from SRC:41000 (the inner source), the modes taking turns, each
//       answer read from the real server directly; prints p50/p99 round trips in
//       microseconds, one line per mode.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<unsigned char>;

namespace {

constexpr std::uint16_t kInnerSourcePort = 41000;
constexpr std::uint16_t kGuePort = 6080;
constexpr std::uint32_t kTunnelHandle = 0x1d5;  // the agent's place (tunnel/tunnel_driver.h)
constexpr std::uint32_t kTunnelPriority = 0xa6;

void put16(Bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<unsigned char>(v >> 8);
    b[at + 1] = static_cast<unsigned char>(v);
}

in_addr addr4(const char* s) {
    in_addr a{};
    if (inet_pton(AF_INET, s, &a) != 1) {
        std::fprintf(stderr, "not an IPv4 address: %s\n", s);
        std::exit(2);
    }
    return a;
}

// An IPv4 header with its checksum before payload.
Bytes ipv4(in_addr src, in_addr dst, int proto, const Bytes& payload) {
    Bytes p(20, 0);
    p[0] = 0x45;
    put16(p, 2, static_cast<unsigned>(20 + payload.size()));
    put16(p, 6, 0x4000);
    p[8] = 64;
    p[9] = static_cast<unsigned char>(proto);
    std::memcpy(&p[12], &src, 4);
    std::memcpy(&p[16], &dst, 4);
    unsigned sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16(p, 10, ~sum & 0xffff);
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
}

// The client's packet: IPv4 + UDP from SRC:41000 to VIP:PORT (UDP checksum 0: none).
Bytes innerPacket(const char* src, const char* vip, unsigned port, std::size_t size) {
    Bytes udp(8 + size, 0x5a);
    put16(udp, 0, kInnerSourcePort);
    put16(udp, 2, port);
    put16(udp, 4, static_cast<unsigned>(8 + size));
    put16(udp, 6, 0);
    return ipv4(addr4(src), addr4(vip), IPPROTO_UDP, udp);
}

// A socket connected so that send() puts one datagram of the mode on the wire, and the
// bytes to send.
struct Sender {
    int fd = -1;
    Bytes payload;
};

Sender sender(const std::string& mode, const char* src, const char* rs, const char* vip, unsigned port, std::size_t size) {
    Sender s;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    if (mode == "dr") {
        s.fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        from.sin_addr = addr4(src);
        from.sin_port = htons(kInnerSourcePort);
        int one = 1;
        setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s.fd, reinterpret_cast<sockaddr*>(&from), sizeof from) < 0) perror("bind");
        to.sin_addr = addr4(vip);
        to.sin_port = htons(static_cast<std::uint16_t>(port));
        s.payload.assign(size, 0x5a);
    } else if (mode == "ipip") {
        s.fd = socket(AF_INET, SOCK_RAW, IPPROTO_IPIP);
        to.sin_addr = addr4(rs);
        s.payload = innerPacket(src, vip, port, size);
    } else if (mode == "gue") {
        s.fd = socket(AF_INET, SOCK_DGRAM, 0);
        to.sin_addr = addr4(rs);
        to.sin_port = htons(kGuePort);
        s.payload = innerPacket(src, vip, port, size);
    } else {
        std::fprintf(stderr, "mode: dr, ipip or gue\n");
        std::exit(2);
    }
    if (s.fd < 0 || connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
        perror(mode.c_str());
        std::exit(1);
    }
    return s;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The whole frame the director puts on the wire for one client datagram, by mode: DR the
// client's packet to the real server's MAC; IPIP and GUE the same packet inside an outer
// header to the real server's address.
Bytes wireFrame(const std::string& mode, const char* src, const char* rs, const char* vip, unsigned port, std::size_t size,
                const unsigned char* dstMac, const unsigned char* srcMac) {
    const Bytes inner = innerPacket(src, vip, port, size);
    Bytes l3;
    if (mode == "dr") {
        l3 = inner;
    } else if (mode == "ipip") {
        l3 = ipv4(addr4(src), addr4(rs), IPPROTO_IPIP, inner);
    } else if (mode == "gue") {
        Bytes udp(8, 0);
        put16(udp, 0, 40000);
        put16(udp, 2, kGuePort);
        put16(udp, 4, static_cast<unsigned>(8 + inner.size()));
        udp.insert(udp.end(), inner.begin(), inner.end());
        l3 = ipv4(addr4(src), addr4(rs), IPPROTO_UDP, udp);
    } else {
        std::fprintf(stderr, "mode: dr, ipip or gue\n");
        std::exit(2);
    }
    Bytes f(14, 0);
    std::memcpy(&f[0], dstMac, 6);
    std::memcpy(&f[6], srcMac, 6);
    put16(f, 12, ETH_P_IP);
    f.insert(f.end(), l3.begin(), l3.end());
    return f;
}

bool parseMac(const char* text, unsigned char* mac) {
    unsigned v[6];
    if (std::sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<unsigned char>(v[i]);
    return true;
}

// Frames written straight to the interface (AF_PACKET, qdisc bypassed): the sending
// costs the same for every mode, so what differs between them is the receiving side.
int flood(char** a) {
    const std::string mode = a[0];
    const unsigned port = static_cast<unsigned>(std::stoul(a[4]));
    const double secs = std::stod(a[5]);
    const int ifindex = static_cast<int>(if_nametoindex(a[7]));
    unsigned char dstMac[6], srcMac[6];
    if (ifindex == 0 || !parseMac(a[8], dstMac)) {
        std::fprintf(stderr, "flood: unknown interface %s or bad MAC %s\n", a[7], a[8]);
        return 2;
    }
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", a[7]);
    if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        perror("flood: AF_PACKET");
        return 1;
    }
    std::memcpy(srcMac, ifr.ifr_hwaddr.sa_data, 6);
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, dstMac, 6);
    Bytes frame = wireFrame(mode, a[1], a[2], a[3], port, std::stoul(a[6]), dstMac, srcMac);
    constexpr int kBatch = 64;
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iov(kBatch);
    for (int i = 0; i < kBatch; ++i) {
        iov[i] = {frame.data(), frame.size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
    }
    std::uint64_t sent = 0, refused = 0;
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    while (Clock::now() < end) {
        const int n = sendmmsg(fd, msgs.data(), kBatch, 0);
        if (n > 0) sent += static_cast<unsigned>(n);
        else ++refused;
    }
    std::printf("{\"mode\": \"%s\", \"sent\": %llu, \"pps\": %.0f, \"frame_bytes\": %zu, \"send_errors\": %llu}\n", mode.c_str(),
                static_cast<unsigned long long>(sent), static_cast<double>(sent) / seconds(Clock::now() - t0), frame.size(),
                static_cast<unsigned long long>(refused));
    return 0;
}

int udpSocket(const char* vip, unsigned port) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr = addr4(vip);
    at.sin_port = htons(static_cast<std::uint16_t>(port));
    int big = 32 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    if (bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0) {
        perror("bind");
        std::exit(1);
    }
    return fd;
}

struct ProgRun {
    std::uint64_t count = 0, ns = 0;
    bool found = false;
};

ProgRun progRun(int ifindex) {
    ProgRun r;
    LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, o, .handle = kTunnelHandle, .priority = kTunnelPriority);
    if (bpf_tc_query(&h, &o) < 0) return r;
    const int fd = bpf_prog_get_fd_by_id(o.prog_id);
    if (fd < 0) return r;
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        r.count = info.run_cnt;
        r.ns = info.run_time_ns;
        r.found = true;
    }
    close(fd);
    return r;
}

int sink(char** a) {
    const int fd = udpSocket(a[0], static_cast<unsigned>(std::stoul(a[1])));
    const double secs = std::stod(a[2]);
    const int ifindex = static_cast<int>(if_nametoindex(a[3]));
    libbpf_set_print(nullptr);
    const int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);  // off again when this process exits
    std::printf("{\"ready\": true}\n");
    std::fflush(stdout);
    constexpr int kBatch = 64;
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iov(kBatch);
    std::vector<Bytes> bufs(kBatch, Bytes(2048));
    for (int i = 0; i < kBatch; ++i) {
        iov[i] = {bufs[i].data(), bufs[i].size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 30000) <= 0) {
        std::printf("{\"error\": \"nothing arrived within 30 s\"}\n");
        return 1;
    }
    const ProgRun before = progRun(ifindex);
    std::uint64_t got = 0;
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    timespec wait{0, 50 * 1000 * 1000};
    while (Clock::now() < end) {
        const int n = recvmmsg(fd, msgs.data(), kBatch, MSG_WAITFORONE, &wait);
        if (n > 0) got += static_cast<unsigned>(n);
    }
    const double took = seconds(Clock::now() - t0);
    const ProgRun after = progRun(ifindex);
    const std::uint64_t runs = after.count - before.count;
    std::printf("{\"received\": %llu, \"pps\": %.0f, \"bpf_stats\": %s, \"prog_runs\": %llu, \"prog_ns_per_run\": %.1f}\n",
                static_cast<unsigned long long>(got), static_cast<double>(got) / took, stats >= 0 && after.found ? "true" : "false",
                static_cast<unsigned long long>(runs), runs ? static_cast<double>(after.ns - before.ns) / static_cast<double>(runs) : 0.0);
    return 0;
}

int echo(char** a) {
    const int fd = udpSocket(a[0], static_cast<unsigned>(std::stoul(a[1])));
    std::printf("{\"ready\": true}\n");
    std::fflush(stdout);
    unsigned char buf[2048];
    for (;;) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return 1;
        sendto(fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
}

int rtt(char** a) {
    const char* modes[] = {"dr", "ipip", "gue"};
    const unsigned port = static_cast<unsigned>(std::stoul(a[3]));
    const int rounds = std::stoi(a[4]);
    // The answers come from VIP:PORT to SRC:41000, where the dr socket is bound: every
    // mode's answer is read there. The modes take turns, one datagram each, so a slower
    // moment of the machine falls on all three alike.
    std::vector<Sender> senders;
    for (const char* m : modes) senders.push_back(sender(m, a[0], a[1], a[2], port, 32));
    const int in = senders[0].fd;
    std::vector<double> us[3];
    int lost[3] = {0, 0, 0};
    unsigned char buf[2048];
    for (int i = 0; i < rounds; ++i)
        for (int m = 0; m < 3; ++m) {
            const auto t0 = Clock::now();
            if (send(senders[m].fd, senders[m].payload.data(), senders[m].payload.size(), 0) < 0) return 1;
            pollfd p{in, POLLIN, 0};
            if (poll(&p, 1, 1000) <= 0) {
                ++lost[m];
                continue;
            }
            if (recv(in, buf, sizeof buf, 0) < 0) return 1;
            us[m].push_back(seconds(Clock::now() - t0) * 1e6);
        }
    for (int m = 0; m < 3; ++m) {
        auto& v = us[m];
        std::sort(v.begin(), v.end());
        auto q = [&](double f) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<std::size_t>(f * static_cast<double>(v.size())))]; };
        std::printf("{\"mode\": \"%s\", \"rounds\": %d, \"lost\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f}\n", modes[m], rounds, lost[m],
                    q(0.5), q(0.99));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string m = argc > 1 ? argv[1] : "";
    if (m == "sink" && argc == 6) return sink(argv + 2);
    if (m == "flood" && argc == 11) return flood(argv + 2);
    if (m == "echo" && argc == 4) return echo(argv + 2);
    if (m == "rtt" && argc == 7) return rtt(argv + 2);
    std::fprintf(stderr,
                 "usage: tunnel_lab_tool sink VIP PORT SECONDS IFACE | flood MODE SRC RS VIP PORT SECONDS SIZE IFACE DST_MAC |\n"
                 "       echo VIP PORT | rtt SRC RS VIP PORT ROUNDS   (MODE: dr, ipip, gue)\n");
    return 2;
}
