/* Checksums. */
#pragma once
#include <linux/ip.h>

/* The header checksum of a fresh 20-byte IPv4 header (check field 0). */
static __always_inline __u16 ipv4_csum(struct iphdr *ip)
{
    __u32 sum = 0;
    __u16 *w = (__u16 *)ip;
#pragma unroll
    for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
        sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}
