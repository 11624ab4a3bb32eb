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
#include "addrs.h"
#include "consts.h"
#include "encap.h"
#include "fib.h"
#include "flowcache.h"
#include "hash.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "sched.h"
#include "client.h"

/* DR: the real owns the VIP on a loopback; only the MACs change. */
static __always_inline int forward_dr(struct pkt *p, __u8 *real_mac)
{
    __builtin_memcpy(p->eth->h_source, p->eth->h_dest, ETH_ALEN);
    __builtin_memcpy(p->eth->h_dest, real_mac, ETH_ALEN);
    count(STAT_TX_DR);
    return XDP_TX;
}

/* TUN: IPIP to the real. The outer source varies per flow within the
 * configured prefix, so the reals' receive side scaling spreads flows. */
static __always_inline int forward_tun(struct xdp_md *ctx, struct pkt *p, __u32 *idx, struct real *r,
                                       struct globals *g, struct flow_cache_entry *fill)
{
    __u8 tos = p->ip->tos;
    __u16 len = bpf_ntohs(p->ip->tot_len);
    __be32 src = g->tun_src;
    if (g->tun_src_hostmask) {
        src = (src & ~g->tun_src_hostmask) | (bpf_htonl(p->hash) & g->tun_src_hostmask);
    }
    __be32 dst = r->addr;
    fill->to.src = src;
    fill->to.dst = dst;
    fill->max_len = len;
    int act = ipip_encap(ctx, p, src, dst);
    if (act != CONTINUE)
        return act;
    return forward_to_real(ctx, g, idx, src, dst, tos, len + sizeof(struct iphdr), IPPROTO_IPIP, STAT_TX_TUN,
                           &fill->nh);
}

/* NAT and FULLNAT: the destination becomes the real; under FULLNAT the
 * source becomes the flow's local address and port. An ICMP error about
 * the flow is translated as the real would have seen it. */
static __always_inline int forward_nat(struct xdp_md *ctx, struct pkt *p, struct globals *g, struct svc_val *svc,
                                       __u32 *idx, struct real *r, struct addrs *nat,
                                       struct flow_cache_entry *fill)
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
    fill->to = to;
    fill->max_len = bpf_ntohs(ip->tot_len);
    return forward_to_real(ctx, g, idx, outer_src, to.dst, ip->tos, fill->max_len, ip->protocol,
                           full ? STAT_TX_FULLNAT : STAT_TX_NAT, &fill->nh);
}

/* A packet of a flow in the flow cache, forwarded as the slow path did. */
static __always_inline int forward_cached(struct xdp_md *ctx, struct pkt *p, struct flow_cache_entry *e)
{
    void *data_end = (void *)(long)ctx->data_end;
    __u64 bytes = (__u64)(ctx->data_end - ctx->data);
    int act;
    count(STAT_FLOW_CACHE_HIT);
    if (e->kind == FC_REPLY) {
        count_traffic_out(&svc_stats, e->svc, bytes);
        count_traffic_out(&real_stats, e->real, bytes);
        act = rewrite_flow(p, data_end, &e->to);
        if (act != CONTINUE)
            return act;
        /* A proxied flow's ACKs back in the client's sequence space. */
        if (e->proxy_len && (p->tcp_flags & TCP_ACK))
            proxy_unshift(ctx, p->l4 - (void *)(long)ctx->data, 0, e->proxy_len, 1);
        return send_to(ctx, &e->nh, STAT_TX_REPLY);
    }
    count(STAT_CT_HIT);
    count_traffic(&svc_stats, e->svc, bytes, 0);
    count_traffic(&real_stats, e->real, bytes, 0);
    switch (e->kind) {
    case FWD_DR:
        return forward_dr(p, e->nh.dmac);
    case FWD_TUN:
        act = ipip_encap(ctx, p, e->to.src, e->to.dst);
        if (act != CONTINUE)
            return act;
        return send_to(ctx, &e->nh, STAT_TX_TUN);
    default: /* FWD_NAT, FWD_FULLNAT */
        act = rewrite_flow(p, data_end, &e->to);
        if (act != CONTINUE)
            return act;
        /* A proxied flow's sequence numbers in the real's space. */
        if (e->proxy_len) {
            struct tcphdr *tcp = p->l4;
            if ((void *)(tcp + 1) > data_end)
                return XDP_DROP;
            proxy_shift_seq(tcp, e->proxy_len);
        }
        return send_to(ctx, &e->nh, e->kind == FWD_FULLNAT ? STAT_TX_FULLNAT : STAT_TX_NAT);
    }
}

