/* Constants shared by the XDP program's helpers. Values that the daemon
 * also uses are mirrored in src/abi.rs; keep both in step. */
#pragma once

/* Forwarding methods (svc_val.forward). */
#define FWD_DR 1
#define FWD_TUN 2
#define FWD_FULLNAT 3
#define FWD_NAT 4

/* svc_val.flags */
#define SVC_F_HASH_SRC (1 << 0) /* Maglev over the (masked) source address only */
#define SVC_F_HASH_DST (1 << 1) /* Maglev over the destination address (dh) */
#define SVC_F_COUNTS (1 << 2)   /* keep real_load up to date (counts.h) */
#define SVC_F_PERSIST (1 << 3)  /* persistence templates (persist.h) */
#define SVC_F_TOA (1 << 4)      /* FULLNAT: the client's address in a TCP option (toa.h) */
#define SVC_F_PROXY_V1 (1 << 5) /* FULLNAT TCP: a PROXY protocol v1 header (proxy.h) */
#define SVC_F_PROXY_V2 (1 << 6) /* FULLNAT TCP: a PROXY protocol v2 header */

/* svc_val.sched: how a new flow's real is chosen. */
#define SCHED_MAGLEV 0 /* mh, sh, dh: the flags say what is hashed */
#define SCHED_SEQ 1    /* rr, wrr, fo: the sequence in the service's table */
#define SCHED_LC 2
#define SCHED_WLC 3
#define SCHED_SED 4
#define SCHED_NQ 5
#define SCHED_OVF 6
#define SCHED_TWOS 7
#define SCHED_LBLC 8
#define SCHED_LBLCR 9

/* Reals in a service's destination list (sched_dests). */
#define MAX_DESTS 256
/* lblcr: reals kept for one destination address. */
#define LBLCR_SET 8

/* globals.flags */
#define G_F_NAT (1 << 0)   /* some service uses NAT or FULLNAT: look for replies */
#define G_F_PORT0 (1 << 1) /* some service takes every port of its VIP */
#define G_F_FLOW_CACHE (1 << 2) /* the flow cache is on */
#define G_F_SYNC (1 << 3)       /* report connection entries (sync.h) */
#define G_F_TOA (1 << 4)        /* some service sends TOA options (toa.h) */
#define G_F_PROXY (1 << 5)      /* some service sends PROXY headers (proxy.h) */
/* addr_bits holds every VIP and FULLNAT local address: packets to none
 * of them pass at once (addrs.h). Set by the loader. */
#define G_F_ADDRS (1 << 6)
/* Some NAT (not FULLNAT) service has reals, whose replies go to clients:
 * packets from a real in addr_bits are looked at too. */
#define G_F_NAT_REALS (1 << 7)
/* addr_bits: 64-bit words, two halves (destinations, NAT reals' sources)
 * of ADDR_WORDS * 32 bits each. */
#define ADDR_WORDS 1024
/* TUN, NAT, FULLNAT: the next hop towards a real is taken from next_hops
 * when its entry is usable (fib.h); a high bit, apart from the others */
#define G_F_NEXT_HOP (1 << 8)

/* flow_cache_entry.kind besides FWD_*: a NAT or FULLNAT reply. */
#define FC_REPLY 5

/* FULLNAT local ports: tried in this range, a few candidates per flow. */
#define LPORT_MIN 1024
#define LPORT_MAX 65535
#define LPORT_TRIES 8
#define MAX_LADDRS 64

/* A Maglev slot with no real server. */
#define NO_REAL 0xffffffffu
/* pick_real: a real was found but the flow cannot be set up (counted). */
#define NO_SETUP 0xfffffffeu

/* Connection states (conn.state). */
#define CT_ACTIVE 1
#define CT_CLOSING 2 /* FIN or RST seen: shorter timeout */

/* conn.flags */
#define CONN_F_PEER (1 << 0) /* installed from a peer director's report */

/* sync_event.op */
#define SYNC_OP_NEW 1     /* an entry was written: the flow's first packet here */
#define SYNC_OP_REFRESH 2 /* a packet of a known flow, sync_refresh_ticks after the last report */
#define SYNC_OP_CLOSING 3 /* the entry turned CT_CLOSING (FIN or RST) */
/* A persistence template made or refreshed: key.src = the masked client,
 * sport 0; real_port as configured (0: the client's destination port);
 * state, flags, nat_* 0. An op of its own, not a flag: a reader that does
 * not know it leaves it out instead of taking it for a connection. */
#define SYNC_OP_TEMPLATE 4

/* Helpers return an XDP action, or CONTINUE to go on processing. */
#define CONTINUE -1

/* Global counters (stats map index). */
enum stat {
    STAT_PASS_NOT_IPV4 = 0,
    STAT_PASS_NOT_VIP,
    STAT_PASS_FRAGMENT,
    STAT_PASS_ICMP,
    STAT_PASS_MALFORMED,
    STAT_PASS_NO_NEIGH,
    STAT_DROP_NO_REAL,
    STAT_DROP_NO_ROUTE,
    STAT_DROP_ENCAP,
    STAT_CT_HIT,
    STAT_CT_NEW,
    STAT_TX_DR,
    STAT_TX_TUN,
    STAT_REDIRECT_TUN,
    STAT_PASS_NOT_OURS,
    /* each TX counter is followed by its REDIRECT counter (fib_forward) */
    STAT_TX_FULLNAT,
    STAT_REDIRECT_FULLNAT,
    STAT_TX_NAT,
    STAT_REDIRECT_NAT,
    STAT_TX_REPLY,
    STAT_REDIRECT_REPLY,
    STAT_DROP_NO_LPORT,
    STAT_ICMP_TO_REAL,
    STAT_ICMP_TO_CLIENT,
    STAT_DROP_NAT_UNKNOWN, /* ICMP or RST of a FULLNAT flow we cannot translate */
    STAT_DROP_TOO_BIG,     /* larger than the egress MTU */
    STAT_FLOW_CACHE_HIT,   /* forwarded from the flow cache */
    STAT_SYN_UNTRACKED,    /* a DR/TUN SYN over the flood threshold: no entry */
    STAT_SYNC_RING_FULL,   /* a sync event lost: sync_events was full */
    STAT_TOA_ADDED,        /* a TOA option added (toa.h) */
    STAT_TOA_SKIPPED,      /* a packet due a TOA sent without: no room */
    STAT_PROXY_HEADERS,    /* a segment to a real carrying the PROXY header */
    STAT_PROXY_HEADER_ALONE, /* a first data segment too long to grow: sent
                                as the header alone, its data left for the
                                client to send again */
    STAT_PROXY_DROPPED,    /* a segment due the header that could not carry
                              it (IP options, no room): dropped */
    STAT_NEXT_HOP_HIT,      /* G_F_NEXT_HOP: sent by the real's next_hops entry */
    STAT_NEXT_HOP_FALLBACK, /* G_F_NEXT_HOP: no usable entry, the FIB asked */
    STAT_MAX,
};

#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define ETH_ALEN 6

#define IPPROTO_ICMP 1
#define ICMP_DEST_UNREACH 3
#define IPPROTO_IPIP 4
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* nat_back.proxy_flags (proxy.h) */
#define PROXY_F_ACKED 1 /* the real acknowledged the PROXY header */
#define PROXY_F_SENT 2  /* a segment with the header went out (proxy.h) */

/* Interface MAC slots (maps.h if_slots): a power of two. */
#define IF_SLOTS 256
#define TUN_TTL 64
