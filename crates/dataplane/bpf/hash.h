/* Flow hashes: Jenkins' lookup3 final mix as Linux's jhash.h defines
 * jhash_3words/jhash_1word. crates/maglev's flow_hash and source_hash
 * compute the same values; its golden vectors are the contract. */
#pragma once
#include <linux/types.h>

#define JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 rol32(__u32 x, int k)
{
    return (x << k) | (x >> (32 - k));
}

static __always_inline __u32 jhash_nwords(__u32 a, __u32 b, __u32 c, __u32 initval)
{
    a += initval;
    b += initval;
    c += initval;
    c ^= b; c -= rol32(b, 14);
    a ^= c; a -= rol32(c, 11);
    b ^= a; b -= rol32(a, 25);
    c ^= b; c -= rol32(b, 16);
    a ^= c; a -= rol32(c, 4);
    b ^= a; b -= rol32(a, 14);
    c ^= b; c -= rol32(b, 24);
    return c;
}

/* Arguments in host byte order. */
static __always_inline __u32 flow_hash(__u32 saddr, __u32 daddr, __u16 sport, __u16 dport, __u8 proto)
{
    return jhash_nwords(saddr, daddr, ((__u32)sport << 16) | dport,
                        (__u32)proto + JHASH_INITVAL + (3 << 2));
}

static __always_inline __u32 source_hash(__u32 saddr)
{
    return jhash_nwords(saddr, 0, 0, JHASH_INITVAL + (1 << 2));
}