/* A packet the flow cache cannot take: find its service and real (or its
 * NAT way back) and forward it; `fill` learns how, for the cache. */
static __always_inline int slow_path(struct xdp_md *ctx, struct pkt *p, struct globals *g,
                                     struct flow_cache_entry *fill)
{
    int act;
    struct svc_val *svc = find_service(p, g);
    if (!svc) {
        if (g->flags & G_F_NAT) {
            act = nat_reply(ctx, p, fill);
            if (act != CONTINUE)
                return act;
        }
        count(p->icmp ? STAT_PASS_ICMP : STAT_PASS_NOT_VIP);
        return XDP_PASS;
    }

    int new_conn = 0, tracked = 0;
    struct addrs nat = {};
    __u32 idx = pick_real(p, svc, g, &new_conn, &tracked, &nat);
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
    if (p->icmp)
        count(STAT_ICMP_TO_REAL);
    if (tracked) {
        fill->kind = svc->forward;
        fill->svc = svc->id;
        fill->real = idx;
    }

    switch (svc->forward) {
    case FWD_DR:
        __builtin_memcpy(fill->nh.dmac, r->mac, ETH_ALEN);
        fill->max_len = 0xffff;
        return forward_dr(p, r->mac);
    case FWD_TUN:
        return forward_tun(ctx, p, &idx, r, g, fill);
    case FWD_FULLNAT:
    case FWD_NAT:
        return forward_nat(ctx, p, g, svc, &idx, r, &nat, fill);
    default:
        count(STAT_DROP_NO_REAL);
        return XDP_DROP;
    }
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
    /* Traffic for no service leaves before anything is looked up. */
    if (for_no_service(&p)) {
        count(p.icmp ? STAT_PASS_ICMP : STAT_PASS_NOT_VIP);
        return XDP_PASS;
    }
    p.hash = flow_hash(bpf_ntohl(p.key.src), bpf_ntohl(p.key.dst), bpf_ntohs(p.key.sport), bpf_ntohs(p.key.dport),
                       p.key.proto);
    __u32 zero = 0;
    struct globals *g = bpf_map_lookup_elem(&globals, &zero);
    if (!g)
        return XDP_PASS;

    __u32 now = (__u32)now_ticks();
    /* Read before the slow path looks anything up: what it stores is
     * stale if the daemon changed something meanwhile. */
    __u32 gen = *(volatile __u32 *)&g->gen;
    struct flow_cache_entry *slot = cache_slot(&p, g);
    if (slot && cache_usable(slot, &p, g, gen, ifindex, now))
        return forward_cached(ctx, &p, slot);

    struct flow_cache_entry fill = {};
    act = slow_path(ctx, &p, g, &fill);
    if (slot && fill.kind && (act == XDP_TX || act == XDP_REDIRECT))
        cache_store(slot, &fill, &p, gen, ifindex, now);
    if (fill.kind == FWD_FULLNAT && (act == XDP_TX || act == XDP_REDIRECT))
        return client_step(ctx, fill.nh.ifindex, act);
    return act;
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

/* The benchmark's floor for a new flow: parsing and the kernel's insert
 * of a new key into the connection table, nothing else. */
SEC("xdp")
int ct_insert(struct xdp_md *ctx)
{
    struct pkt p = {};
    int act = parse(ctx, &p);
    if (act != CONTINUE)
        return act;
    struct conn c = {.last = now_ticks(), .state = CT_ACTIVE};
    bpf_map_update_elem(&conntrack, &p.key, &c, BPF_ANY);
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
