/* FULLNAT PROXY protocol (HAProxy's, v1 text or v2 binary): the director
 * puts a header naming the client and the VIP before the byte stream it
 * sends the real, which reads it (nginx `listen ... proxy_protocol`).
 *
 * The header takes `len` bytes of the real's sequence space (28 for v2,
 * 32 to 56 for v1's text), so for the connection's whole life:
 * - client to real: every segment's sequence number + len, but the
 *   segments at the sequence number after the client's SYN (proxy_seq)
 *   until the real has acknowledged the header: those carry it, at
 *   proxy_seq (the handshake's bare ACK becomes a segment of the header
 *   alone; the first data segment gets it before its data; a
 *   retransmission of either gets the same bytes again). SYNs are left
 *   alone; the client's ACK numbers and SACK blocks are in the real's
 *   space already.
 * - real to client: the ACK number and each SACK block's edges - len; one
 *   inside the header (part of it acknowledged) becomes proxy_seq, one at
 *   or before proxy_seq (the SYN-ACK) stays. Once an ACK reaches
 *   proxy_seq + len the flow is marked acknowledged (PROXY_F_ACKED) and
 *   the shift is a pure function of len, which the flow cache's entries
 *   carry (their `proxy_len`) for both directions.
 * The state lives in the flow's way back (nat_back.proxy_*), set with it
 * for a proxied service's SYN (nat.h setup_nat), so the sync event of
 * the new entry carries it and a peer shifts as the owner does.
 *
 * A first data segment that cannot grow by len within the egress MTU goes
 * out as the header alone (its data cut, its sequence number kept): the
 * real acknowledges the header, the client sends the data again, shifted.
 * A segment due the header that cannot carry it at all (IP options, which
 * would have to move too) is dropped and counted: forwarded without it,
 * the stream would be corrupted. */
#pragma once
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "csum.h"
#include "flowcache.h"
#include "maps.h"
#include "parse.h"

#define PROXY_V2_LEN 28
#define PROXY_MAX_LEN 56
/* The headers moved to make room, in bytes: Ethernet with a VLAN tag, IP
 * without options, the longest TCP header. */
#define PROXY_MOVE_MAX (18 + 20 + 60)
/* TCP options walked for SACK blocks (each at least a byte). */
#define TCP_MAX_OPTS 40

/* Decimal digits of n (< 100000). */
static __always_inline __u32 dec_len(__u32 n)
{
    return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
}

/* Characters of an IPv4 address in dotted decimal. */
static __always_inline __u32 dotted_len(__be32 a)
{
    return 3 + dec_len(a & 0xff) + dec_len((a >> 8) & 0xff) + dec_len((a >> 16) & 0xff) + dec_len(a >> 24);
}

/* The header's length for a flow of a service with PROXY flags `flags`:
 * v1's text is "PROXY TCP4 <client> <vip> <cport> <vport>\r\n". */
static __always_inline __u8 proxy_len_of(__u8 flags, __be32 client, __be32 vip, __be16 cport, __be16 vport)
{
    if (flags & SVC_F_PROXY_V2)
        return PROXY_V2_LEN;
    return 11 + dotted_len(client) + 1 + dotted_len(vip) + 1 + dec_len(bpf_ntohs(cport)) + 1 +
           dec_len(bpf_ntohs(vport)) + 2;
}

/* A new way back `back` for the packet `p` of a service with flags
 * `flags`: for a proxied service's SYN, where the header goes and its
 * length. (A proxied flow first seen in mid-stream gets no shift: under
 * FULLNAT it reaches the real from a new local port, which the real
 * resets.) */
