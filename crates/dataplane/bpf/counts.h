/* Connection-count schedulers (lc, wlc, sed, nq, ovf, twos), as IPVS
 * defines them, over the service's destination list (sched_dests) and
 * each real's connections (real_load). The list is walked with bpf_loop:
 * the verifier checks its body once, whatever the number of reals. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"

/* A real's active and inactive connections; a count a decrement took
 * below 0 (it crossed the daemon's recount) reads as 0. */
static __always_inline void load_of(__u32 real, __u64 *active, __u64 *inactive)
{
    struct real_load *l = bpf_map_lookup_elem(&real_load, &real);
    *active = 0;
    *inactive = 0;
    if (!l)
        return;
    __s32 a = (__s32)l->active;
    __s32 i = (__s32)l->inactive;
    *active = a > 0 ? a : 0;
    *inactive = i > 0 ? i : 0;
}

/* IPVS's overhead of a real for lc, wlc and twos: an active connection
 * weighs 256 inactive ones. */
static __always_inline __u64 overhead(__u64 active, __u64 inactive)
{
    return (active << 8) + inactive;
}

/* A connection entry was made for `real`. UDP entries are inactive for
 * their whole life, as IPVS counts them (it starts every connection
 * inactive and only TCP's ESTABLISHED makes one active). */
static __always_inline void load_new(__u32 real, __u8 state, __u8 proto)
{
    struct real_load *l = bpf_map_lookup_elem(&real_load, &real);
    if (!l)
        return;
    if (state == CT_CLOSING || proto == IPPROTO_UDP)
        __sync_fetch_and_add(&l->inactive, 1);
    else
        __sync_fetch_and_add(&l->active, 1);
}

/* A connection entry of `real` turned CT_CLOSING. */
static __always_inline void load_closing(__u32 real)
{
    struct real_load *l = bpf_map_lookup_elem(&real_load, &real);
    if (!l)
        return;
    __sync_fetch_and_add(&l->active, -1);
    __sync_fetch_and_add(&l->inactive, 1);
}

/* Whether a real of overhead `oh` and weight `w` beats the choice so far:
 * strictly, so ties go to the first listed, as in IPVS. */
static __always_inline int beats(struct walk *k, __u64 oh, __u64 w)
{
    if (!k->found)
        return 1;
    if (k->sched == SCHED_LC)
        return oh < k->best_oh;
    if (k->sched == SCHED_OVF)
        return w > k->best_w;
    /* wlc, sed, nq: oh / w < best_oh / best_w, without dividing */
    return oh * k->best_w < k->best_oh * w;
}

/* bpf_loop's context, which must be on the stack: the list and the walk
 * (pointers kept in a map value would lose their type). */
struct walk_ctx {
    struct sched_dests *list;
    struct walk *k;
    struct locality_walk *lk;
};

/* The walk's room (walk_scratch), its first `size` bytes cleared. */
static __always_inline struct locality_walk *scratch(__u32 size)
{
    __u32 zero = 0;
    struct locality_walk *k = bpf_map_lookup_elem(&walk_scratch, &zero);
    if (k)
        __builtin_memset(k, 0, size);
    return k;
}

/* Entry `i` of the walk's list: 1 with its real and weight, 0 for one at
 * weight 0 (skipped), -1 past the end (the walk stops). */
static __always_inline int walk_entry(struct walk_ctx *c, __u64 i, __u32 *real, __u64 *w)
{
    struct sched_dests *list = c->list;
    if (!list || i >= MAX_DESTS || i >= list->count)
        return -1;
    *real = list->dest[i].real;
    *w = list->dest[i].weight;
    return *w > 0;
}

/* One real of the list (bpf_loop's callback): 0 to go on, 1 to stop. */
static long count_step(__u64 i, void *ctx)
{
    struct walk *k = ((struct walk_ctx *)ctx)->k;
    __u32 real;
    __u64 w;
    int e = walk_entry(ctx, i, &real, &w);
    if (!k || e <= 0)
        return !k || e < 0;
    if (k->sched == SCHED_TWOS) {
        /* The first real whose running weight passes each draw. */
        k->passed += w;
        if (!k->found && k->draw1 < k->passed) {
            k->found = 1;
            k->best = i;
        }
        if (!k->found2 && k->draw2 < k->passed) {
            k->found2 = 1;
            k->second = i;
        }
        return k->found && k->found2;
    }
    __u64 active, inactive, oh;
    load_of(real, &active, &inactive);
    switch (k->sched) {
    case SCHED_NQ:
        if (active == 0) {
            /* an idle real: no need to look further */
            k->found = 1;
            k->best = i;
            return 1;
        }
        /* fall through */
    case SCHED_SED:
        oh = active + 1;
        break;
    case SCHED_OVF:
        /* full once its active connections exceed its weight */
        if (active > w)
            return 0;
        oh = 0;
        break;
    default: /* lc, wlc */
        oh = overhead(active, inactive);
    }
    if (beats(k, oh, w)) {
        k->found = 1;
        k->best = i;
        k->best_oh = oh;
        k->best_w = w;
    }
    return 0;
}

/* twos: of the two weighted draws, the real with the lower overhead per
 * weight (the first draw on a tie). */
static __always_inline __u32 twos_choice(struct sched_dests *list, struct walk *k)
{
    __u32 a = k->best, b = k->second;
    if (!list || a >= MAX_DESTS || b >= MAX_DESTS)
        return NO_REAL;
    __u64 act, inact;
    load_of(list->dest[a].real, &act, &inact);
    __u64 oh_a = overhead(act, inact);
    load_of(list->dest[b].real, &act, &inact);
    __u64 oh_b = overhead(act, inact);
    if (oh_b * list->dest[a].weight < oh_a * list->dest[b].weight)
        a = b;
    return list->dest[a].real;
}

/* The real a connection-count scheduler picks for a new flow. */
static __always_inline __u32 counts_pick(struct svc_val *svc)
{
    __u32 id = svc->id;
    struct sched_dests *list = bpf_map_lookup_elem(&sched_dests, &id);
    if (!list || list->count == 0)
        return NO_REAL;
    struct locality_walk *room = scratch(sizeof(struct walk));
    if (!room)
        return NO_REAL;
    struct walk *k = &room->all;
    k->sched = svc->sched;
    if (svc->sched == SCHED_TWOS) {
        if (list->total == 0)
            return NO_REAL;
        k->draw1 = bpf_get_prandom_u32() % list->total;
        k->draw2 = bpf_get_prandom_u32() % list->total;
    }
    struct walk_ctx ctx = {.list = list, .k = k};
    bpf_loop(MAX_DESTS, count_step, &ctx, 0);
    if (!k->found)
        return NO_REAL;
    if (svc->sched == SCHED_TWOS)
        return k->found2 ? twos_choice(list, k) : NO_REAL;
    __u32 best = k->best;
    if (best >= MAX_DESTS)
        return NO_REAL;
    return list->dest[best].real;
}
