/* NAT and FULLNAT: rewriting addresses and ports with incremental
 * checksums, FULLNAT local ports, and the way back for replies. */
#pragma once
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "csum.h"
#include "fib.h"
#include "maps.h"
#include "parse.h"
#include "proxy.h"

/* Rewrites a TCP or UDP packet's addresses and ports to `to`. */
static __always_inline int rewrite_flow(struct pkt *p, void *data_end, struct addrs *to)
{
    struct iphdr *ip = p->ip;
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    /* Source and destination port lead both the TCP and the UDP header. */
    __be16 *ports = p->l4;
    if ((void *)(ports + 2) > data_end)
        return XDP_DROP;
    __u32 d_addr = csum_diff32(ip->saddr, to->src) + csum_diff32(ip->daddr, to->dst);
    __u32 d_l4 = d_addr + csum_diff16(ports[0], to->sport) + csum_diff16(ports[1], to->dport);
    if (p->key.proto == IPPROTO_TCP) {
        struct tcphdr *tcp = p->l4;
        if ((void *)(tcp + 1) > data_end)
            return XDP_DROP;
        tcp->check = csum_apply(tcp->check, d_l4);
    } else {
        struct udphdr *udp = p->l4;
        if ((void *)(udp + 1) > data_end)
            return XDP_DROP;
        /* 0 means the sender computed none; 0 computed is sent as ffff. */
        if (udp->check) {
            udp->check = csum_apply(udp->check, d_l4);
            if (!udp->check)
                udp->check = 0xffff;
        }
    }
    ip->check = csum_apply(ip->check, d_addr);
    ip->saddr = to->src;
    ip->daddr = to->dst;
    ports[0] = to->sport;
    ports[1] = to->dport;
    return CONTINUE;
}

/* Rewrites an ICMP error: the outer header to outer_src -> outer_dst, the
 * header it quotes (and its ports) to `quoted`, keeping the ICMP and both
 * IP checksums valid. The quoted UDP checksum is left as it was: nobody
 * checks it in an ICMP error. */
static __always_inline int rewrite_icmp(struct pkt *p, void *data_end, __be32 outer_src, __be32 outer_dst,
                                        struct addrs *quoted)
{
    struct iphdr *ip = p->ip;
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    struct icmp_hdr *icmp = p->l4;
    if ((void *)(icmp + 1) > data_end)
        return XDP_DROP;
    struct iphdr *q = p->quoted;
    /* (set whenever p->icmp is: this tells the verifier) */
    if (!q || (void *)(q + 1) + 8 > data_end)
        return XDP_DROP;
    __be16 *ports = (void *)(q + 1);
    __u32 d_q = csum_diff32(q->saddr, quoted->src) + csum_diff32(q->daddr, quoted->dst);
    __u16 q_check = csum_apply(q->check, d_q);
    __u32 d_icmp = d_q + csum_diff16(q->check, q_check) + csum_diff16(ports[0], quoted->sport) +
                   csum_diff16(ports[1], quoted->dport);
    icmp->checksum = csum_apply(icmp->checksum, d_icmp);
    q->check = q_check;
    q->saddr = quoted->src;
    q->daddr = quoted->dst;
    ports[0] = quoted->sport;
    ports[1] = quoted->dport;
    ip->check = csum_apply(ip->check, csum_diff32(ip->saddr, outer_src) + csum_diff32(ip->daddr, outer_dst));
    ip->saddr = outer_src;
    ip->daddr = outer_dst;
    return CONTINUE;
}

/* FULLNAT: a local address and port for a new flow to the real at
 * to->dst:to->dport, claimed by inserting the way back. Candidates come
 * from the flow hash; a taken one is reused only once its last reply is
 * older than the longest timeout. Fills to->src and to->sport. */
