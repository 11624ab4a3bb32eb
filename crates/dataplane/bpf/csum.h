/* Checksums. */
#pragma once
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

/* A sum folded to 16 bits (not inverted). */
static __always_inline __u16 csum_fold(__u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* The header checksum of a fresh 20-byte IPv4 header (check field 0). */
static __always_inline __u16 ipv4_csum(struct iphdr *ip)
{
    __u32 sum = 0;
    __u16 *w = (__u16 *)ip;
#pragma unroll
    for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
        sum += w[i];
    return ~csum_fold(sum);
}

/* Incremental updates (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')). The
 * differences of several fields add up before one fold. Words are taken
 * as they lie in memory: one's complement sums do not care about byte
 * order as long as every word is read the same way. */
static __always_inline __u32 csum_diff16(__u16 from, __u16 to)
{
    return (__u32)(__u16)~from + to;
}

static __always_inline __u32 csum_diff32(__be32 from, __be32 to)
{
    return csum_diff16(from >> 16, to >> 16) + csum_diff16(from & 0xffff, to & 0xffff);
}

static __always_inline __u16 csum_apply(__u16 check, __u32 diff)
{
    return ~csum_fold((__u32)(__u16)~check + diff);
}

/* Sets an IPv4 header's total length to `tot` (host order), patching its
 * checksum. */
static __always_inline void ip_set_tot_len(struct iphdr *ip, __u32 tot)
{
    __u16 new_tot = bpf_htons(tot);
    ip->check = csum_apply(ip->check, csum_diff16(ip->tot_len, new_tot));
    ip->tot_len = new_tot;
}

/* A folded sum of bytes that moved by an odd number of positions (or a
 * difference of a field at an odd offset): each byte sits in the other
 * half of its word, and one's complement sums commute with swapping the
 * bytes of every word (RFC 1071), so the sum is the byte-swapped one. */
static __always_inline __u32 csum_swap(__u32 sum)
{
    __u16 f = csum_fold(sum);
    return (__u16)((f << 8) | (f >> 8));
}
