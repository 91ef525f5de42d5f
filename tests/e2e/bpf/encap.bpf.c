// SPDX-License-Identifier: GPL-2.0
// Test only: the director of the tunnel lab. It forwards packets for the VIP back toward
// the router, and on its interface's clsact egress each is encapsulated the way IPVS TUN and Katran do it (IPIP: an outer IPv4 /
// IPv6 header; GUE, -DENCAP_GUE: an outer header and a UDP header to GUE_PORT), with the
// director's address as the outer source and one of two real servers (by the client's
// source port) as the outer destination; the router then carries it to that server. Addresses come from -D at build time, so the
// program has no maps and iproute2's tc loads it. Section "tc/pass" passes everything:
// the lab's stand-in for another program's filter on a real server's clsact; "tc/after"
// (below) one at a later priority than the agent's.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// -DGUE_V0: GUE as IPVS `tun_type gue` sends it, a 4-byte GUE header (version 0) between
// UDP and the inner packet; without it, the inner packet straight after UDP (Katran).
#ifdef GUE_V0
#define GUE_HDR 4
#else
#define GUE_HDR 0
#endif

#define A4(a, b, c, d) ((__u32)(((a) << 24) | ((b) << 16) | ((c) << 8) | (d)))

static __always_inline __u16 csum_fold(__u32 sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

static __always_inline void ip6(struct in6_addr *a, __u16 w0, __u16 w1, __u16 w2, __u16 w7) {
    __builtin_memset(a, 0, sizeof(*a));
    a->in6_u.u6_addr16[0] = bpf_htons(w0);
    a->in6_u.u6_addr16[1] = bpf_htons(w1);
    a->in6_u.u6_addr16[2] = bpf_htons(w2);
    a->in6_u.u6_addr16[7] = bpf_htons(w7);
}

static __always_inline int encap4(struct __sk_buff *skb) {
    struct iphdr in;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &in, sizeof(in)) < 0) return TC_ACT_OK;
    if (in.daddr != bpf_htonl(VIP4)) return TC_ACT_OK;
    __u16 sport = 0;
    bpf_skb_load_bytes(skb, ETH_HLEN + in.ihl * 4, &sport, sizeof(sport));
    const __u32 rs = ((bpf_ntohs(sport) ^ (bpf_ntohs(sport) >> 3)) & 2) ? RS1_4 : RS2_4;
    const __u32 inner = skb->len - ETH_HLEN;
#ifdef ENCAP_GUE
    const __u32 room = sizeof(struct iphdr) + sizeof(struct udphdr) + GUE_HDR;
    const __u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
#else
    const __u32 room = sizeof(struct iphdr);
    const __u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4;
#endif
    if (bpf_skb_adjust_room(skb, room, BPF_ADJ_ROOM_MAC, flags) < 0) return TC_ACT_SHOT;
    struct iphdr out = {};
    out.version = 4;
    out.ihl = 5;
    out.ttl = 64;
    out.tot_len = bpf_htons(inner + room);
    out.saddr = bpf_htonl(DIRECTOR4);
    out.daddr = bpf_htonl(rs);
#ifdef ENCAP_GUE
    out.protocol = IPPROTO_UDP;
#else
    out.protocol = IPPROTO_IPIP;
#endif
    __u32 sum = 0;
    __u16 *w = (__u16 *)&out;
#pragma unroll
    for (int i = 0; i < 10; i++) sum += w[i];
    out.check = csum_fold(sum);
    if (bpf_skb_store_bytes(skb, ETH_HLEN, &out, sizeof(out), 0) < 0) return TC_ACT_SHOT;
#ifdef ENCAP_GUE
    struct udphdr udp = {.source = bpf_htons(40000 + (bpf_ntohs(sport) & 0xfff)), .dest = bpf_htons(GUE_PORT),
                         .len = bpf_htons(inner + sizeof(struct udphdr) + GUE_HDR), .check = 0};
    if (bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(out), &udp, sizeof(udp), 0) < 0) return TC_ACT_SHOT;
#ifdef GUE_V0
    const __u8 gue[4] = {0, IPPROTO_IPIP, 0, 0};
    if (bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(out) + sizeof(udp), gue, sizeof(gue), 0) < 0) return TC_ACT_SHOT;