static __always_inline void proxy_setup(struct pkt *p, __u8 flags, struct nat_back *back)
{
    if (!(flags & (SVC_F_PROXY_V1 | SVC_F_PROXY_V2)) || p->key.proto != IPPROTO_TCP ||
        (p->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
        return;
    /* parse() checked the TCP header against data_end; the verifier
     * keeps that range with the spilled pointer. */
    struct tcphdr *tcp = p->l4;
    back->proxy_seq = bpf_ntohl(tcp->seq) + 1;
    back->proxy_len = proxy_len_of(flags, back->client, back->vip, back->cport, back->vport);
}

/* Appends a character to the header being written. The position lives
 * in the map value, not in a register: read back, it is just a number to
 * the verifier, which would otherwise follow every combination of digit
 * counts as a state of its own. */
static __always_inline void put_char(struct proxy_hdr *h, __u8 c)
{
    __u32 pos = *(volatile __u32 *)&h->len;
    h->b[pos & 63] = c;
    h->len = pos + 1;
}

/* Appends v (< 100000) in decimal, without leading zeros. */
static __always_inline void put_dec(struct proxy_hdr *h, __u32 v)
{
    int started = 0;
#pragma unroll
    for (int i = 0; i < 5; i++) {
        __u32 div = i == 0 ? 10000 : i == 1 ? 1000 : i == 2 ? 100 : i == 3 ? 10 : 1;
        __u32 digit = (v / div) % 10;
        if (digit || started || div == 1) {
            put_char(h, '0' + digit);
            started = 1;
        }
    }
}

/* Appends address a in dotted decimal. */
static __always_inline void put_dotted(struct proxy_hdr *h, __be32 a)
{
    __u32 x = bpf_ntohl(a);
    put_dec(h, x >> 24);
    put_char(h, '.');
    put_dec(h, (x >> 16) & 0xff);
    put_char(h, '.');
    put_dec(h, (x >> 8) & 0xff);
    put_char(h, '.');
    put_dec(h, x & 0xff);
}

/* Writes the header of a flow whose shift is `len` (28: v2, else v1, so a
 * flow keeps its kind of header whatever its service says now) into `h`;
 * returns its length. */
static __always_inline __u32 proxy_write_hdr(struct proxy_hdr *h, __u32 len, struct nat_back *b)
{
    __u8 *o = h->b;
    if (len == PROXY_V2_LEN) {
        /* signature, version 2 / PROXY, TCP over IPv4, 12 bytes of
         * addresses and ports (as little-endian words: the program runs
         * on bpfel) */
        __u64 sig0 = 0x510a0d000a0d0a0dULL; /* \r\n\r\n\0\r\nQ */
        __u64 sig1 = 0x0c0011210a544955ULL; /* UIT\n 0x21 0x11 0 12 */
        __builtin_memcpy(o, &sig0, 8);
        __builtin_memcpy(o + 8, &sig1, 8);
        __builtin_memcpy(o + 16, &b->client, 4);
        __builtin_memcpy(o + 20, &b->vip, 4);
        __builtin_memcpy(o + 24, &b->cport, 2);
        __builtin_memcpy(o + 26, &b->vport, 2);
        return PROXY_V2_LEN;
    }
    __u64 w0 = 0x43542059584f5250ULL; /* "PROXY TC" */
    __u32 w1 = 0x00203450;            /* "P4 " */
    __builtin_memcpy(o, &w0, 8);
    __builtin_memcpy(o + 8, &w1, 4);
    h->len = 11;
    put_dotted(h, b->client);
    put_char(h, ' ');
    put_dotted(h, b->vip);
    put_char(h, ' ');
    put_dec(h, bpf_ntohs(b->cport));
    put_char(h, ' ');
    put_dec(h, bpf_ntohs(b->vport));
    put_char(h, '\r');
    put_char(h, '\n');
    return h->len;
}

/* The sum of the TCP pseudo header for a segment of tcp_len bytes. */
static __always_inline __u32 pseudo_sum(struct iphdr *ip, __u32 tcp_len)
{
    return (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
           bpf_htons(IPPROTO_TCP) + bpf_htons(tcp_len);
}

/* The sum of the TCP header's words, its options and checksum included. */
static __always_inline __u32 tcp_hdr_sum(struct tcphdr *tcp, __u32 doff, void *data_end)
{
    __u32 sum = 0;
    __u16 *w = (void *)tcp;
    for (__u32 i = 0; i < 30; i++) {
        if (i >= doff * 2 || (void *)(w + i + 1) > data_end)
            break;
        sum += w[i];
    }
    return sum;
}

/* Copies the header into the packet at `to`; returns the sum of its words
 * (at an even offset of the segment), or -1 if the packet is too short. */
static __always_inline long proxy_copy(struct proxy_hdr *h, __u8 *to, __u32 len, void *data_end)
{
    __u32 sum = 0;
    for (__u32 i = 0; i < PROXY_MAX_LEN; i++) {
        if (i >= len)
            break;
        if ((void *)(to + i + 1) > data_end)
            return -1;
        __u8 c = h->b[i & 63];
        to[i] = c;
        sum += (i & 1) ? (__u32)c << 8 : c;
    }
    return sum;
}

/* Client to real: the sequence number + len. */
static __always_inline void proxy_shift_seq(struct tcphdr *tcp, __u32 len)
{
    __be32 old = tcp->seq;
    __be32 new = bpf_htonl(bpf_ntohl(old) + len);
    tcp->check = csum_apply(tcp->check, csum_diff32(old, new));
    tcp->seq = new;
}

/* The packet grown by `len` at the front: the headers (`move` bytes) moved
 * to the new front, the header written where the payload began, lengths
 * and checksums fixed. The payload's own sum comes from the old checksum
 * (everything else in it is known), since it moves by len bytes in the
 * segment: for an odd len, its bytes change halves of their words. */
static __always_inline int proxy_grow(struct xdp_md *ctx, struct pkt *p, struct proxy_hdr *h, __u32 len, __u32 doff,
                                      __u32 tot, int act)
{
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = p->ip;
    struct tcphdr *tcp = p->l4;
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end)
        return XDP_DROP;
    __u32 tcp_len = tot - sizeof(struct iphdr);
    __u32 hdr_sum = tcp_hdr_sum(tcp, doff, data_end);
    __u16 old_check = tcp->check;
    /* The whole segment sums to 0 (mod 0xffff): the payload is the rest. */
    __u32 payload = (__u16)~csum_fold(pseudo_sum(ip, tcp_len) + hdr_sum);
    if (len & 1)
        payload = csum_swap(payload);
    __u32 move = p->l2_len + sizeof(struct iphdr) + doff * 4;
    if (bpf_xdp_adjust_head(ctx, -(int)len)) {
        count(STAT_PROXY_DROPPED);
        return XDP_DROP;
    }
    void *data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    for (__u32 i = 0; i < PROXY_MOVE_MAX; i++) {
        if (i >= move)
            break;
        __u8 *d = data + i;
        __u8 *from = d + len;
        if ((void *)(d + 1) > data_end || (void *)(from + 1) > data_end)
            return XDP_DROP;
        d[0] = from[0];
    }
    if (pkt_refind(ctx, p) != CONTINUE)
        return XDP_DROP;
    ip = p->ip;
    tcp = p->l4;
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end)
        return XDP_DROP;
    long hsum = proxy_copy(h, (void *)tcp + (doff & 0xf) * 4, len, data_end);
    if (hsum < 0)
        return XDP_DROP;
    ip_set_tot_len(ip, tot + len);
    /* The header's words, the TCP header's (less its checksum), the
     * payload's and the new pseudo header's. */
    __u32 sum = pseudo_sum(ip, tcp_len + len) + hdr_sum + (__u16)~old_check + (__u32)hsum + payload;
    tcp->check = ~csum_fold(sum);
    count(STAT_PROXY_HEADERS);
    return act;
}

/* The first data segment, too long to grow: its first len bytes become
 * the header, the rest is cut (and a FIN, which came after it), its
 * sequence number stays. */
static __always_inline int proxy_alone(struct xdp_md *ctx, struct pkt *p, struct proxy_hdr *h, __u32 len,
                                       __u32 doff, int act)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = p->ip;
    struct tcphdr *tcp = p->l4;
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end)
        return XDP_DROP;
    tcp->fin = 0;
    __u32 hdr_sum = tcp_hdr_sum(tcp, doff, data_end);
    __u16 old_check = tcp->check;
    long hsum = proxy_copy(h, (void *)tcp + (doff & 0xf) * 4, len, data_end);
    if (hsum < 0)
        return XDP_DROP;
    __u32 tcp_len = doff * 4 + len;
    ip_set_tot_len(ip, sizeof(struct iphdr) + tcp_len);
    tcp->check = ~csum_fold(pseudo_sum(ip, tcp_len) + hdr_sum + (__u16)~old_check + (__u32)hsum);
    __u32 keep = p->l2_len + sizeof(struct iphdr) + tcp_len;
    __u32 frame = data_end - data;
    if (frame > keep && bpf_xdp_adjust_tail(ctx, -(int)(frame - keep)))
        return XDP_DROP;
    count(STAT_PROXY_HEADERS);
    count(STAT_PROXY_HEADER_ALONE);
    return act;
}

