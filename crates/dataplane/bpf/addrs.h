/* The early exit for traffic that is for no service (OSPF, ARP's IP
 * neighbours, management): before the flow cache and the service
 * lookups, one bit of addr_bits, by a hash of the destination address,
 * says whether it may be a VIP or a FULLNAT local address. A set bit
 * (a service, or another address with the same bit) takes the full path
 * as before, so a false positive costs time, never a wrong answer.
 *
 * A NAT reply goes to the client, any address: it is told apart by its
 * source (a NAT real), a second bit looked at only while NAT services
 * have reals. ICMP errors are judged by the flow they quote (pkt.key),
 * which names the VIP, the local address or the real the same way. */
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "maps.h"
#include "parse.h"

/* Whether `a`'s bit is set in half `half` (0: destinations, 1: NAT
 * reals). src/addrs.rs computes the same bit. */
static __always_inline int addr_maybe(__be32 a, __u32 half)
{
    __u32 bit = ((__u32)a * 0x9e3779b1u) >> 17; /* 15 bits */
    __u32 word = half * (ADDR_WORDS / 2) + (bit >> 6);
    __u64 *w = bpf_map_lookup_elem(&addr_bits, &word);
    return w && ((*w >> (bit & 63)) & 1);
}

/* Whether `p` is for no service nor NAT way back (then it passes). It
 * reads the globals itself: with a `g` kept from the main program, the
 * program's stack grew past the verifier's limit (an inlined array
 * lookup, no cost). */
static __always_inline int for_no_service(struct pkt *p)
{
    __u32 zero = 0;
    struct globals *g = bpf_map_lookup_elem(&globals, &zero);
    if (!g)
        return 0;
    if (!(g->flags & G_F_ADDRS) || addr_maybe(p->key.dst, 0))
        return 0;
    return !((g->flags & G_F_NAT_REALS) && addr_maybe(p->key.src, 1));
}
