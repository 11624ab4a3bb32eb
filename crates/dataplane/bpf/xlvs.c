// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/* The xlvs XDP program: packets to a service (VIP, protocol, port) are
 * sent to a real server chosen by the connection table or Maglev, by MAC
 * rewrite (DR), IPIP encapsulation (TUN) or address translation (NAT,
 * FULLNAT, whose replies come back through here). ICMP errors about a
 * flow follow it. Everything else passes to the kernel untouched. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "encap.h"
#include "fib.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "sched.h"

/* DR: the real owns the VIP on a loopback; only the MACs change. */
static __always_inline int forward_dr(struct pkt *p, struct real *r)
{
    __builtin_memcpy(p->eth->h_source, p->eth->h_dest, ETH_ALEN);
    __builtin_memcpy(p->eth->h_dest, r->mac, ETH_ALEN);
    count(STAT_TX_DR);
    return XDP_TX;
}

/* TUN: IPIP to the real. The outer source varies per flow within the
 * configured prefix, so the reals' receive side scaling spreads flows. */
static __always_inline int forward_tun(struct xdp_md *ctx, struct pkt *p, struct real *r, struct globals *g)
{
    __u8 tos = p->ip->tos;
    __u16 len = bpf_ntohs(p->ip->tot_len) + sizeof(struct iphdr);
    __be32 src = g->tun_src;
    if (g->tun_src_hostmask) {
        __u32 h = flow_hash(bpf_ntohl(p->key.src), bpf_ntohl(p->key.dst), bpf_ntohs(p->key.sport),
                            bpf_ntohs(p->key.dport), p->key.proto);
        src = (src & ~g->tun_src_hostmask) | (bpf_htonl(h) & g->tun_src_hostmask);
    }
    __be32 dst = r->addr;
    int act = ipip_encap(ctx, p, src, dst);
    if (act != CONTINUE)
        return act;
    return fib_forward(ctx, src, dst, tos, len, IPPROTO_IPIP, STAT_TX_TUN);
}

/* NAT and FULLNAT: the destination becomes the real; under FULLNAT the
 * source becomes the flow's local address and port. An ICMP error about
 * the flow is translated as the real would have seen it. */
static __always_inline int forward_nat(struct xdp_md *ctx, struct pkt *p, struct svc_val *svc, struct real *r,
                                       struct addrs *nat)
{
    void *data_end = (void *)(long)ctx->data_end;
    int full = svc->forward == FWD_FULLNAT;
    if (full && !nat->sport) {
        count(STAT_DROP_NAT_UNKNOWN);
        return XDP_DROP;
    }
    struct addrs to = {
        .src = full ? nat->src : p->key.src,
        .dst = r->addr,
        .sport = full ? nat->sport : p->key.sport,
        .dport = r->port ? r->port : p->key.dport,
    };
    struct iphdr *ip = p->ip;
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    __be32 outer_src = to.src;
    int act;
    if (p->icmp) {
        /* It quotes the real's reply as the client got it: make it the
         * reply as the real sent it. NAT keeps the reporting router's
         * address as the source. */
        struct addrs quoted = {.src = to.dst, .dst = to.src, .sport = to.dport, .dport = to.sport};
        if (!full)
            outer_src = ip->saddr;
        act = rewrite_icmp(p, data_end, outer_src, to.dst, &quoted);
    } else {
        act = rewrite_flow(p, data_end, &to);
    }
    if (act != CONTINUE)
        return act;
    return fib_forward(ctx, outer_src, to.dst, ip->tos, bpf_ntohs(ip->tot_len), ip->protocol,
                       full ? STAT_TX_FULLNAT : STAT_TX_NAT);
}

SEC("xdp")
int xlvs(struct xdp_md *ctx)
{
    struct pkt p = {};
    int act = parse(ctx, &p);
    if (act != CONTINUE)
        return act;

    /* Only frames sent to us: another director may own this one. */
    __u32 ifindex = ctx->ingress_ifindex;
    __u8 *ours = our_mac(ifindex);
    if (ours && __builtin_memcmp(ours, p.eth->h_dest, ETH_ALEN) != 0) {
        count(STAT_PASS_NOT_OURS);
        return XDP_PASS;
    }
    __u32 zero = 0;
    struct globals *g = bpf_map_lookup_elem(&globals, &zero);
    if (!g)
        return XDP_PASS;

    struct svc_val *svc = find_service(&p, g);
    if (!svc) {
        if (g->flags & G_F_NAT) {
            act = nat_reply(ctx, &p);
            if (act != CONTINUE)
                return act;
        }
        count(p.icmp ? STAT_PASS_ICMP : STAT_PASS_NOT_VIP);
        return XDP_PASS;
    }

    int new_conn = 0;
    struct addrs nat = {};
    __u32 idx = pick_real(&p, svc, g, &new_conn, &nat);
    if (idx == NO_SETUP)
        return XDP_DROP;
    struct real *r = idx == NO_REAL ? 0 : bpf_map_lookup_elem(&reals, &idx);
    if (!r) {
        count(STAT_DROP_NO_REAL);
        return XDP_DROP;
    }
    __u64 bytes = (__u64)(ctx->data_end - ctx->data);
    count_traffic(&svc_stats, svc->id, bytes, new_conn);
    count_traffic(&real_stats, idx, bytes, new_conn);
    if (p.icmp)
        count(STAT_ICMP_TO_REAL);

    switch (svc->forward) {
    case FWD_DR:
        return forward_dr(&p, r);
    case FWD_TUN:
        return forward_tun(ctx, &p, r, g);
    case FWD_FULLNAT:
    case FWD_NAT:
        return forward_nat(ctx, &p, svc, r, &nat);
    default:
        count(STAT_DROP_NO_REAL);
        return XDP_DROP;
    }
}

/* The benchmark baseline: parse Ethernet, swap the MACs, send it back. */
SEC("xdp")
int baseline(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    __u8 tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
    return XDP_TX;
}

/* The data plane's clock for the daemon (run with BPF_PROG_TEST_RUN):
 * jiffies and CLOCK_MONOTONIC ns, written over the packet's first 16
 * bytes. */
SEC("xdp")
int clock(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 *out = data;
    if ((void *)(out + 2) > data_end)
        return XDP_ABORTED;
    out[0] = now_ticks();
    out[1] = bpf_ktime_get_ns();
    return XDP_PASS;
}

/* Attached to veth peers in labs: XDP_TX frames are delivered to a veth
 * only if its peer runs an XDP program. */
SEC("xdp")
int pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

/* GPL-compatible for bpf_fib_lookup; our code is Apache-2.0 too. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
