// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/* The new-flow floor (benchmark only, never attached; examples/xdp_bench):
 * what storing a new flow costs in each design of per-flow state xlvs
 * could use, and what finding it again costs, each with nothing else
 * around it. One program per design: a SYN stores its flow (a new entry
 * per call in the bench), any other packet looks its flow up and returns
 * XDP_TX on a hit, XDP_DROP on a miss (so the bench can count misses).
 * XDP_ABORTED: the store failed (a full table).
 *
 * Keys and values are the connection table's (struct flow_key, struct
 * conn), so each design moves the same bytes as the real one would. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "hash.h"
#include "structs.h"

/* Room for the bench's million-flow rows next to its new-flow rows. */
#define FLOOR_ENTRIES (1 << 22)

/* Set-associative table: SA_WAYS entries per bucket, the bucket chosen
 * by the flow hash. Each bucket leads with a 64-byte line of tags (the
 * flow hash, 0 = free) and stamps, so a lookup or a victim choice reads
 * one line and then the one entry it wants. */
#define SA_WAYS 8
#define SA_BUCKETS (FLOOR_ENTRIES / SA_WAYS)
/* An entry unused this long is expired: a miss, and free to take
 * (jiffies; the bench never reaches it, so its victims are the oldest
 * way of a full bucket). */
#define SA_EXPIRE_TICKS (900u * 1000u)

struct sa_way {
    struct flow_key key;
    struct conn c;
};

struct sa_bucket {
    __u32 tag[SA_WAYS];
    __u32 stamp[SA_WAYS]; /* jiffies (low 32 bits) of the last use */
    struct sa_way way[SA_WAYS];
};

/* The kernel's LRU hash as the connection table has it (one LRU list
 * shared by all CPUs). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FLOOR_ENTRIES);
    __type(key, struct flow_key);
    __type(value, struct conn);
} lru SEC(".maps");

/* The same with a list per CPU: each CPU evicts only from its own share
 * (max_entries / possible CPUs). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FLOOR_ENTRIES);
    __uint(map_flags, BPF_F_NO_COMMON_LRU);
    __type(key, struct flow_key);
    __type(value, struct conn);
} lru_percpu SEC(".maps");

/* A preallocated hash: no eviction, a full table refuses inserts. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FLOOR_ENTRIES);
    __type(key, struct flow_key);
    __type(value, struct conn);
} hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SA_BUCKETS);
    __type(key, __u32);
    __type(value, struct sa_bucket);
} sa SEC(".maps");

/* Per CPU, the kernel's way: each bucket's copies are reached through a
 * table of per-CPU pointers, one more dependent read. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SA_BUCKETS);
    __type(key, __u32);
    __type(value, struct sa_bucket);
} sa_percpu SEC(".maps");

/* Per CPU as slices of one array: CPU n owns buckets [n * slice,
 * (n + 1) * slice), the same total size split as BPF_F_NO_COMMON_LRU
 * splits its lists. The loader sets the slice (buckets / possible CPUs,
 * a power of two). */
const volatile __u32 sa_slice = SA_BUCKETS;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SA_BUCKETS);
    __type(key, __u32);
    __type(value, struct sa_bucket);
} sa_sliced SEC(".maps");

/* Ethernet, IPv4 without options, TCP: the flow and whether it is a SYN.
 * Returns -1 for anything else. */
static __always_inline int floor_parse(struct xdp_md *ctx, struct flow_key *k)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct tcphdr *tcp = (void *)(ip + 1);
    if ((void *)(tcp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
        ip->protocol != IPPROTO_TCP)
        return -1;
    k->src = ip->saddr;
    k->dst = ip->daddr;
    k->sport = tcp->source;
    k->dport = tcp->dest;
    k->proto = IPPROTO_TCP;
    return tcp->syn;
}

