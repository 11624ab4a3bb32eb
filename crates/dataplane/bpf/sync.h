/* Flow-state sync: connection entries reported to the daemon, which
 * shares them with the cluster's other directors, so a flow that ECMP
 * moves to another director finds its entry there (its real, and under
 * FULLNAT its local address and port). Only with G_F_SYNC. An event the
 * ring has no room for is counted and lost, never waited for: forwarding
 * comes first, and the entry's next refresh reports it again. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"
#include "parse.h"

/* Whether this event wakes the ring's reader. A wakeup (the kernel's
 * irq_work, then the reader's epoll) costs about 9 us on a VM, 25
 * times the rest of a new flow, and the kernel's own rule (wake when the
 * reader has read everything) wakes for every event of a reader that
 * keeps up. So each CPU wakes it at most once a tick; events after that
 * in the same tick are read with the next wakeup, or by the reader's
 * timer (SyncEvents in src/sync.rs). */
static __always_inline __u64 sync_wakeup(__u32 now)
{
    __u32 zero = 0;
    __u32 *last = bpf_map_lookup_elem(&sync_wake, &zero);
    if (!last || *last == now)
        return BPF_RB_NO_WAKEUP;
    *last = now;
    return BPF_RB_FORCE_WAKEUP;
}

/* A FULLNAT TCP flow's PROXY shift (its way back's), into its event: a
 * peer that takes the flow over shifts it as we do. */
static __always_inline void sync_proxy(struct sync_event *e)
{
    __u32 zero = 0;
    struct globals *g = bpf_map_lookup_elem(&globals, &zero);
    if (!g || !(g->flags & G_F_PROXY) || e->forward != FWD_FULLNAT || e->key.proto != IPPROTO_TCP)
        return;
    struct flow_key back = {
        .src = e->real_addr,
        .dst = e->nat_addr,
        .sport = e->real_port,
        .dport = e->nat_port,
        .proto = IPPROTO_TCP,
    };
    struct nat_back *b = bpf_map_lookup_elem(&nat_reverse, &back);
    if (!b)
        return;
    e->proxy_seq = b->proxy_seq;
    e->proxy_len = b->proxy_len;
    e->proxy_flags = b->proxy_flags;
}

/* Reports entry `ct` of the packet's flow, whose real is `r`. The event
 * is built in sync_scratch, off the stack: this runs within the slow
 * path's deepest frame. */
static __always_inline void sync_report(struct pkt *p, struct svc_val *svc, struct conn *ct, struct real *r,
                                        __u8 op, __u32 now)
{
    __u32 zero = 0;
    struct sync_event *e = bpf_map_lookup_elem(&sync_scratch, &zero);
    if (!e)
        return;
    __builtin_memset(e, 0, sizeof(*e));
    e->key = p->key;
    e->real_addr = r->addr;
    e->nat_addr = ct->nat_addr;
    e->owner = ct->owner;
    /* A real without a port takes the client's destination port. */
    e->real_port = r->port ? r->port : p->key.dport;
    e->nat_port = ct->nat_port;
    e->forward = svc->forward;
    e->state = ct->state;
    e->op = op;
    e->flags = ct->flags;
    sync_proxy(e);
    /* Output, not reserve and commit: one helper call, nothing held
     * across branches for the verifier to follow. */
    if (bpf_ringbuf_output(&sync_events, e, sizeof(*e), sync_wakeup(now)) != 0)
        count(STAT_SYNC_RING_FULL);
}

/* A packet (not an ICMP error) that found its flow's entry: CLOSING when
 * it turned the entry CT_CLOSING (once: only a packet that changes the
 * state does), else REFRESH once sync_refresh_ticks have passed since the
 * entry was last reported, so whichever director forwards a flow keeps
 * the cluster's copies of its entry alive; peers' entries included, whose
 * owner stays as it was. `now`: jiffies, low 32 bits. */
static __always_inline void sync_known(struct pkt *p, struct svc_val *svc, struct globals *g, struct conn *ct,
                                       struct real *r, int turned_closing, __u32 now)
{
    __u8 op;
    if (turned_closing)
        op = SYNC_OP_CLOSING;
    else if (now - ct->synced >= g->sync_refresh_ticks)
        op = SYNC_OP_REFRESH;
    else
        return;
    ct->synced = now;
    sync_report(p, svc, ct, r, op, now);
}

/* Reports template `t` of service `svc` for the client of `flow`, whose
 * key is `k`: made (`made`), or refreshed by a flow it placed once
 * sync_refresh_ticks have passed since its last report, so the cluster's
 * copies live as long as it does here. A peer's template keeps its owner.
 * Only with G_F_SYNC. */
static __always_inline void sync_template(struct tmpl_key *k, struct flow_key *flow, struct svc_val *svc,
                                          struct globals *g, struct tmpl *t, int made, __u32 now)
{
    if (!(g->flags & G_F_SYNC))
        return;
    if (!made && now - t->synced < g->sync_refresh_ticks)
        return;
    t->synced = now;
    __u32 zero = 0;
    struct sync_event *e = bpf_map_lookup_elem(&sync_scratch, &zero);
    if (!e)
        return;
    __builtin_memset(e, 0, sizeof(*e));
    e->key.src = k->client;
    e->key.dst = flow->dst;
    e->key.dport = flow->dport;
    e->key.proto = flow->proto;
    e->real_addr = t->real_addr;
    e->owner = t->owner;
    e->real_port = t->real_port;
    e->forward = svc->forward;
    e->op = SYNC_OP_TEMPLATE;
    if (bpf_ringbuf_output(&sync_events, e, sizeof(*e), sync_wakeup(now)) != 0)
        count(STAT_SYNC_RING_FULL);
}
