/* Choosing the real server: the service, the connection table, then the
 * service's scheduler for a new flow (Maglev here; the others in
 * sequence.h, counts.h, locality.h; persistence in persist.h). */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "counts.h"
#include "hash.h"
#include "locality.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "persist.h"
#include "sequence.h"
#include "sync.h"

/* The service (VIP, protocol, port), else (VIP, protocol, 0) if any
 * service takes every port. */
static __always_inline struct svc_val *service_of(__be32 vip, __be16 port, __u8 proto, struct globals *g)
{
    struct svc_key k = {
        .vip = vip,
        .port = port,
        .proto = proto,
    };
    struct svc_val *svc = bpf_map_lookup_elem(&services, &k);
    if (svc || !(g->flags & G_F_PORT0))
        return svc;
    k.port = 0;
    return bpf_map_lookup_elem(&services, &k);
}

/* The service of a packet. */
static __always_inline struct svc_val *find_service(struct pkt *p, struct globals *g)
{
    return service_of(p->key.dst, p->key.dport, p->key.proto, g);
}

static __always_inline __u64 timeout_ticks(struct globals *g, __u8 proto, __u8 state)
{
    __u32 s;
    if (proto == IPPROTO_UDP)
        s = g->udp_timeout_s;
    else if (state == CT_CLOSING)
        s = g->tcpfin_timeout_s;
    else
        s = g->tcp_timeout_s;
    return (__u64)s * g->hz;
}

/* Maglev: the real for this flow from the service's table. */
static __always_inline __u32 maglev_pick(struct flow_key *flow, __u32 hash, struct svc_val *svc)
{
    __u32 h;
    if (svc->flags & SVC_F_HASH_SRC)
        h = source_hash(bpf_ntohl(flow->src & svc->src_mask));
    else if (svc->flags & SVC_F_HASH_DST)
        h = source_hash(bpf_ntohl(flow->dst));
    else
        h = hash;
    __u32 id = svc->id;
    void *table = bpf_map_lookup_elem(&maglev, &id);
    if (!table || svc->table_size == 0)
        return NO_REAL;
    __u32 slot = h % svc->table_size;
    __u32 *real = bpf_map_lookup_elem(table, &slot);
    return real ? *real : NO_REAL;
}

/* The real for a new flow by the service's scheduler (`hash`: the flow's
 * hash, for mh). A persistent service (not Maglev: that hashes the
 * masked client) asks the client's template first, and stores the
 * choice in one when `commit` (a packet that makes a connection entry).
 * A function of its own (global, not inlined): the verifier checks it
 * once, rather than once for every path of the program that reaches it. */
__attribute__((noinline)) __u32 schedule(struct flow_key *flow, __u32 hash, struct svc_val *svc, __u64 now,
                                         int commit)
{
    __u32 zero = 0;
    struct globals *g = bpf_map_lookup_elem(&globals, &zero);
    if (!flow || !svc || !g)
        return NO_REAL;
    if (svc->sched == SCHED_MAGLEV)
        return maglev_pick(flow, hash, svc);
    struct tmpl_key tk;
    int persist = svc->flags & SVC_F_PERSIST;
    __u32 idx = NO_REAL;
    int made = 0;
    if (persist) {
        template_key(&tk, flow, svc);
        idx = template_real(&tk, svc, g, now);
    }
    if (idx == NO_REAL) {
        if (svc->sched == SCHED_SEQ)
            idx = sequence_pick(svc);
        else if (svc->sched == SCHED_LBLC || svc->sched == SCHED_LBLCR)
            idx = locality_pick(flow, svc, g, now);
        else
            idx = counts_pick(svc);
        if (persist && commit && idx != NO_REAL)
            made = template_store(&tk, idx, now);
        if (!made)
            persist = 0; /* no template to report */
    }
    /* The template made, or used: its peers' copies stay alive. */
    if (persist)
        template_sync(&tk, flow, svc, g, made, now);
    return idx;
}

/* Whether real `idx` is in use (listed by its service, at any weight). */
static __always_inline int real_in_use(__u32 idx)
{
    struct real *r = bpf_map_lookup_elem(&reals, &idx);
    return r && r->flags;
}

/* The SYN flood guard: whether this CPU has made more connection entries
 * for SYNs in the current second than the threshold allows. Over it, a
 * DR or TUN SYN to a Maglev service is forwarded by Maglev alone: a
 * spoofed SYN never comes back, so it costs no entry (nor an established
 * flow its entry, evicted from the LRU); a real client's next packet (the
 * handshake's ACK) finds no entry, is scheduled by the same hash and
 * makes one. */
static __always_inline int syn_flood(struct globals *g, __u64 now)
{
    __u32 limit = g->syn_flood_threshold;
    if (!limit)
        return 0;
    __u32 zero = 0;
    struct syn_window *w = bpf_map_lookup_elem(&syn_window, &zero);
    if (!w)
        return 0;
    if (now - w->start >= g->hz) {
        w->start = now;
        w->count = 0;
    }
    return ++w->count > limit;
}

