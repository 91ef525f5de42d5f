// The maps' key and value layouts, shared by the tc program (tunnel.bpf.c) and user space:
// the only interface between the two.
#pragma once
#include <linux/types.h>

#define LVS_MAX_VIPS 65536
#define LVS_MAX_DIRECTORS 256

#define LVS_FAMILY_V4 4
#define LVS_FAMILY_V6 6

#define LVS_ENCAP_IPIP 1u
#define LVS_ENCAP_GUE 2u

// Why tunnel traffic was dropped (lvs_drops index).
#define LVS_DROP_NOT_DIRECTOR 0  // the outer source is not a configured director
#define LVS_DROP_NOT_VIP 1       // the inner destination is not a configured VIP
#define LVS_DROP_MALFORMED 2     // lengths that do not add up, a header cut short
#define LVS_DROP_FRAGMENT 3      // a fragmented tunnel packet (directors send whole ones)
#define LVS_DROP_FAMILY 4        // inner and outer families differ
#define LVS_DROP_DECAP 5         // the kernel refused to take the outer header off
#define LVS_DROP_GUE_HEADER 6    // a GUE header not taken: options, a control message, version 2 or 3
#define LVS_DROP_REASONS 7

// An address with its family; the unused bytes of an IPv4 address are zero.
struct lvs_addr {
    __u8 family;
    __u8 pad[3];
    __u8 addr[16];
};

struct lvs_config {
    __u32 encap;     // LVS_ENCAP_* accepted; 0: decapsulate nothing
    __u16 gue_port;  // network order
    __u16 mss;       // host order: the largest MSS a VIP's SYN-ACK may advertise; 0: no clamping
};

struct lvs_vip_stats {
    __u64 ipip_packets;
    __u64 ipip_bytes;  // inner packets' bytes
    __u64 gue_packets;
    __u64 gue_bytes;
    __u64 mss_clamped;  // SYN-ACKs from the VIP whose MSS lvs_mss lowered
};
