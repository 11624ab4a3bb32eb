/* Map keys and values. Mirrored byte for byte in src/abi.rs (which checks
 * the sizes): addresses and ports in network byte order, as in packets. */
#pragma once
#include <linux/types.h>
#include "consts.h"

/* A service: (VIP, protocol, port); port 0 takes every port of the VIP. */
struct svc_key {
    __be32 vip;
    __be16 port;
    __u8 proto;
    __u8 pad;
};

struct svc_val {
    __u32 id;          /* index of its table, lists and counters */
    __u8 forward;      /* FWD_* */
    __u8 flags;        /* SVC_F_* */
    __u8 sched;        /* SCHED_* */
    __u8 toa_kind;     /* SVC_F_TOA: the TCP option kind */
    __u32 table_size;  /* Maglev: M; SCHED_SEQ: the sequence's length */
    __be32 src_mask;   /* SVC_F_HASH_SRC, SVC_F_PERSIST: client address
                          mask (ipvsadm -M) */
    __u32 persist_s;   /* SVC_F_PERSIST: a template lives this long after
                          the last packet of a flow it placed (ipvsadm -p) */
    __u32 locality_s;  /* lblc, lblcr: a destination's real(s) are
                          forgotten after this long unused; lblcr drops
                          its most loaded one after this long unchanged */
};

/* A real of a service's destination list, with its weight (> 0: reals at
 * weight 0 are not listed). */
struct sched_dest {
    __u32 real;        /* index into reals */
    __u32 weight;
};

/* The reals the connection-count and locality schedulers choose from,
 * in config order (ties go to the first). */
struct sched_dests {
    __u32 count;       /* entries of dest in use */
    __u32 total;       /* the sum of their weights */
    struct sched_dest dest[MAX_DESTS];
};

/* A real's connections (SVC_F_COUNTS services): set by the daemon's
 * recount, moved by XDP as entries are made and close. Read as signed:
 * a decrement may cross a recount that already counted it. */
struct real_load {
    __u32 active;      /* entries CT_ACTIVE */
    __u32 inactive;    /* entries CT_CLOSING */
};

/* The state of a walk over a destination list. */
struct walk {
    __u32 sched;
    __u32 best;       /* index into list->dest of the choice so far */
    __u64 best_oh;    /* its overhead, as its scheduler counts it */
    __u64 best_w;     /* its weight */
    int found;
    /* twos: the two weighted draws, the weight passed so far, the second
     * choice */
    __u32 draw1, draw2, passed;
    int found2;
    __u32 second;
};


/* A persistence template: a client (masked) of a service stays on a real. */
struct tmpl_key {
    __u32 svc;
    __be32 client;     /* the client's address & svc_val.src_mask */
};

struct tmpl {
    __u64 last;        /* jiffies of the last packet of a flow it placed */
    __u32 real;        /* index into reals */
    __be32 real_addr;  /* the real, as a peer director would name it: */
    __be16 real_port;  /* also tells a reused slot from the real */
    __u8 pad[2];
    __be32 owner;      /* the director that made it; 0: this one (sync) */
    __u32 synced;      /* jiffies (low 32 bits) when last reported (sync.h) */
    __u32 pad2;
};

/* lblc and lblcr: a destination address of a service... */
struct dst_key {
    __u32 svc;
    __be32 dst;
};

/* ...and the real (lblc) or reals (lblcr) that serve it. */
struct dst_reals {
    __u64 last;        /* jiffies of its last use */
    __u64 changed;     /* lblcr: jiffies of the last change of the set */
    __u32 count;       /* reals in use in real[] (lblc: 1) */
    __u32 real[LBLCR_SET];
    __u32 pad;
};

