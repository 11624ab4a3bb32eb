/* Map keys and values. Mirrored byte for byte in src/abi.rs (which checks
 * the sizes): addresses and ports in network byte order, as in packets. */
#pragma once
#include <linux/types.h>

/* A service: (VIP, protocol, port); port 0 takes every port of the VIP. */
struct svc_key {
    __be32 vip;
    __be16 port;
    __u8 proto;
    __u8 pad;
};

struct svc_val {
    __u32 id;          /* index of its Maglev table and counters */
    __u8 forward;      /* FWD_* */
    __u8 flags;        /* SVC_F_* */
    __u16 pad;
    __u32 table_size;  /* M, the Maglev table size */
    __be32 src_mask;   /* SVC_F_HASH_SRC: client address mask (ipvsadm -M) */
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
    __u8 flags;        /* conn.flags */
    __u32 pad;
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
    __u32 pad;
    __u64 last;        /* jiffies of the last reply */
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
    __u8 pad;
};