/* The real for a packet: a TCP SYN is scheduled afresh; a known flow keeps
 * its real; an unknown flow in mid-stream (it moved here from another
 * director) is scheduled again, never dropped: by the same hash under
 * Maglev, afresh by the others (a SYN sent again keeps its entry under
 * every scheduler). An ICMP error follows its flow but never creates or
 * refreshes an entry. For FULLNAT,
 * `nat` gets the flow's local address and port (0 when it has none).
 * `tracked` says whether the flow now has a fresh connection entry.
 * With G_F_SYNC the entries it writes, refreshes and closes are reported
 * (sync.h); SYN-flood SYNs, which get no entry, are not. */
static __always_inline __u32 pick_real(struct pkt *p, struct svc_val *svc, struct globals *g, int *new_conn,
                                       int *tracked, struct addrs *nat)
{
    /* A tick's precision is plenty for timeouts of seconds. */
    __u64 now = now_ticks();
    int tcp = p->key.proto == IPPROTO_TCP;
    int syn = tcp && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
    int closing = tcp && (p->tcp_flags & (TCP_FIN | TCP_RST));
    *new_conn = 0;

    struct conn *ct = bpf_map_lookup_elem(&conntrack, &p->key);
    int known = ct && ct->svc == svc->id && now - ct->last < timeout_ticks(g, p->key.proto, ct->state);
    if (known && !syn) {
        __u32 idx = ct->real;
        struct real *r = bpf_map_lookup_elem(&reals, &idx);
        /* A FULLNAT entry without a local port (the service was another
         * kind before a reload) is set up again below. */
        if (r && r->flags && (svc->forward != FWD_FULLNAT || ct->nat_port)) {
            if (!p->icmp) {
                int turned_closing = closing && ct->state != CT_CLOSING;
                ct->last = now;
                if (closing)
                    ct->state = CT_CLOSING;
                if (turned_closing && (svc->flags & SVC_F_COUNTS))
                    load_closing(idx);
                if (svc->sched != SCHED_MAGLEV && (svc->flags & SVC_F_PERSIST))
                    template_touch(p, svc, g, idx, now);
                *tracked = 1;
                if (g->flags & G_F_SYNC)
                    sync_known(p, svc, g, ct, r, turned_closing, (__u32)now);
            }
            nat->src = ct->nat_addr;
            nat->sport = ct->nat_port;
            count(STAT_CT_HIT);
            return idx;
        }
    }
    /* An ICMP error or an RST for a flow we do not know needs no entry. */
    int entryless = p->icmp || (tcp && (p->tcp_flags & TCP_RST));
    __u32 idx;
    /* A SYN sent again keeps its real: Maglev gives it the same one anyway,
     * the other schedulers would choose afresh. */
    if (syn && known && ct->state == CT_ACTIVE && svc->sched != SCHED_MAGLEV && real_in_use(ct->real))
        idx = ct->real;
    else
        idx = schedule(&p->key, p->hash, svc, now, !entryless);
    if (idx == NO_REAL)
        return NO_REAL;
    if (entryless)
        return idx;
    /* A SYN sent again while the flow is being set up keeps its entry
     * (and FULLNAT local port): the real sees one connection. */
    if (syn && known && ct->real == idx && ct->state == CT_ACTIVE &&
        (svc->forward != FWD_FULLNAT || ct->nat_port)) {
        ct->last = now;
        if (g->flags & G_F_SYNC) {
            struct real *r = bpf_map_lookup_elem(&reals, &idx);
            if (r)
                sync_known(p, svc, g, ct, r, 0, (__u32)now);
        }
        nat->src = ct->nat_addr;
        nat->sport = ct->nat_port;
        count(STAT_CT_HIT);
        *tracked = 1;
        return idx;
    }
    /* (A flow with a live entry is rescheduled into it even so: left
     * alone, the entry would send the flow's next packet elsewhere.) */
    /* Only Maglev services: without an entry, the handshake's ACK would be
     * scheduled again, and only a hash gives it the same real. */
    if (syn && !known && svc->sched == SCHED_MAGLEV && (svc->forward == FWD_DR || svc->forward == FWD_TUN) &&
        syn_flood(g, now)) {
        count(STAT_SYN_UNTRACKED);
        *new_conn = 1;
        return idx;
    }
    struct conn c = {
        .real = idx,
        .svc = svc->id,
        .last = now,
        .state = closing ? CT_CLOSING : CT_ACTIVE,
        .synced = (__u32)now,
    };
    if (svc->forward == FWD_FULLNAT || svc->forward == FWD_NAT) {
        if (setup_nat(p, svc, g, idx, &c, now) != CONTINUE)
            return NO_SETUP;
        nat->src = c.nat_addr;
        nat->sport = c.nat_port;
    }
    *tracked = bpf_map_update_elem(&conntrack, &p->key, &c, BPF_ANY) == 0;
    if (*tracked && (svc->flags & SVC_F_COUNTS))
        load_new(idx, c.state, p->key.proto);
    /* From the flow's first packet: a flow ECMP moves a moment later
     * finds its entry on the other directors. */
    if (*tracked && (g->flags & G_F_SYNC)) {
        struct real *r = bpf_map_lookup_elem(&reals, &idx);
        if (r)
            sync_report(p, svc, &c, r, SYNC_OP_NEW, (__u32)now);
    }
    count(STAT_CT_NEW);
    *new_conn = syn || !tcp;
    return idx;
}