/* The same for lblc and lblcr. */
struct locality_walk {
    /* wlc over every real; first: counts.h clears only this part */
    struct walk all;
    __u32 members[LBLCR_SET];
    __u32 nmembers;
    /* the set's members still listed: the least loaded (wlc's measure) and
     * the most loaded */
    int found_min, found_max;
    __u32 min, max; /* reals */
    __u64 min_oh, min_w, min_active, max_oh, max_w;
    int half; /* some real has fewer active connections than half its weight */
    struct dst_reals fresh; /* room for a new entry */
};

/* A real server (index into the reals map). */
struct real {
    __be32 addr;
    __be16 port;       /* 0: the client's destination port */
    __u8 mac[6];       /* DR: the real's MAC, resolved by the daemon */
    __u8 flags;        /* non-zero while in use */
    __u8 pad;
    __u16 svc;         /* the service it belongs to (lets a restarted
                          daemon find its slots in pinned maps) */
};

/* A flow as the client sends it. */
struct flow_key {
    __be32 src;
    __be32 dst;
    __be16 sport;
    __be16 dport;
    __u8 proto;
    __u8 pad[3];
};

struct conn {
    __u32 real;
    __u32 svc;
    __u64 last;        /* jiffies (bpf_jiffies64) of the last packet */
    __u8 state;        /* CT_* */
    __u8 flags;        /* CONN_F_* */
    __be16 nat_port;   /* FULLNAT: the local port towards the real */
    __be32 nat_addr;   /* FULLNAT: the local address towards the real */
    __be32 owner;      /* the director that made the entry; 0: this one */
    __u32 synced;      /* jiffies (low 32 bits) when last reported (sync.h) */
};

/* A connection entry reported to user space for the cluster's other
 * directors (the sync_events ring, sync.h): what a peer needs to forward
 * the flow as we do, in addresses (its slots and service ids differ). */
struct sync_event {
    struct flow_key key; /* the flow as the client sends it */
    __be32 real_addr;
    __be32 nat_addr;   /* FULLNAT: the local address towards the real */
    __be32 owner;      /* conn.owner: 0 = this director */
    __be16 real_port;  /* the port the real is sent to (never 0) */
    __be16 nat_port;   /* FULLNAT: the local port towards the real */
    __u8 forward;      /* FWD_* */
    __u8 state;        /* CT_* */
    __u8 op;           /* SYNC_OP_* */
    __u8 flags;        /* conn.flags (0 for SYNC_OP_TEMPLATE) */
    __u32 proxy_seq;   /* proxied flows: nat_back.proxy_seq ... */
    __u8 proxy_len;    /* ... proxy_len (0: not proxied) ... */
    __u8 proxy_flags;  /* ... and proxy_flags (proxy.h) */
    __u8 pad[2];
};

/* NAT and FULLNAT: how to turn a packet from the real back into one from
 * the VIP. Keyed by the flow as the real sends it. */
struct nat_back {
    __be32 vip;
    __be32 client;
    __be16 vport;
    __be16 cport;
    __u32 svc;
    __u32 real;
    __u32 toa_seq;     /* SVC_F_TOA: the client's sequence number after its
                          SYN (host order) while packets there are due a
                          TOA; 0 once a later one went by (toa.h) */
    __u32 proxy_seq;   /* PROXY protocol: the client's sequence number after
                          its SYN (host order): where the header goes */
    __u8 proxy_len;    /* PROXY protocol: the header's length, the shift of
                          the client's sequence numbers; 0: not proxied */
    __u8 proxy_flags;  /* PROXY_F_* (proxy.h) */
    __u8 pad[2];
    __u64 last;        /* jiffies of the last reply */
};

/* A PROXY protocol header as written (proxy.h): v2's 28 bytes or v1's
 * text of at most 56. */
struct proxy_hdr {
    __u8 b[64];
    __u32 len;         /* written so far */
    __u32 pad;
};

/* The addresses and ports a packet is rewritten to. */
struct addrs {
    __be32 src;
    __be32 dst;
    __be16 sport;
    __be16 dport;
};

