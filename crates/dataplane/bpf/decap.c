// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/* xlvs-decap: IPIP decapsulation in XDP for TUN real servers whose kernel
 * has no ipip module. A frame Ethernet [+ one 802.1Q tag] + IPv4 protocol
 * 4 whose outer destination is in `decap_addrs` (the loader fills it with
 * the interface's addresses) loses its outer IPv4 header; the L2 header
 * moves forward over it and the kernel receives the inner packet (for the
 * VIP held on lo). Everything else passes untouched: other traffic, IPIP
 * for other addresses (this host may route it), and IPIP we cannot trust
 * (outer options, fragments, bad checksum, lengths that disagree, an
 * inner packet that is not IPv4 or is cut short). The director only sends
 * 20-byte outer headers, unfragmented. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "csum.h"

/* Counters (decap_stats index); mirrored in src/decap.rs. */
enum decap_stat {
    DECAP_OK = 0,        /* outer header stripped */
    DECAP_NOT_OURS,      /* IPIP for an address not in decap_addrs */
    DECAP_MALFORMED,     /* IPIP we do not trust, passed as it came */
    DECAP_STAT_MAX,
};

/* Outer destinations to decapsulate (network order); value unused. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __be32);
    __type(value, __u8);
} decap_addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DECAP_STAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} decap_stats SEC(".maps");

struct vlan_tag {
    __be16 tci;
    __be16 proto;
};

static __always_inline int bump(__u32 stat)
{
    __u64 *v = bpf_map_lookup_elem(&decap_stats, &stat);
    if (v)
        *v += 1;
    return XDP_PASS;
}

SEC("xdp")
int decap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    struct vlan_tag tag = {};
    __u32 l2_len = sizeof(*eth);
    __be16 proto = eth->h_proto;
    if (proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_tag *v = (void *)(eth + 1);
        if ((void *)(v + 1) > data_end)
            return XDP_PASS;
        tag = *v;
        proto = v->proto;
        l2_len += sizeof(*v);
    }
    if (proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct iphdr *outer = data + l2_len;
    if ((void *)(outer + 1) > data_end)
        return XDP_PASS;
    if (outer->protocol != IPPROTO_IPIP)
        return XDP_PASS;
    if (outer->version != 4 || outer->ihl != 5 || ipv4_csum(outer) != 0 ||
        (outer->frag_off & bpf_htons(IP_MF | IP_OFFMASK)))
        return bump(DECAP_MALFORMED);
    if (!bpf_map_lookup_elem(&decap_addrs, &outer->daddr))
        return bump(DECAP_NOT_OURS);

    struct iphdr *inner = (void *)(outer + 1);
    if ((void *)(inner + 1) > data_end)
        return bump(DECAP_MALFORMED);
    if (inner->version != 4 || inner->ihl < 5 ||
        bpf_ntohs(outer->tot_len) != sizeof(*outer) + bpf_ntohs(inner->tot_len) ||
        (void *)outer + bpf_ntohs(outer->tot_len) > data_end)
        return bump(DECAP_MALFORMED);

    /* Keep the L2 header, drop the 20 bytes in front of the inner packet,
     * and write the L2 header back just before it. */
    struct ethhdr l2 = *eth;
    if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
        return bump(DECAP_MALFORMED);
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP; /* cannot happen: the inner header follows */
    *eth = l2;
    if (l2_len > sizeof(*eth)) {
        struct vlan_tag *v = (void *)(eth + 1);
        if ((void *)(v + 1) > data_end)
            return XDP_DROP;
        *v = tag;
    }
    return bump(DECAP_OK);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
