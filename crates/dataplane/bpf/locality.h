/* lblc and lblcr: destination-address locality, for cache clusters. A
 * destination address (per service) keeps the real (lblc) or the small
 * set of reals (lblcr) that served it; a new flow to it goes there
 * unless that real is gone, at weight 0, or overloaded, and is then
 * placed by wlc. Overloaded, as IPVS says it: more active connections
 * than its weight while some real of the service has fewer than half its
 * weight. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "counts.h"
#include "maps.h"

/* One real of the list (bpf_loop's callback): the walk over every real
 * (wlc) and over the set's members at once. */
static long locality_step(__u64 i, void *ctx)
{
    struct locality_walk *k = ((struct walk_ctx *)ctx)->lk;
    __u32 real;
    __u64 w, active, inactive;
    int e = walk_entry(ctx, i, &real, &w);
    if (!k || e <= 0)
        return !k || e < 0;
    load_of(real, &active, &inactive);
    __u64 oh = overhead(active, inactive);
    if (active * 2 < w)
        k->half = 1;
    if (beats(&k->all, oh, w)) {
        k->all.found = 1;
        k->all.best = i;
        k->all.best_oh = oh;
        k->all.best_w = w;
    }
    int member = 0;
#pragma unroll
    for (int j = 0; j < LBLCR_SET; j++)
        if (j < k->nmembers && k->members[j] == real)
            member = 1;
    if (!member)
        return 0;
    if (!k->found_min || oh * k->min_w < k->min_oh * w) {
        k->found_min = 1;
        k->min = real;
        k->min_oh = oh;
        k->min_w = w;
        k->min_active = active;
    }
    if (!k->found_max || oh * k->max_w > k->max_oh * w) {
        k->found_max = 1;
        k->max = real;
        k->max_oh = oh;
        k->max_w = w;
    }
    return 0;
}

/* Takes real `real` out of a set (lblcr). */
static __always_inline void set_remove(struct dst_reals *e, __u32 real)
{
    __u32 n = 0;
#pragma unroll
    for (int j = 0; j < LBLCR_SET; j++) {
        if (j < e->count && e->real[j] != real) {
            if (n < LBLCR_SET)
                e->real[n] = e->real[j];
            n++;
        }
    }
    e->count = n;
}

static __always_inline __u32 locality_pick(struct flow_key *flow, struct svc_val *svc, struct globals *g, __u64 now)
{
    __u32 id = svc->id;
    struct sched_dests *list = bpf_map_lookup_elem(&sched_dests, &id);
    if (!list || list->count == 0)
        return NO_REAL;
    struct dst_key key = {.svc = svc->id, .dst = flow->dst};
    struct dst_reals *e = bpf_map_lookup_elem(&locality, &key);
    __u64 expire = (__u64)svc->locality_s * g->hz;
    int live = e && now - e->last < expire;
    struct locality_walk *k = scratch(sizeof(struct locality_walk));
    if (!k)
        return NO_REAL;
    k->all.sched = SCHED_WLC;
    if (live) {
        k->nmembers = e->count;
#pragma unroll
        for (int j = 0; j < LBLCR_SET; j++)
            k->members[j] = e->real[j];
    }
    struct walk_ctx ctx = {.list = list, .lk = k};
    bpf_loop(MAX_DESTS, locality_step, &ctx, 0);
    if (live) {
        e->last = now;
        /* lblcr: a set unchanged for a while loses its most loaded real */
        if (svc->sched == SCHED_LBLCR && e->count > 1 && k->found_max && now - e->changed >= expire) {
            set_remove(e, k->max);
            e->changed = now;
        }
        int overloaded = k->min_active > k->min_w && k->half;
        if (k->found_min && !overloaded)
            return k->min;
    }
    if (!k->all.found || k->all.best >= MAX_DESTS)
        return NO_REAL;
    __u32 chosen = list->dest[k->all.best].real;
    if (live && svc->sched == SCHED_LBLCR) {
        /* the set grows by the real wlc chose; a full one gives up its
         * most loaded */
        if (e->count >= LBLCR_SET) {
            if (k->found_max)
                set_remove(e, k->max);
            else
                e->count = 0; /* none of them is listed any more */
        }
        __u32 n = e->count;
        if (n < LBLCR_SET) {
            e->real[n] = chosen;
            e->count = n + 1;
        }
        e->changed = now;
        return chosen;
    }
    k->fresh.last = now;
    k->fresh.changed = now;
    k->fresh.count = 1;
    k->fresh.real[0] = chosen;
    bpf_map_update_elem(&locality, &key, &k->fresh, BPF_ANY);
    return chosen;
}