static __always_inline int snat_alloc(struct pkt *p, struct globals *g, struct addrs *to, struct nat_back *back,
                                      __u64 now)
{
    __u32 n = g->laddr_count;
    if (n == 0 || n > MAX_LADDRS) {
        count(STAT_DROP_NO_LPORT);
        return XDP_DROP;
    }
    __u32 longest = g->tcp_timeout_s > g->udp_timeout_s ? g->tcp_timeout_s : g->udp_timeout_s;
    __u64 stale = (__u64)longest * g->hz;
    __u32 h = p->hash;
    for (__u32 i = 0; i < LPORT_TRIES; i++) {
        __u32 x = h + i * 0x9e3779b9u;
        __u32 which = x % n;
        __be32 *laddr = bpf_map_lookup_elem(&local_addrs, &which);
        if (!laddr)
            break;
        __u16 port = LPORT_MIN + (x >> 6) % (LPORT_MAX - LPORT_MIN + 1);
        struct flow_key way_back = {
            .src = to->dst,
            .dst = *laddr,
            .sport = to->dport,
            .dport = bpf_htons(port),
            .proto = p->key.proto,
        };
        if (bpf_map_update_elem(&nat_reverse, &way_back, back, BPF_NOEXIST) != 0) {
            struct nat_back *old = bpf_map_lookup_elem(&nat_reverse, &way_back);
            if (old && now - old->last < stale)
                continue;
            bpf_map_update_elem(&nat_reverse, &way_back, back, BPF_ANY);
        }
        to->src = *laddr;
        to->sport = bpf_htons(port);
        return CONTINUE;
    }
    count(STAT_DROP_NO_LPORT);
    return XDP_DROP;
}

/* A new NAT or FULLNAT flow to real `idx`: records the way back for its
 * replies and, for FULLNAT, its local address and port in `c`. */
static __always_inline int setup_nat(struct pkt *p, struct svc_val *svc, struct globals *g, __u32 idx,
                                     struct conn *c, __u64 now)
{
    struct real *r = bpf_map_lookup_elem(&reals, &idx);
    if (!r)
        return XDP_DROP;
    __u32 zero = 0;
    struct nat_back *back = bpf_map_lookup_elem(&back_scratch, &zero);
    if (!back)
        return XDP_DROP;
    __builtin_memset(back, 0, sizeof(*back));
    back->vip = p->key.dst;
    back->client = p->key.src;
    back->vport = p->key.dport;
    back->cport = p->key.sport;
    back->svc = svc->id;
    back->real = idx;
    back->last = now;
    proxy_setup(p, svc->flags, back);
    struct addrs to = {.dst = r->addr, .dport = r->port ? r->port : p->key.dport};
    if (svc->forward == FWD_NAT) {
        struct flow_key way_back = {
            .src = to.dst,
            .dst = p->key.src,
            .sport = to.dport,
            .dport = p->key.sport,
            .proto = p->key.proto,
        };
        bpf_map_update_elem(&nat_reverse, &way_back, back, BPF_ANY);
        return CONTINUE;
    }
    int act = snat_alloc(p, g, &to, back, now);
    if (act != CONTINUE)
        return act;
    c->nat_addr = to.src;
    c->nat_port = to.sport;
    return CONTINUE;
}

/* A packet from a real to a client (NAT) or to one of our local addresses
 * (FULLNAT), or an ICMP error about one of our packets to a real: turned
 * back into one from the VIP and sent to the client. CONTINUE when the
 * packet is none of these. `fill` learns how, for the flow cache. */
static __always_inline int nat_reply(struct xdp_md *ctx, struct pkt *p, struct flow_cache_entry *fill)
{
    struct nat_back *b = bpf_map_lookup_elem(&nat_reverse, &p->key);
    if (!b)
        return CONTINUE;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 bytes = (__u64)(data_end - data);
    count_traffic_out(&svc_stats, b->svc, bytes);
    count_traffic_out(&real_stats, b->real, bytes);
    struct addrs to = {.src = b->vip, .dst = b->client, .sport = b->vport, .dport = b->cport};
    int act;
    if (p->icmp) {
        /* It quotes our packet to the real: make it the client's to the VIP. */
        struct addrs quoted = {.src = b->client, .dst = b->vip, .sport = b->cport, .dport = b->vport};
        act = rewrite_icmp(p, data_end, b->vip, b->client, &quoted);
        count(STAT_ICMP_TO_CLIENT);
    } else {
        b->last = now_ticks();
        fill->kind = FC_REPLY;
        fill->svc = b->svc;
        fill->real = b->real;
        fill->to = to;
        act = rewrite_flow(p, data_end, &to);
        if (act == CONTINUE && b->proxy_len && p->key.proto == IPPROTO_TCP)
            proxy_reply(ctx, p, b, fill);
    }
    if (act != CONTINUE)
        return act;
    struct iphdr *ip = p->ip;
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    fill->max_len = bpf_ntohs(ip->tot_len);
    return fib_forward(ctx, to.src, to.dst, ip->tos, fill->max_len, ip->protocol, STAT_TX_REPLY, &fill->nh);
}