/* Settings of the whole program (one entry). */
struct globals {
    __be32 tun_src;    /* TUN: outer source address (network part) */
    __u32 tcp_timeout_s;
    __u32 tcpfin_timeout_s;
    __u32 udp_timeout_s;
    __u32 flags;       /* G_F_* */
    __u32 laddr_count; /* FULLNAT: entries in local_addrs */
    __be32 tun_src_hostmask; /* TUN: host bits varied per flow (RSS) */
    __u32 hz;          /* jiffies per second (the kernel's HZ) */
    __u32 gen;         /* bumped by the daemon on every change: flow cache
                          entries of another generation are stale */
    __u32 flow_cache_mask;  /* flow_cache entries per CPU - 1 */
    __u32 flow_cache_ticks; /* how long a flow cache entry is used (jiffies) */
    __u32 syn_flood_threshold; /* SYN entries per second per CPU, 0 = no limit */
    __u32 sync_refresh_ticks;  /* G_F_SYNC: a known flow is reported again
                                  this long after its last report */
};

/* SYNs that made a connection entry on this CPU in the current second. */
struct syn_window {
    __u64 start; /* jiffies */
    __u64 count;
};

/* Per-service and per-real counters (per CPU, summed by the daemon). */
struct traffic {
    __u64 packets;     /* from clients */
    __u64 bytes;
    __u64 conns;       /* new connections scheduled */
    __u64 packets_out; /* NAT and FULLNAT: replies from reals */
    __u64 bytes_out;
};

/* The MAC of an interface the program is attached to (by ifindex). */
struct if_mac {
    __u8 mac[6];
    __u8 pad[2];
};

/* The same in an array slot (ifindex % IF_SLOTS), which the verifier
 * inlines: `ifindex` says whose slot it is (0: free). */
struct if_slot {
    __u32 ifindex;
    __u8 mac[6];
    __u8 pad[2];
};

/* Where a frame goes once rewritten: the FIB's answer (or, for DR, the
 * real's MAC). */
struct next_hop {
    __u32 ifindex;     /* egress interface */
    __u8 dmac[6];
    __u8 smac[6];
};

/* The next hop towards a real (next_hops, by the real's slot), kept by
 * the daemon from the kernel's route, link and neighbour events, so that
 * a new TUN, NAT or FULLNAT flow needs no FIB lookup (fib.h). Usable only
 * when `ifindex` is set and `addr` is the slot's real: a slot reused for
 * another real ignores the entry until the daemon writes it. */
struct real_next_hop {
    __be32 addr;       /* the real it leads to */
    __u32 ifindex;     /* egress interface; 0: no entry (ask the FIB) */
    __u8 dmac[6];      /* the gateway's or the on-link real's MAC */
    __u8 smac[6];      /* the egress interface's MAC */
    __u16 mtu;         /* the largest IP packet the route takes */
    __u16 pad;
};

/* A flow the slow path (service, connection table, FIB) forwarded a
 * moment ago, and how: packets of the same flow are forwarded from here
 * without a hash map lookup (flowcache.h). One direct-mapped table per
 * CPU; never read by the daemon. */
struct flow_cache_entry {
    struct flow_key key;
    __u32 gen;         /* globals.gen when stored (0: never stored) */
    __u32 in_ifindex;  /* where the flow arrived */
    __u32 stamp;       /* jiffies (low 32 bits) when stored */
    __u32 svc;         /* for the counters */
    __u32 real;
    struct addrs to;   /* NAT, FULLNAT, replies: the rewrite; TUN: the outer
                          source and destination */
    struct next_hop nh;
    __u16 max_len;     /* the longest frame (IP total length) the egress MTU
                          was checked for */
    __u8 kind;         /* FWD_* or FC_REPLY */
    __u8 proxy_len;    /* FULLNAT with a PROXY header the real has
                          acknowledged: the flow's shift (proxy.h) */
};
