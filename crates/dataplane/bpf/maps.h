/* The maps. Sizes here are defaults; the loader sets each map's
 * max_entries at load time from the daemon's limits. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "structs.h"

#define DEFAULT_SERVICES 256
#define DEFAULT_REALS 4096
#define DEFAULT_TABLE 65537
#define DEFAULT_CONNS 1048576
#define DEFAULT_FLOW_CACHE 16384
#define DEFAULT_SYNC_RING (4 << 20) /* bytes: a power of two of pages */
#define DEFAULT_TEMPLATES 262144
#define DEFAULT_LOCALITY 65536

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, DEFAULT_SERVICES);
    __type(key, struct svc_key);
    __type(value, struct svc_val);
} services SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DEFAULT_REALS);
    __type(key, __u32);
    __type(value, struct real);
} reals SEC(".maps");

/* One Maglev table per service: slot -> real index. A new table is built
 * beside the live one and swapped in with one update of this map, so a
 * packet never sees a half-built table. */
struct maglev_table {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    /* Inner tables may have any size (M is set at load time). */
    __uint(map_flags, BPF_F_INNER_MAP);
    __uint(max_entries, DEFAULT_TABLE);
    __type(key, __u32);
    __type(value, __u32);
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, DEFAULT_SERVICES);
    __type(key, __u32);
    __array(values, struct maglev_table);
} maglev SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DEFAULT_CONNS);
    __type(key, struct flow_key);
    __type(value, struct conn);
} conntrack SEC(".maps");