/* Puts the header of way back `b`'s flow before the packet's payload (a
 * segment at proxy_seq, rewritten for the real, about to leave by
 * `ifindex` with `act`). */
static __always_inline int proxy_add(struct xdp_md *ctx, struct pkt *p, struct nat_back *b, __u32 ifindex, int act)
{
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = p->ip;
    struct tcphdr *tcp = p->l4;
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end)
        return XDP_DROP;
    __u32 zero = 0;
    struct proxy_hdr *h = bpf_map_lookup_elem(&proxy_scratch, &zero);
    if (!h)
        return XDP_DROP;
    __u32 len = b->proxy_len;
    __u32 doff = tcp->doff;
    __u32 tot = bpf_ntohs(ip->tot_len);
    if (len > PROXY_MAX_LEN || proxy_write_hdr(h, len, b) != len || ip->ihl != 5 || doff < 5 ||
        tot < sizeof(struct iphdr) + doff * 4) {
        count(STAT_PROXY_DROPPED);
        return XDP_DROP;
    }
    __u32 mtu_len = 0;
    if (bpf_check_mtu(ctx, ifindex, &mtu_len, len, 0) == BPF_MTU_CHK_RET_SUCCESS) {
        int r = proxy_grow(ctx, p, h, len, doff, tot, act);
        if (r == act)
            b->proxy_flags |= PROXY_F_SENT;
        return r;
    }
    /* Too long to grow. If the header went out already (on the handshake
     * ACK, normally) the real most likely has it: the segment goes
     * shifted, whole, once. If the real had not got it, it holds that
     * segment out of order and still acknowledges proxy_seq, so the
     * client sends the segment again: that copy (the flag cleared here)
     * goes as the header alone, and so on, turn about, until the real
     * acknowledges the header. */
    if (b->proxy_flags & PROXY_F_SENT) {
        b->proxy_flags &= ~PROXY_F_SENT;
        proxy_shift_seq(tcp, len);
        return act;
    }
    if (tot - sizeof(struct iphdr) - doff * 4 < len) {
        count(STAT_PROXY_DROPPED);
        return XDP_DROP;
    }
    int r = proxy_alone(ctx, p, h, len, doff, act);
    if (r == act)
        b->proxy_flags |= PROXY_F_SENT;
    return r;
}