static __always_inline int hash_map_step(struct xdp_md *ctx, void *map)
{
    struct flow_key k = {};
    int syn = floor_parse(ctx, &k);
    if (syn < 0)
        return XDP_PASS;
    __u64 now = bpf_jiffies64();
    if (syn) {
        struct conn c = {.last = now, .state = 1};
        return bpf_map_update_elem(map, &k, &c, BPF_ANY) == 0 ? XDP_TX : XDP_ABORTED;
    }
    struct conn *c = bpf_map_lookup_elem(map, &k);
    if (!c)
        return XDP_DROP;
    c->last = now;
    return XDP_TX;
}

static __always_inline int same_flow(struct flow_key *a, struct flow_key *b)
{
    return a->src == b->src && a->dst == b->dst && a->sport == b->sport && a->dport == b->dport &&
           a->proto == b->proto;
}

/* A SYN takes its flow's way if it has one, else a free or expired way,
 * else the oldest; other packets look for their flow's way. Plain stores:
 * on a shared table two CPUs may write one way at once (see
 * docs/benchmarks.md on what adopting it would need). */
static __always_inline int sa_step(struct xdp_md *ctx, void *map, int sliced)
{
    struct flow_key k = {};
    int syn = floor_parse(ctx, &k);
    if (syn < 0)
        return XDP_PASS;
    __u32 h = flow_hash(bpf_ntohl(k.src), bpf_ntohl(k.dst), bpf_ntohs(k.sport), bpf_ntohs(k.dport), k.proto);
    __u32 tag = h | 1;
    __u32 idx = h & (SA_BUCKETS - 1);
    if (sliced)
        idx = bpf_get_smp_processor_id() * sa_slice + (h & (sa_slice - 1));
    struct sa_bucket *b = bpf_map_lookup_elem(map, &idx);
    if (!b)
        return XDP_ABORTED;
    __u64 now = bpf_jiffies64();
    __u32 now32 = (__u32)now;
    __u32 victim = 0, victim_age = 0;
#pragma unroll
    for (__u32 i = 0; i < SA_WAYS; i++) {
        __u32 age = now32 - b->stamp[i];
        if (b->tag[i] == tag && age < SA_EXPIRE_TICKS && same_flow(&b->way[i].key, &k)) {
            b->way[i].c.last = now;
            b->stamp[i] = now32;
            return XDP_TX;
        }
        /* Free ways count as the oldest possible. */
        if (!b->tag[i])
            age = 0xffffffffu;
        if (age > victim_age) {
            victim_age = age;
            victim = i;
        }
    }
    if (!syn)
        return XDP_DROP;
    if (victim >= SA_WAYS)
        return XDP_ABORTED;
    /* A free or expired way if there is one (they are the oldest), else
     * the bucket's least recently used flow, evicted as an LRU would. */
    struct sa_way *w = &b->way[victim];
    w->key = k;
    w->c = (struct conn){.last = now, .state = 1};
    b->stamp[victim] = now32;
    b->tag[victim] = tag;
    return XDP_TX;
}

/* Parsing alone: what the other programs add to it is the table's cost. */
SEC("xdp")
int floor_parse_only(struct xdp_md *ctx)
{
    struct flow_key k = {};
    return floor_parse(ctx, &k) < 0 ? XDP_PASS : XDP_TX;
}

SEC("xdp")
int floor_lru(struct xdp_md *ctx)
{
    return hash_map_step(ctx, &lru);
}

SEC("xdp")
int floor_lru_percpu(struct xdp_md *ctx)
{
    return hash_map_step(ctx, &lru_percpu);
}

SEC("xdp")
int floor_hash(struct xdp_md *ctx)
{
    return hash_map_step(ctx, &hash);
}

SEC("xdp")
int floor_sa(struct xdp_md *ctx)
{
    return sa_step(ctx, &sa, 0);
}

SEC("xdp")
int floor_sa_percpu(struct xdp_md *ctx)
{
    return sa_step(ctx, &sa_percpu, 0);
}

SEC("xdp")
int floor_sa_sliced(struct xdp_md *ctx)
{
    return sa_step(ctx, &sa_sliced, 1);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
