/* rr, wrr, fo: the service's table (the `maglev` map's inner map) holds
 * the order user space computed (src/sched_model.rs); each CPU walks it
 * with a cursor of its own, so no two CPUs write the same line. The
 * proportions hold per CPU. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"

static __always_inline __u32 sequence_pick(struct svc_val *svc)
{
    __u32 id = svc->id;
    __u32 *cursor = bpf_map_lookup_elem(&sched_cursor, &id);
    void *table = bpf_map_lookup_elem(&maglev, &id);
    if (!cursor || !table || svc->table_size == 0)
        return NO_REAL;
    /* A wrap, not a modulo: no division, and a shorter new table simply
     * starts over. */
    __u32 slot = *cursor;
    if (slot >= svc->table_size)
        slot = 0;
    *cursor = slot + 1;
    __u32 *real = bpf_map_lookup_elem(table, &slot);
    return real ? *real : NO_REAL;
}