#endif
#endif
    return TC_ACT_OK;  // on egress to the router: its MAC is already the next hop's
}

static __always_inline int encap6(struct __sk_buff *skb) {
    struct ipv6hdr in;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &in, sizeof(in)) < 0) return TC_ACT_OK;
    struct in6_addr vip;
    ip6(&vip, 0x2001, 0xdb8, 0xff, VIP6_LAST);
    if (__builtin_memcmp(&in.daddr, &vip, sizeof(vip)) != 0) return TC_ACT_OK;
    __u16 sport = 0;
    if (in.nexthdr == IPPROTO_TCP) bpf_skb_load_bytes(skb, ETH_HLEN + sizeof(in), &sport, sizeof(sport));
    const __u32 inner = skb->len - ETH_HLEN;
#ifdef ENCAP_GUE
    const __u32 room = sizeof(struct ipv6hdr) + sizeof(struct udphdr) + GUE_HDR;
    const __u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
#else
    const __u32 room = sizeof(struct ipv6hdr);
    const __u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
#endif
    if (bpf_skb_adjust_room(skb, room, BPF_ADJ_ROOM_MAC, flags) < 0) return TC_ACT_SHOT;
    struct ipv6hdr out = {};
    out.version = 6;
    out.hop_limit = 64;
#ifdef ENCAP_GUE
    out.nexthdr = IPPROTO_UDP;
    out.payload_len = bpf_htons(inner + sizeof(struct udphdr) + GUE_HDR);
#else
    out.nexthdr = IPPROTO_IPV6;
    out.payload_len = bpf_htons(inner);
#endif
    ip6(&out.saddr, 0x2001, 0xdb8, 0xd, 0x50);
    ip6(&out.daddr, 0x2001, 0xdb8, 0xe, ((bpf_ntohs(sport) ^ (bpf_ntohs(sport) >> 3)) & 2) ? 0x11 : 0x12);
    if (bpf_skb_store_bytes(skb, ETH_HLEN, &out, sizeof(out), 0) < 0) return TC_ACT_SHOT;
#ifdef ENCAP_GUE
    // IPv6 wants a UDP checksum; the real server takes the outer headers off unread.
    struct udphdr udp = {.source = bpf_htons(40000 + (bpf_ntohs(sport) & 0xfff)), .dest = bpf_htons(GUE_PORT),
                         .len = bpf_htons(inner + sizeof(struct udphdr) + GUE_HDR), .check = 0xffff};
    if (bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(out), &udp, sizeof(udp), 0) < 0) return TC_ACT_SHOT;
#ifdef GUE_V0
    const __u8 gue[4] = {0, IPPROTO_IPV6, 0, 0};
    if (bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(out) + sizeof(udp), gue, sizeof(gue), 0) < 0) return TC_ACT_SHOT;
#endif
#endif
    return TC_ACT_OK;  // on egress to the router: its MAC is already the next hop's
}

SEC("tc")
int lab_encap(struct __sk_buff *skb) {
    if (skb->protocol == bpf_htons(ETH_P_IP)) return encap4(skb);
    if (skb->protocol == bpf_htons(ETH_P_IPV6)) return encap6(skb);
    return TC_ACT_OK;
}

SEC("tc/pass")
int lab_pass(struct __sk_buff *skb) { return TC_ACT_UNSPEC; }  // the next filter decides

// Section "tc/after": drops TCP to port 81, IPv4 or IPv6 (no extension headers), as it
// arrives at this filter; the lab puts it on rs2's ingress after the agent's priority, so a
// connection to the VIP's port 81 through rs2 fails only if the decapsulated packet reaches
// filters after lvs_decap.
SEC("tc/after")
int lab_after(struct __sk_buff *skb) {
    __u16 dport;
    __u32 l4;
    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_TCP) return TC_ACT_UNSPEC;
        l4 = ETH_HLEN + ip.ihl * 4;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.nexthdr != IPPROTO_TCP) return TC_ACT_UNSPEC;
        l4 = ETH_HLEN + sizeof(ip);
    } else {
        return TC_ACT_UNSPEC;
    }
    if (bpf_skb_load_bytes(skb, l4 + 2, &dport, sizeof(dport)) < 0) return TC_ACT_UNSPEC;
    return dport == bpf_htons(81) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
