// SPDX-License-Identifier: GPL-2.0
// lvs_decap: the tunnel-mode real server's decapsulation, a tc (clsact ingress) program.
// A packet is decapsulated only when it is IPIP (4in4, 6in6) or GUE to the configured UDP
// port (version 1, the inner packet straight after UDP, as Katran sends it; or version 0,
// a 4-byte GUE header first, as IPVS `tun_type gue` sends it), its outer source is a configured director, and its inner
// destination is a configured VIP; the packet then goes on as if it had arrived natively
// on the interface (no tunnel device, no rp_filter change). Tunnel traffic that fails any
// of those checks is dropped and counted by reason; everything else passes untouched, to
// the next filter on the hook if there is one (LVS_PASS).
// lvs_mss (clsact egress): a SYN-ACK from a VIP advertising an MSS above the configured one
// gets that MSS instead, its TCP checksum fixed, so the client never sends segments that
// do not fit once the director encapsulates them.
// The maps are the only interface to user space. Parsing reads with bpf_skb_load_bytes,
// every offset bounded, so nothing the wire sends can make it read past the packet.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tunnel_maps.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LVS_MAX_VIPS);
    __type(key, struct lvs_addr);
    __type(value, __u32);  // the VIP's index in lvs_vip_stats
} lvs_vips SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LVS_MAX_DIRECTORS);
    __type(key, struct lvs_addr);
    __type(value, __u32);
} lvs_directors SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct lvs_config);
} lvs_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, LVS_MAX_VIPS);
    __type(key, __u32);
    __type(value, struct lvs_vip_stats);
} lvs_vip_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, LVS_DROP_REASONS);
    __type(key, __u32);
    __type(value, __u64);
} lvs_drops SEC(".maps");

// What the program returns for a packet it lets through, touched or not: TC_ACT_UNSPEC
// hands it to the next filter on the hook (an operator's own, at a later priority), and
// past the last one to the stack. TC_ACT_OK would end the hook's chain here.
#define LVS_PASS TC_ACT_UNSPEC

// Counts one change to any counter above: user space reads this one slot each tick and
// the per-VIP and drop counters only when it moved.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} lvs_activity SEC(".maps");

static __always_inline void counted(void) {
    const __u32 zero = 0;
    __u64* n = bpf_map_lookup_elem(&lvs_activity, &zero);
    if (n) *n += 1;
}

static __always_inline int drop(__u32 reason) {
    __u64* n = bpf_map_lookup_elem(&lvs_drops, &reason);
    if (n) *n += 1;
    counted();
    return TC_ACT_SHOT;
}

// Where the inner packet starts, its family, and which encapsulation carried it.
struct tunnel {
    __u32 outer_len;  // bytes from the end of the Ethernet header to the inner packet
    __u32 encap;      // LVS_ENCAP_IPIP or LVS_ENCAP_GUE
    struct lvs_addr director;
};

// 1: a tunnel packet found (t filled), 0: not a tunnel packet (pass), <0: drop (DROPPED()).
#define DROPPED(reason) (-1 - (reason))
static __always_inline int outer_v4(struct __sk_buff* skb, const struct lvs_config* cfg, struct tunnel* t) {
    struct iphdr ip;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) < 0) return 0;
    if (ip.version != 4 || ip.ihl < 5) return 0;  // the stack's to judge
    const __u32 ihl = ip.ihl * 4;
    __u32 encap = 0;
    if (ip.protocol == IPPROTO_IPIP && (cfg->encap & LVS_ENCAP_IPIP)) {
        encap = LVS_ENCAP_IPIP;
    } else if (ip.protocol == IPPROTO_UDP && (cfg->encap & LVS_ENCAP_GUE)) {
        struct udphdr udp;
        if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl, &udp, sizeof udp) < 0) return 0;
        if (udp.dest != cfg->gue_port) return 0;
        encap = LVS_ENCAP_GUE;
    } else {
        return 0;
    }
    __builtin_memset(&t->director, 0, sizeof t->director);
    t->director.family = LVS_FAMILY_V4;
    __builtin_memcpy(t->director.addr, &ip.saddr, 4);
    if (!bpf_map_lookup_elem(&lvs_directors, &t->director)) return DROPPED(LVS_DROP_NOT_DIRECTOR);
    if (ip.frag_off & bpf_htons(0x3fff)) return DROPPED(LVS_DROP_FRAGMENT);  // MF or an offset
    t->encap = encap;
    t->outer_len = ihl + (encap == LVS_ENCAP_GUE ? sizeof(struct udphdr) : 0);
    if (bpf_ntohs(ip.tot_len) < t->outer_len || bpf_ntohs(ip.tot_len) > skb->len - ETH_HLEN) return DROPPED(LVS_DROP_MALFORMED);
    return 1;
}

