/* Forwarding a rewritten packet by the kernel's FIB (bpf_fib_lookup). */
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"

#define AF_INET 2

/* The next hop towards `dst` for a packet of `tot_len` bytes: CONTINUE
 * with `nh` filled, or the action when there is none. Without a resolved
 * neighbour the kernel forwards the packet (and resolves the neighbour for
 * the next ones). */
static __always_inline int fib_next_hop(struct xdp_md *ctx, __be32 src, __be32 dst, __u8 tos, __u16 tot_len,
                                        __u8 l4_protocol, struct next_hop *nh)
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
    nh->ifindex = fib.ifindex;
    __builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
    __builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
    return CONTINUE;
}

/* Sends the frame to `nh`: XDP_TX out of the ingress interface, or a
 * redirect to another one, counted in `stat_tx` or the counter after it. */
static __always_inline int send_to(struct xdp_md *ctx, struct next_hop *nh, __u32 stat_tx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
    if (nh->ifindex == ctx->ingress_ifindex) {
        count(stat_tx);
        return XDP_TX;
    }
    count(stat_tx + 1);
    return bpf_redirect(nh->ifindex, 0);
}

/* Looks up the next hop and sends the frame there; `nh` keeps the answer
 * (for the flow cache). */
static __always_inline int fib_forward(struct xdp_md *ctx, __be32 src, __be32 dst, __u8 tos, __u16 tot_len,
                                       __u8 l4_protocol, __u32 stat_tx, struct next_hop *nh)
{
    int act = fib_next_hop(ctx, src, dst, tos, tot_len, l4_protocol, nh);
    if (act != CONTINUE)
        return act;
    return send_to(ctx, nh, stat_tx);
}

/* With G_F_NEXT_HOP: the daemon's next hop for real slot `*real` (maps.h
 * next_hops) into `nh`, if its entry leads to `dst` and its MTU takes
 * `tot_len` bytes; 0 (counted) when the FIB must answer instead: no
 * entry, an entry of another real, or a packet too big for it (the FIB
 * then says FRAG_NEEDED as before).
 *
 * The entry assumes routing by destination alone: the FIB lookup it saves
 * would also see the packet's source and ingress interface (policy
 * routing by source); next_hop_cache = false in the config turns it off.
 * A daemon's write may race a reader and give it a mix of the old and new
 * entry: the daemon bumps globals.gen after every write, so such a packet
 * is the only one sent by it (the flow cache drops what it stored). */
static __always_inline int table_next_hop(struct globals *g, __u32 *real, __be32 dst, __u16 tot_len,
                                          struct next_hop *nh)
{
    if (!(g->flags & G_F_NEXT_HOP))
        return 0;
    struct real_next_hop *e = bpf_map_lookup_elem(&next_hops, real);
    if (!e || e->ifindex == 0 || e->addr != dst || tot_len > e->mtu) {
        count(STAT_NEXT_HOP_FALLBACK);
        return 0;
    }
    nh->ifindex = e->ifindex;
    __builtin_memcpy(nh->dmac, e->dmac, ETH_ALEN);
    __builtin_memcpy(nh->smac, e->smac, ETH_ALEN);
    count(STAT_NEXT_HOP_HIT);
    return 1;
}

/* Sends a packet rewritten for real slot `*real` (at `dst`; a pointer:
 * the caller's key on the stack, which is at its limit) on: by its
 * next_hops entry when usable, else as fib_forward. */
static __always_inline int forward_to_real(struct xdp_md *ctx, struct globals *g, __u32 *real, __be32 src,
                                           __be32 dst, __u8 tos, __u16 tot_len, __u8 l4_protocol,
                                           __u32 stat_tx, struct next_hop *nh)
{
    if (table_next_hop(g, real, dst, tot_len, nh))
        return send_to(ctx, nh, stat_tx);
    return fib_forward(ctx, src, dst, tos, tot_len, l4_protocol, stat_tx, nh);
}
