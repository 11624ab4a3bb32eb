/* FULLNAT "TOA": the client's address and port in a TCP option, so a real
 * that sees only our local address as the source can learn the client's
 * (a module on the real reads it when the connection is accepted).
 *
 * The option, 8 bytes: kind (svc_val.toa_kind, 254 by default), length 8,
 * the client's port, the client's IPv4 address, in network byte order.
 *
 * Which packets carry it: every client-to-real packet of the connection
 * whose sequence number is the one after the client's SYN, except SYNs
 * and RSTs. That is the ACK completing the handshake, the first data
 * segment and any retransmission of either (and, while the client has
 * sent no data, its bare ACKs); once a packet with a later sequence
 * number is seen, no more. It is added only where it fits: IP header
 * without options, TCP options plus 8 within the 40-byte option space,
 * and the grown packet within the egress MTU; a packet that is due one
 * but has no room goes out unchanged and is counted (toa_skipped). While
 * a flow is due one its packets stay off the flow cache.
 *
 * It runs after the slow path has rewritten the packet and chosen where it
 * goes (client.h client_step, from the program's entry): the program's stack is full
 * at the deepest point of the slow path, so nothing here may add to it. */
#pragma once
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "csum.h"
#include "flowcache.h"
#include "hash.h"
#include "maps.h"
#include "parse.h"
#include "sched.h"

#define TOA_LEN 8
/* The longest TCP header: data offset 15 words. */
#define TCP_MAX_HDR 60
/* The headers moved to make room, in 16-bit words: Ethernet with a VLAN
 * tag, IP without options, the longest TCP header. */
#define TOA_MOVE_WORDS ((18 + 20 + TCP_MAX_HDR) / 2)

/* toa_state: where a flow of a TOA service stands. */
#define TOA_NONE 0    /* done (or never): the flow cache may take it */
#define TOA_PENDING 1 /* not this packet, but keep the flow off the cache */
#define TOA_DUE 2     /* this packet gets the option */

/* The flow's TOA state after this packet, a TCP packet of a SVC_F_TOA
 * service whose way back is `b`. Kept in the way back (nat_back.toa_seq),
 * which FULLNAT flows all have: a SYN sets it to the sequence number after
 * the SYN; a packet there is due the option; a later one ends it (0). An
 * initial sequence number of 0xffffffff stores 0 and gets no TOA: one
 * connection in 2^32. */
static __always_inline int toa_state(struct nat_back *b, __u32 seq, __u8 tcp_flags)
{
    if ((tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        b->toa_seq = seq + 1;
        return TOA_PENDING;
    }
    if (!b->toa_seq)
        return TOA_NONE;
    if (seq != b->toa_seq) {
        b->toa_seq = 0;
        return TOA_NONE;
    }
    return (tcp_flags & (TCP_SYN | TCP_RST)) ? TOA_PENDING : TOA_DUE;
}

/* Makes room for the option in a frame bpf_xdp_adjust_head has just grown
 * by 8 bytes at the front: the headers (`move` bytes: Ethernet, IP, TCP
 * with its options) move to the new front, which leaves the 8 bytes after
 * the TCP options free for it. */
static __always_inline int toa_make_room(struct xdp_md *ctx, __u32 move)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    for (__u32 i = 0; i < TOA_MOVE_WORDS; i++) {
        if (i * 2 >= move)
            break;
        __u16 *w = data + i * 2;
        if ((void *)(w + 1 + TOA_LEN / 2) > data_end)
            return XDP_DROP;
        w[0] = w[TOA_LEN / 2];
    }
    return CONTINUE;
}

/* Writes the option (the client's port and address) after the TCP options
 * of the moved headers and fixes the IP total length, IP checksum, TCP
 * data offset and TCP checksum. `doff` is the old data offset. */
static __always_inline int toa_write(struct pkt *p, void *data_end, __u32 doff, __u8 kind, __be32 client,
                                     __be16 cport)
{
    struct iphdr *ip = p->ip;
    struct tcphdr *tcp = p->l4;
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end)
        return XDP_DROP;
    __u8 *opt = (void *)tcp + (doff & 0xf) * 4;
    if ((void *)(opt + TOA_LEN) > data_end)
        return XDP_DROP;
    opt[0] = kind;
    opt[1] = TOA_LEN;
    __builtin_memcpy(opt + 2, &cport, 2);
    __builtin_memcpy(opt + 4, &client, 4);
    __u32 w0, w1;
    __builtin_memcpy(&w0, opt, 4);
    __builtin_memcpy(&w1, opt + 4, 4);

    __u16 tot = bpf_ntohs(ip->tot_len);
    __u16 tcp_len = tot - sizeof(struct iphdr);
    __u16 *doff_word = (void *)tcp + 12;
    __u16 old_doff_word = *doff_word;
    tcp->doff = doff + TOA_LEN / 4;
    /* The pseudo header's TCP length grows with the segment. */
    __u32 d_tcp = csum_diff16(bpf_htons(tcp_len), bpf_htons(tcp_len + TOA_LEN)) +
                  csum_diff16(old_doff_word, *doff_word) + csum_diff32(0, w0) + csum_diff32(0, w1);
    tcp->check = csum_apply(tcp->check, d_tcp);
    ip_set_tot_len(ip, tot + TOA_LEN);
    return CONTINUE;
}

/* Adds the option, for the client of way back `b`, to a packet rewritten
 * for the real and about to leave by `ifindex` with action `act`: `act`
 * back, with or without the option (no room: counted). */
static __always_inline int toa_add(struct xdp_md *ctx, struct pkt *p, struct nat_back *b, __u8 kind, __u32 ifindex,
                                   int act)
{
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = p->ip;
    struct tcphdr *tcp = p->l4;
    if ((void *)(ip + 1) > data_end || (void *)(tcp + 1) > data_end)
        return XDP_DROP;
    /* No IP options (they would have to move too), the TCP options plus
     * ours within 40 bytes, and the grown packet within the egress MTU. */
    __u32 doff = tcp->doff;
    __u32 mtu_len = 0;
    if (ip->ihl != 5 || doff * 4 + TOA_LEN > TCP_MAX_HDR ||
        bpf_check_mtu(ctx, ifindex, &mtu_len, TOA_LEN, 0) != BPF_MTU_CHK_RET_SUCCESS) {
        count(STAT_TOA_SKIPPED);
        return act;
    }
    __be32 client = b->client;
    __be16 cport = b->cport;
    __u32 move = p->l2_len + sizeof(struct iphdr) + doff * 4;
    if (bpf_xdp_adjust_head(ctx, -TOA_LEN)) {
        count(STAT_TOA_SKIPPED);
        return act;
    }
    int err = toa_make_room(ctx, move);
    if (err == CONTINUE)
        err = pkt_refind(ctx, p);
    if (err == CONTINUE)
        err = toa_write(p, (void *)(long)ctx->data_end, doff, kind, client, cport);
    if (err != CONTINUE)
        return err;
    count(STAT_TOA_ADDED);
    return act;
}

/* The flow cache keeps no entry for the client's flow of way back `b` (its
 * next packet takes the slow path, where its TOA is looked at again). */
static __always_inline void toa_uncache(struct globals *g, struct nat_back *b)
{
    struct flow_cache_entry *e = cache_entry_of(g, b);
    if (e)
        e->gen = 0;
}