static __always_inline int outer_v6(struct __sk_buff* skb, const struct lvs_config* cfg, struct tunnel* t) {
    struct ipv6hdr ip;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) < 0) return 0;
    if (ip.version != 6) return 0;
    __u32 encap = 0;
    if (ip.nexthdr == IPPROTO_IPV6 && (cfg->encap & LVS_ENCAP_IPIP)) {
        encap = LVS_ENCAP_IPIP;
    } else if (ip.nexthdr == IPPROTO_UDP && (cfg->encap & LVS_ENCAP_GUE)) {
        struct udphdr udp;
        if (bpf_skb_load_bytes(skb, ETH_HLEN + sizeof ip, &udp, sizeof udp) < 0) return 0;
        if (udp.dest != cfg->gue_port) return 0;
        encap = LVS_ENCAP_GUE;
    } else if (ip.nexthdr == 44 /* fragment header */ && cfg->encap) {
        struct lvs_addr from = {.family = LVS_FAMILY_V6};
        __builtin_memcpy(from.addr, &ip.saddr, 16);
        if (bpf_map_lookup_elem(&lvs_directors, &from)) return DROPPED(LVS_DROP_FRAGMENT);  // a director's, fragmented
        return 0;
    } else {
        return 0;
    }
    __builtin_memset(&t->director, 0, sizeof t->director);
    t->director.family = LVS_FAMILY_V6;
    __builtin_memcpy(t->director.addr, &ip.saddr, 16);
    if (!bpf_map_lookup_elem(&lvs_directors, &t->director)) return DROPPED(LVS_DROP_NOT_DIRECTOR);
    t->encap = encap;
    t->outer_len = sizeof ip + (encap == LVS_ENCAP_GUE ? sizeof(struct udphdr) : 0);
    if (sizeof ip + bpf_ntohs(ip.payload_len) < t->outer_len || sizeof ip + bpf_ntohs(ip.payload_len) > skb->len - ETH_HLEN)
        return DROPPED(LVS_DROP_MALFORMED);
    return 1;
}

SEC("tc")
int lvs_decap(struct __sk_buff* skb) {
    const __u32 zero = 0;
    const struct lvs_config* cfg = bpf_map_lookup_elem(&lvs_config, &zero);
    if (!cfg || !cfg->encap) return LVS_PASS;
    const __u16 outer_proto = skb->protocol;
    struct tunnel t = {};
    int found;
    if (outer_proto == bpf_htons(ETH_P_IP))
        found = outer_v4(skb, cfg, &t);
    else if (outer_proto == bpf_htons(ETH_P_IPV6))
        found = outer_v6(skb, cfg, &t);
    else
        return LVS_PASS;  // ARP, VLAN-tagged frames and the rest: not ours
    if (found == 0) return LVS_PASS;
    if (found < 0) return drop((__u32)(-1 - found));
    if (t.encap == LVS_ENCAP_GUE) {
        // GUE comes two ways: version 1 puts the inner packet straight after UDP (its first
        // two bits, 01, are those of an IPv4 or IPv6 header: Katran, GLB); version 0 puts a
        // 4-byte GUE header first (IPVS `tun_type gue`): control bit, header length and
        // flags 0, the inner protocol IPIP or IPv6 to match the outer family. Options
        // (IPVS's remcsum) and control messages are not taken.
        __u8 g[4];
        if (bpf_skb_load_bytes(skb, ETH_HLEN + t.outer_len, g, sizeof g) < 0) return drop(LVS_DROP_MALFORMED);
        if ((g[0] >> 6) == 0) {
            if (g[0] != 0 || g[2] != 0 || g[3] != 0) return drop(LVS_DROP_GUE_HEADER);
            if (g[1] != (outer_proto == bpf_htons(ETH_P_IP) ? IPPROTO_IPIP : IPPROTO_IPV6)) return drop(LVS_DROP_FAMILY);
            t.outer_len += sizeof g;
        } else if ((g[0] >> 6) != 1) {
            return drop(LVS_DROP_GUE_HEADER);  // versions 2 and 3 are not defined
        }
    }

    // The inner packet: same family as the outer one, a whole header, a VIP as destination.
    const __u32 inner = ETH_HLEN + t.outer_len;
    __u8 first;
    if (bpf_skb_load_bytes(skb, inner, &first, 1) < 0) return drop(LVS_DROP_MALFORMED);
    struct lvs_addr vip = {};
    __u32 inner_len;
    if (outer_proto == bpf_htons(ETH_P_IP)) {
        if ((first >> 4) != 4) return drop(LVS_DROP_FAMILY);
        struct iphdr in;
        if (bpf_skb_load_bytes(skb, inner, &in, sizeof in) < 0) return drop(LVS_DROP_MALFORMED);
        if (in.ihl < 5 || bpf_ntohs(in.tot_len) < in.ihl * 4) return drop(LVS_DROP_MALFORMED);
        inner_len = bpf_ntohs(in.tot_len);
        vip.family = LVS_FAMILY_V4;
        __builtin_memcpy(vip.addr, &in.daddr, 4);
    } else {
        if ((first >> 4) != 6) return drop(LVS_DROP_FAMILY);
        struct ipv6hdr in;
        if (bpf_skb_load_bytes(skb, inner, &in, sizeof in) < 0) return drop(LVS_DROP_MALFORMED);
        inner_len = sizeof in + bpf_ntohs(in.payload_len);
        vip.family = LVS_FAMILY_V6;
        __builtin_memcpy(vip.addr, &in.daddr, 16);
    }
    if (inner + inner_len > skb->len) return drop(LVS_DROP_MALFORMED);
    const __u32* index = bpf_map_lookup_elem(&lvs_vips, &vip);
    if (!index) return drop(LVS_DROP_NOT_VIP);

    // Take the outer header (and UDP) off; what is left is the packet the client sent.
    if (bpf_skb_adjust_room(skb, -(__s32)t.outer_len, BPF_ADJ_ROOM_MAC, 0) < 0) return drop(LVS_DROP_DECAP);
    // Counted apart from the per-VIP update: inside it, clang merged the two branches into
    // one map pointer plus an offset that differs by path, which the verifier refuses to a
    // loader without CAP_PERFMON (the unit's: e2e.tunnel loads it so).
    counted();
    struct lvs_vip_stats* s = bpf_map_lookup_elem(&lvs_vip_stats, index);
    if (s) {
        if (t.encap == LVS_ENCAP_GUE) {
            s->gue_packets += 1;
            s->gue_bytes += inner_len;
        } else {
            s->ipip_packets += 1;
            s->ipip_bytes += inner_len;
        }
    }
    return LVS_PASS;
}