/* rr, wrr, fo: each CPU's place in its services' sequences (sequence.h).
 * Not pinned: a restart starts the rotation over. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DEFAULT_SERVICES);
    __type(key, __u32);
    __type(value, __u32);
} sched_cursor SEC(".maps");

/* Connection-count and locality schedulers: each service's reals and
 * weights, by service id (counts.h). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DEFAULT_SERVICES);
    __type(key, __u32);
    __type(value, struct sched_dests);
} sched_dests SEC(".maps");

/* Each real's connections, by real index: shared by every CPU (one
 * atomic add when an entry is made or closes). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DEFAULT_REALS);
    __type(key, __u32);
    __type(value, struct real_load);
} real_load SEC(".maps");

/* A scheduler's walk over its reals (counts.h, locality.h), which is
 * too big for the program's stack. Per CPU: XDP never runs twice at once
 * on one CPU. Not pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct locality_walk);
} walk_scratch SEC(".maps");

/* Persistence templates of non-hash schedulers (persist.h); sized from
 * the connection table by the loader. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DEFAULT_TEMPLATES);
    __type(key, struct tmpl_key);
    __type(value, struct tmpl);
} templates SEC(".maps");

/* lblc, lblcr: destination address -> real(s) (locality.h). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DEFAULT_LOCALITY);
    __type(key, struct dst_key);
    __type(value, struct dst_reals);
} locality SEC(".maps");

/* TUN, NAT, FULLNAT: each real's next hop, by its slot in reals (fib.h).
 * Written by the daemon; pinned, and cleared by a daemon that loads over
 * the pins (src/next_hops.rs). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, DEFAULT_REALS);
    __type(key, __u32);
    __type(value, struct real_next_hop);
} next_hops SEC(".maps");

/* NAT and FULLNAT replies: the flow as the real sends it -> the client's.
 * Sized like the connection table by the loader. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, DEFAULT_CONNS);
    __type(key, struct flow_key);
    __type(value, struct nat_back);
} nat_reverse SEC(".maps");

/* Addresses that may be a VIP or FULLNAT local address (first half) or
 * a NAT real (second half): one bit each, by a hash of the address, set
 * by the daemon (src/addrs.rs). An array, so the lookup is inlined: a bit
 * clear means the packet is for no service (addrs.h). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, ADDR_WORDS);
    __type(key, __u32);
    __type(value, __u64);
} addr_bits SEC(".maps");

/* FULLNAT: this node's local addresses (globals.laddr_count of them). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_LADDRS);
    __type(key, __u32);
    __type(value, __be32);
} local_addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct globals);
} globals SEC(".maps");

/* Our interfaces' MACs: frames addressed to another host (a bridge
 * flooding unknown unicast, promiscuous NICs) are not ours to forward.
 * Looked up in if_slots (an array: no hashing) and here only when two
 * interfaces share a slot. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, IF_SLOTS);
    __type(key, __u32);
    __type(value, struct if_slot);
} if_slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct if_mac);
} if_macs SEC(".maps");

/* The flow cache (flowcache.h): per CPU, so only its own CPU ever writes
 * an entry; sized (a power of two) by the loader; never pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DEFAULT_FLOW_CACHE);
    __type(key, __u32);
    __type(value, struct flow_cache_entry);
} flow_cache SEC(".maps");

/* The SYN flood guard's count (sched.h). Not pinned: a restart starts a
 * new second anyway. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct syn_window);
} syn_window SEC(".maps");

/* Connection entries made, refreshed or closing, for the cluster's other
 * directors (sync.h); read by the daemon. Sized by the loader; never
 * pinned: events are on their way, not state. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, DEFAULT_SYNC_RING);
} sync_events SEC(".maps");

/* The tick (jiffies, low 32 bits) of this CPU's last wakeup of the sync
 * ring's reader (sync.h). Not pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} sync_wake SEC(".maps");

/* Room for a template's sync event (sync.h sync_template), off the stack:
 * schedule() and the main program are at the verifier's 512-byte limit
 * together. Per CPU, written and sent within one run. Not pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sync_event);
} sync_scratch SEC(".maps");

/* Room for a new way back being built (nat.h setup_nat), off the stack:
 * the slow path's deepest frame is at the verifier's limit. Per CPU,
 * used within one run. Not pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct nat_back);
} back_scratch SEC(".maps");

/* Room for a PROXY protocol header being written (proxy.h), off the
 * stack. Per CPU, used within one run. Not pinned. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct proxy_hdr);
} proxy_scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, STAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DEFAULT_SERVICES);
    __type(key, __u32);
    __type(value, struct traffic);
} svc_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, DEFAULT_REALS);
    __type(key, __u32);
    __type(value, struct traffic);
} real_stats SEC(".maps");

/* The MAC frames must be sent to on `ifindex`, or 0 if none is set. */
static __always_inline __u8 *our_mac(__u32 ifindex)
{
    __u32 slot = ifindex & (IF_SLOTS - 1);
    struct if_slot *s = bpf_map_lookup_elem(&if_slots, &slot);
    if (!s || s->ifindex == 0)
        return 0;
    if (s->ifindex == ifindex)
        return s->mac;
    struct if_mac *m = bpf_map_lookup_elem(&if_macs, &ifindex);
    return m ? m->mac : 0;
}

/* Connection timestamps are jiffies: reading them is inlined by the
 * verifier, where the nanosecond clocks cost a helper call per packet. */
static __always_inline __u64 now_ticks(void)
{
    return bpf_jiffies64();
}

static __always_inline void count(__u32 stat)
{
    __u64 *v = bpf_map_lookup_elem(&stats, &stat);
    if (v)
        *v += 1;
}

static __always_inline void count_traffic(void *map, __u32 idx, __u64 bytes, int new_conn)
{
    struct traffic *t = bpf_map_lookup_elem(map, &idx);
    if (!t)
        return;
    t->packets += 1;
    t->bytes += bytes;
    if (new_conn)
        t->conns += 1;
}

static __always_inline void count_traffic_out(void *map, __u32 idx, __u64 bytes)
{
    struct traffic *t = bpf_map_lookup_elem(map, &idx);
    if (!t)
        return;
    t->packets_out += 1;
    t->bytes_out += bytes;
}
