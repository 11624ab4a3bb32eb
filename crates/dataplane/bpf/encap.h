/* TUN: IPIP encapsulation towards a real server. */
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "csum.h"
#include "parse.h"

/* Prepends an outer IPv4 header (src -> dst, protocol IPIP), keeping the
 * Ethernet header and VLAN tag in front of it. Invalidates `p`. */
static __always_inline int ipip_encap(struct xdp_md *ctx, struct pkt *p, __be32 src, __be32 dst)
{
    struct ethhdr eth = *p->eth;
    __be16 vlan[2] = {0, 0};
    __u32 l2_len = p->l2_len;
    if (l2_len == sizeof(struct ethhdr) + 4) {
        struct vlan_hdr *v = (void *)(p->eth + 1);
        vlan[0] = v->tci;
        vlan[1] = v->proto;
    }
    __u16 inner_len = bpf_ntohs(p->ip->tot_len);
    __u8 tos = p->ip->tos;

    if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr))) {
        count(STAT_DROP_ENCAP);
        return XDP_DROP;
    }
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *new_eth = data;
    if ((void *)(new_eth + 1) > data_end)
        return XDP_DROP;
    *new_eth = eth;
    struct iphdr *outer;
    if (l2_len == sizeof(struct ethhdr) + 4) {
        struct vlan_hdr *v = (void *)(new_eth + 1);
        if ((void *)(v + 1) > data_end)
            return XDP_DROP;
        v->tci = vlan[0];
        v->proto = vlan[1];
        outer = (void *)(v + 1);
    } else {
        outer = (void *)(new_eth + 1);
    }
    if ((void *)(outer + 1) > data_end)
        return XDP_DROP;
    outer->version = 4;
    outer->ihl = 5;
    outer->tos = tos;
    outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
    outer->id = 0;
    outer->frag_off = 0;
    outer->ttl = TUN_TTL;
    outer->protocol = IPPROTO_IPIP;
    outer->saddr = src;
    outer->daddr = dst;
    outer->check = 0;
    outer->check = ipv4_csum(outer);
    return CONTINUE;
}
