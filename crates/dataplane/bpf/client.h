/* What FULLNAT adds so the real learns the client, whose address it does
 * not see: a TOA option (toa.h) or a PROXY protocol header (proxy.h),
 * whichever the flow's service sends. Run after the slow path has
 * rewritten a packet for the real and chosen where it goes. */
#pragma once
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"
#include "parse.h"
#include "proxy.h"
#include "sched.h"
#include "toa.h"

/* Run on a FULLNAT packet the slow path has rewritten and is sending to
 * the real with `act` (XDP_TX or XDP_REDIRECT) by `ifindex`: when some
 * service sends TOA options or PROXY headers, finds the packet's flow (by
 * its way back) again; a proxied flow (its way back has a shift) gets
 * its header or shift (proxy_client), a flow of a TOA service its option
 * if due. Everything is found again from the packet, after the slow path,
 * because the program's stack is full at the slow path's deepest point:
 * nothing may stay live across it (main's frame is 352 bytes, schedule's
 * chain 144: 496 of the verifier's 512). Inlined: as a function of its own (a BPF-to-BPF
 * call) it broke XDP_TX on veth in native mode, for reasons not found
 * (docs/fullnat.md). */
static __always_inline int client_step(struct xdp_md *ctx, __u32 ifindex, int act)
{
    __u32 zero = 0;
    struct globals *g = bpf_map_lookup_elem(&globals, &zero);
    if (!g || !(g->flags & (G_F_TOA | G_F_PROXY)))
        return act;
    struct pkt p = {};
    if (parse(ctx, &p) != CONTINUE || p.key.proto != IPPROTO_TCP || p.icmp)
        return act;
    /* p.key turned into the way back, in place: the stack is short. */
    __be32 laddr = p.key.src;
    __be16 lport = p.key.sport;
    p.key.src = p.key.dst;
    p.key.dst = laddr;
    p.key.sport = p.key.dport;
    p.key.dport = lport;
    struct nat_back *b = bpf_map_lookup_elem(&nat_reverse, &p.key);
    if (!b)
        return act;
    /* A proxied flow stays one for its life, whatever its service says
     * now: its stream is shifted. */
    if (b->proxy_len)
        return proxy_client(ctx, &p, g, b, ifindex, act);
    if (!(g->flags & G_F_TOA))
        return act;
    /* The service, by the flow as the client sent it. */
    struct svc_val *svc = service_of(b->vip, b->vport, IPPROTO_TCP, g);
    if (!svc || !(svc->flags & SVC_F_TOA))
        return act;
    void *data_end = (void *)(long)ctx->data_end;
    struct tcphdr *tcp = p.l4;
    if ((void *)(tcp + 1) > data_end)
        return act;
    int state = toa_state(b, bpf_ntohl(tcp->seq), p.tcp_flags);
    if (state != TOA_NONE)
        toa_uncache(g, b);
    if (state != TOA_DUE)
        return act;
    return toa_add(ctx, &p, b, svc->toa_kind, ifindex, act);
}