// The MSS option of the TCP header at tcp, clamped to mss. The SYN-ACK comes from this
// host's own stack, and Linux writes the MSS option first (tcp_options_write): only that
// place is looked at. A walk over every option, one variable offset at a time, goes past
// the verifier's limit of a million instructions on this kernel.
static __always_inline void clamp_mss(struct __sk_buff* skb, __u32 tcp, __u32 optlen, __u16 mss, const __u32* index) {
    if (optlen < 4) return;
    __u8 opt[4];
    if (bpf_skb_load_bytes(skb, tcp + 20, opt, sizeof opt) < 0 || opt[0] != 2 || opt[1] != 4) return;
    __be16 old;
    __builtin_memcpy(&old, &opt[2], 2);
    if (bpf_ntohs(old) <= mss) return;
    const __be16 clamped = bpf_htons(mss);
    if (bpf_l4_csum_replace(skb, tcp + 16, old, clamped, 2) < 0) return;
    if (bpf_skb_store_bytes(skb, tcp + 22, &clamped, 2, 0) < 0) return;
    struct lvs_vip_stats* s = bpf_map_lookup_elem(&lvs_vip_stats, index);
    if (s) {
        s->mss_clamped += 1;
        counted();
    }
}

SEC("tc")
int lvs_mss(struct __sk_buff* skb) {
    const __u32 zero = 0;
    const struct lvs_config* cfg = bpf_map_lookup_elem(&lvs_config, &zero);
    if (!cfg || !cfg->mss) return LVS_PASS;
    struct lvs_addr vip = {};
    __u32 tcp;
    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) < 0 || ip.version != 4 || ip.ihl < 5) return LVS_PASS;
        if (ip.protocol != IPPROTO_TCP || (ip.frag_off & bpf_htons(0x1fff))) return LVS_PASS;
        vip.family = LVS_FAMILY_V4;
        __builtin_memcpy(vip.addr, &ip.saddr, 4);
        tcp = ETH_HLEN + ip.ihl * 4;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) < 0 || ip.version != 6 || ip.nexthdr != IPPROTO_TCP) return LVS_PASS;
        vip.family = LVS_FAMILY_V6;
        __builtin_memcpy(vip.addr, &ip.saddr, 16);
        tcp = ETH_HLEN + sizeof ip;
    } else {
        return LVS_PASS;
    }
    const __u32* index = bpf_map_lookup_elem(&lvs_vips, &vip);
    if (!index) return LVS_PASS;  // not from a VIP: not ours
    struct tcphdr th;
    if (bpf_skb_load_bytes(skb, tcp, &th, sizeof th) < 0 || !th.syn || !th.ack || th.doff < 5) return LVS_PASS;
    clamp_mss(skb, tcp, th.doff * 4 - 20, cfg->mss, index);
    return LVS_PASS;  // egress never drops: at worst the MSS stays as it was
}

char LICENSE[] SEC("license") = "GPL";
