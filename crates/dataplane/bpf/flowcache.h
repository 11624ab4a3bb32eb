/* The flow cache: the slow path (service and connection lookups, and the
 * FIB for TUN, NAT and FULLNAT) stores how it forwarded a flow, and the
 * flow's next packets are forwarded the same way from one array slot,
 * which the verifier inlines: no hash map lookup, no FIB lookup.
 *
 * What keeps it right:
 * - the daemon bumps globals.gen on every change of services, reals or
 *   settings, and an entry of another generation is never used;
 * - only packets that change no state take it: no SYN, FIN or RST, no ICMP
 *   error. Connection entries are refreshed when a packet takes the slow
 *   path, which each flow does again after flow_cache_ticks (a second at
 *   most, and under half the shortest timeout): they never expire under a
 *   live flow. The same trip reports them for sync (sync.h): a cached flow
 *   is reported again within sync_refresh_ticks + flow_cache_ticks;
 * - a FIB answer is reused only for packets from the same interface and no
 *   longer than the one whose MTU it checked (a longer one takes the slow
 *   path and stores its own answer).
 * xlvsd also bumps gen on the kernel's route, neighbour and link events, so
 * those reach cached flows with their next packet; a change no event
 * reports reaches a cached flow when it next takes the slow path, within
 * flow_cache_ticks. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "hash.h"
#include "maps.h"
#include "parse.h"

/* This CPU's slot for the packet's flow, or 0 if the cache is off or the
 * packet is an ICMP error (which never uses nor stores an entry). */
static __always_inline struct flow_cache_entry *cache_slot(struct pkt *p, struct globals *g)
{
    if (!(g->flags & G_F_FLOW_CACHE) || p->icmp)
        return 0;
    __u32 slot = p->hash & g->flow_cache_mask;
    return bpf_map_lookup_elem(&flow_cache, &slot);
}

/* Whether entry `e` tells how to forward this packet. */
static __always_inline int cache_usable(struct flow_cache_entry *e, struct pkt *p, struct globals *g, __u32 gen,
                                        __u32 ifindex, __u32 now)
{
    if (e->gen != gen || e->in_ifindex != ifindex || now - e->stamp >= g->flow_cache_ticks)
        return 0;
    if (e->key.src != p->key.src || e->key.dst != p->key.dst || e->key.sport != p->key.sport ||
        e->key.dport != p->key.dport || e->key.proto != p->key.proto)
        return 0;
    if (p->tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST))
        return 0;
    return bpf_ntohs(p->ip->tot_len) <= e->max_len;
}

/* Keeps what the slow path did (`fill`, whose kind is set only when the
 * flow has a connection or NAT entry) for the flow's next packets, under
 * the generation read before the slow path began. */
static __always_inline void cache_store(struct flow_cache_entry *slot, struct flow_cache_entry *fill,
                                        struct pkt *p, __u32 gen, __u32 ifindex, __u32 now)
{
    fill->key = p->key;
    fill->gen = gen;
    fill->in_ifindex = ifindex;
    fill->stamp = now;
    *slot = *fill;
}

/* The entry of the client's flow of FULLNAT way back `b` in this CPU's
 * cache, if it holds that flow. */
static __always_inline struct flow_cache_entry *cache_entry_of(struct globals *g, struct nat_back *b)
{
    if (!(g->flags & G_F_FLOW_CACHE))
        return 0;
    __u32 slot = flow_hash(bpf_ntohl(b->client), bpf_ntohl(b->vip), bpf_ntohs(b->cport), bpf_ntohs(b->vport),
                           IPPROTO_TCP) &
                 g->flow_cache_mask;
    struct flow_cache_entry *e = bpf_map_lookup_elem(&flow_cache, &slot);
    if (e && e->key.src == b->client && e->key.sport == b->cport && e->key.dst == b->vip &&
        e->key.dport == b->vport && e->key.proto == IPPROTO_TCP)
        return e;
    return 0;
}
