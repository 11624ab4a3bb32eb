/* Forwarding a rewritten packet by the kernel's FIB (bpf_fib_lookup). */
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"

#define AF_INET 2

/* Sends the (rewritten or encapsulated) frame towards `dst` through the
 * FIB: XDP_TX out of the ingress interface, or a redirect to another one,
 * counted in `stat_tx` or the counter after it. Without a resolved
 * neighbour the kernel forwards it (and resolves the neighbour for the
 * next packets). */
static __always_inline int fib_forward(struct xdp_md *ctx, __be32 src, __be32 dst, __u8 tos, __u16 tot_len,
                                       __u8 l4_protocol, __u32 stat_tx)
{
    struct bpf_fib_lookup fib = {};
    fib.family = AF_INET;
    fib.tos = tos;
    fib.l4_protocol = l4_protocol;
    fib.tot_len = tot_len;
    fib.ifindex = ctx->ingress_ifindex;
    fib.ipv4_src = src;
    fib.ipv4_dst = dst;
    int rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
    if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
        count(STAT_PASS_NO_NEIGH);
        return XDP_PASS;
    }
    if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
        /* Bigger than the egress MTU (e.g. TUN's 20 more bytes). */
        count(STAT_DROP_TOO_BIG);
        return XDP_DROP;
    }
    if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
        count(STAT_DROP_NO_ROUTE);
        return XDP_DROP;
    }
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
    if (fib.ifindex == ctx->ingress_ifindex) {
        count(stat_tx);
        return XDP_TX;
    }
    count(stat_tx + 1);
    return bpf_redirect(fib.ifindex, 0);
}