/* A number of the real's view of the client's stream (an ACK number, a
 * SACK edge) in the client's: - len; inside the header, the header's
 * start; at or before it, unchanged. `exact` (the header acknowledged):
 * - len, as the flow cache does. Serial-number comparisons: the stream
 * may wrap. */
static __always_inline __u32 proxy_unmap(__u32 x, __u32 base, __u32 len, int exact)
{
    if (exact)
        return x - len;
    if ((__s32)(x - base) <= 0)
        return x;
    if ((__s32)(x - (base + len)) < 0)
        return base;
    return x - len;
}

/* Real to client: the ACK number and the SACK blocks' edges (a walk of
 * the TCP options) mapped by proxy_unmap, the TCP checksum patched. For a
 * rewritten TCP packet with ACK, not SYN, whose TCP header is `tcp_off`
 * bytes into the frame. A function of its own (global, not inlined), as
 * schedule() is: the verifier checks it once, not once for every path
 * into it (inlined, the walk took the program past the verifier's
 * million instructions). It changes no packet length: the caller's
 * packet pointers stay valid. 0, or -1 if the packet is too short. */
__attribute__((noinline)) int proxy_unshift(struct xdp_md *ctx, __u32 tcp_off, __u32 base, __u32 len, __u32 exact)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct tcphdr *tcp = data + (tcp_off & 127);
    if ((void *)(tcp + 1) > data_end)
        return -1;
    __be32 old = tcp->ack_seq;
    __be32 new = bpf_htonl(proxy_unmap(bpf_ntohl(old), base, len, exact));
    tcp->ack_seq = new;
    __u32 d = csum_diff32(old, new);
    __u32 doff = tcp->doff;
    __u32 olen = doff > 5 ? doff * 4 - 20 : 0;
    __u8 *opts = (void *)(tcp + 1);
    /* The walk's position lives in a map value, as put_char's does: in a
     * register the verifier would follow every sequence of option
     * lengths as states of their own. */
    __u32 zero = 0;
    struct proxy_hdr *w = bpf_map_lookup_elem(&proxy_scratch, &zero);
    if (!w)
        return -1;
    w->len = 0;
    for (int i = 0; i < TCP_MAX_OPTS; i++) {
        __u32 off = *(volatile __u32 *)&w->len;
        if (off >= olen || off >= TCP_MAX_OPTS)
            break;
        __u8 *k = opts + off;
        if ((void *)(k + 2) > data_end || k[0] == 0)
            break;
        if (k[0] == 1) {
            w->len = off + 1;
            continue;
        }
        __u32 l = k[1];
        if (l < 2)
            break;
        if (k[0] == 5) {
            /* up to 4 blocks of two edges; an edge at an odd offset of
             * the segment changes the other halves of its words */
            for (__u32 j = 0; j < 8; j++) {
                if (2 + j * 4 + 4 > l)
                    break;
                __u8 *e = k + 2 + j * 4;
                if ((void *)(e + 4) > data_end)
                    break;
                __be32 o, n;
                __builtin_memcpy(&o, e, 4);
                n = bpf_htonl(proxy_unmap(bpf_ntohl(o), base, len, exact));
                __builtin_memcpy(e, &n, 4);
                __u32 de = csum_diff32(o, n);
                d += (off & 1) ? csum_swap(de) : de;
            }
        }
        w->len = off + l;
    }
    tcp->check = csum_apply(tcp->check, d);
    return 0;
}

