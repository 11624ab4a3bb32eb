/* Persistence (ipvsadm -p, -M) for the schedulers that do not hash: a
 * template per service and client address (masked) names the real its
 * new flows go to. Maglev services hash the masked client instead, and
 * have no templates. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"
#include "parse.h"
#include "sync.h"

static __always_inline void template_key(struct tmpl_key *k, struct flow_key *flow, struct svc_val *svc)
{
    k->svc = svc->id;
    k->client = flow->src & svc->src_mask;
}

/* The real of the client's live template, or NO_REAL. A real removed
 * since (its slot free, or given to another real) ends the template; a
 * quiescent one (weight 0, still listed) keeps it, as IPVS does by
 * default. */
static __always_inline __u32 template_real(struct tmpl_key *k, struct svc_val *svc, struct globals *g, __u64 now)
{
    struct tmpl *t = bpf_map_lookup_elem(&templates, k);
    if (!t || now - t->last >= (__u64)svc->persist_s * g->hz)
        return NO_REAL;
    __u32 idx = t->real;
    struct real *r = bpf_map_lookup_elem(&reals, &idx);
    if (!r || !r->flags || r->addr != t->real_addr || r->port != t->real_port)
        return NO_REAL;
    t->last = now;
    return idx;
}

/* A template of ours (owner 0) for real `idx`; whether it was written. */
static __always_inline int template_store(struct tmpl_key *k, __u32 idx, __u64 now)
{
    struct real *r = bpf_map_lookup_elem(&reals, &idx);
    if (!r)
        return 0;
    struct tmpl t = {
        .last = now,
        .real = idx,
        .real_addr = r->addr,
        .real_port = r->port,
    };
    return bpf_map_update_elem(&templates, k, &t, BPF_ANY) == 0;
}

/* Reports the client's template to the peers (sync.h): `made` now, or
 * used (refreshed) by a flow. One call site per program path: the
 * event's room on the stack is counted once. */
static __always_inline void template_sync(struct tmpl_key *k, struct flow_key *flow, struct svc_val *svc,
                                          struct globals *g, int made, __u64 now)
{
    if (!(g->flags & G_F_SYNC))
        return;
    struct tmpl *t = bpf_map_lookup_elem(&templates, k);
    if (t)
        sync_template(k, flow, svc, g, t, made, (__u32)now);
}

/* A packet of a known flow: the template that placed it lives on. One
 * gone meanwhile (evicted, or expired under a flow quieter than the
 * persistence timeout) is made again for the flow's real; one naming
 * another real is left alone. */
static __always_inline void template_touch(struct pkt *p, struct svc_val *svc, struct globals *g, __u32 real,
                                           __u64 now)
{
    struct tmpl_key k;
    template_key(&k, &p->key, svc);
    struct tmpl *t = bpf_map_lookup_elem(&templates, &k);
    int made = 0;
    if (!t) {
        made = template_store(&k, real, now);
    } else if (t->real == real) {
        t->last = now;
    } else {
        return;
    }
    template_sync(&k, &p->key, svc, g, made, now);
}