/* A reply of a proxied flow, rewritten for the client (nat.h nat_reply):
 * its ACK numbers shifted back; the flow marked acknowledged once the
 * real has the header. The flow cache takes the reply flow only once it
 * is (`fill` carries the shift). */
static __always_inline void proxy_reply(struct xdp_md *ctx, struct pkt *p, struct nat_back *b,
                                        struct flow_cache_entry *fill)
{
    void *data_end = (void *)(long)ctx->data_end;
    struct tcphdr *tcp = p->l4;
    if ((void *)(tcp + 1) > data_end)
        return;
    __u32 len = b->proxy_len;
    __u32 base = b->proxy_seq;
    int acked = b->proxy_flags & PROXY_F_ACKED;
    if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_ACK) {
        if (!acked && (__s32)(bpf_ntohl(tcp->ack_seq) - (base + len)) >= 0)
            b->proxy_flags |= PROXY_F_ACKED;
        proxy_unshift(ctx, (void *)tcp - (void *)(long)ctx->data, base, len, acked);
    }
    if (acked)
        fill->proxy_len = len;
    else
        fill->kind = 0;
}

/* The client's packet of a proxied flow (way back `b`), rewritten for the
 * real and about to leave by `ifindex` with `act`: the header added if
 * due, else its sequence number shifted. While the header is not
 * acknowledged the flow stays off the flow cache; after, its cache entry
 * carries the shift. */
static __always_inline int proxy_client(struct xdp_md *ctx, struct pkt *p, struct globals *g, struct nat_back *b,
                                        __u32 ifindex, int act)
{
    void *data_end = (void *)(long)ctx->data_end;
    struct tcphdr *tcp = p->l4;
    if ((void *)(tcp + 1) > data_end)
        return XDP_DROP;
    __u32 seq = bpf_ntohl(tcp->seq);
    int acked = b->proxy_flags & PROXY_F_ACKED;
    struct flow_cache_entry *e = cache_entry_of(g, b);
    if (e)
        e->proxy_len = b->proxy_len;
    if (!acked && e)
        e->gen = 0;
    if (p->tcp_flags & TCP_SYN) {
        /* (a SYN sent again with another ISN moves the header with it) */
        if (!acked && !(p->tcp_flags & TCP_ACK))
            b->proxy_seq = seq + 1;
        return act;
    }
    if (!acked && seq == b->proxy_seq && !(p->tcp_flags & TCP_RST))
        return proxy_add(ctx, p, b, ifindex, act);
    proxy_shift_seq(tcp, b->proxy_len);
    return act;
}
