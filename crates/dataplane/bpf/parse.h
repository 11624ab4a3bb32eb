/* Packet parsing: Ethernet, one 802.1Q tag, IPv4 (with options), TCP,
 * UDP, and ICMP errors about a TCP or UDP flow. Every pointer is checked
 * against data_end where it is used. */
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "consts.h"
#include "maps.h"

struct vlan_hdr {
    __be16 tci;
    __be16 proto;
};

/* The ICMP header (linux/icmp.h drags in libc headers BPF cannot use). */
struct icmp_hdr {
    __u8 type;
    __u8 code;
    __u16 checksum;
    __be32 rest;
};

/* What the parser learned about a packet. */
struct pkt {
    struct ethhdr *eth;
    struct iphdr *ip;
    void *l4;          /* TCP/UDP header, or the ICMP header */
    struct iphdr *quoted; /* ICMP error: the header it quotes */
    /* The client's flow. For an ICMP error, the quoted packet reversed:
     * an error about a packet we sent to a client names the client's
     * flow, one about a packet to a real names the real's reply. */
    struct flow_key key;
    __u32 hash;        /* flow_hash of `key`: Maglev, the flow cache's slot,
                          TUN sources and FULLNAT ports all use it */
    __u8 tcp_flags;
    __u8 icmp;         /* an ICMP error about `key` */
    /* Here, not first: packed after the bytes above, the struct is 8 bytes
     * shorter, which the program's full stack needs (toa.h). */
    __u16 l2_len;      /* 14, or 18 with a VLAN tag */
};

/* ICMP "destination unreachable" (fragmentation needed among them) quoting
 * a TCP or UDP packet: `p` describes the quoted flow, reversed. Other ICMP
 * passes to the kernel. */
static __always_inline int parse_icmp(struct pkt *p, struct iphdr *ip, void *l4, void *data_end)
{
    struct icmp_hdr *icmp = l4;
    if ((void *)(icmp + 1) > data_end) {
        count(STAT_PASS_MALFORMED);
        return XDP_PASS;
    }
    if (icmp->type != ICMP_DEST_UNREACH) {
        count(STAT_PASS_ICMP);
        return XDP_PASS;
    }
    struct iphdr *q = (void *)(icmp + 1);
    /* The quoted header and the 8 bytes after it that hold the ports;
     * quoted IP options are rare enough to leave to the kernel. */
    if ((void *)(q + 1) + 8 > data_end || q->ihl != 5 || q->version != 4) {
        count(STAT_PASS_ICMP);
        return XDP_PASS;
    }
    /* It quotes a packet from the address it is sent to. */
    if (q->saddr != ip->daddr || (q->protocol != IPPROTO_TCP && q->protocol != IPPROTO_UDP)) {
        count(STAT_PASS_ICMP);
        return XDP_PASS;
    }
    __be16 *ports = (void *)(q + 1);
    p->key.src = q->daddr;
    p->key.dst = q->saddr;
    p->key.sport = ports[1];
    p->key.dport = ports[0];
    p->key.proto = q->protocol;
    p->quoted = q;
    p->icmp = 1;
    return CONTINUE;
}

/* Fills `p`, or returns the action for a packet we do not handle. */
static __always_inline int parse(struct xdp_md *ctx, struct pkt *p)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end) {
        count(STAT_PASS_MALFORMED);
        return XDP_PASS;
    }
    p->eth = eth;
    p->l2_len = sizeof(*eth);
    __be16 proto = eth->h_proto;
    if (proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_hdr *vlan = (void *)(eth + 1);
        if ((void *)(vlan + 1) > data_end) {
            count(STAT_PASS_MALFORMED);
            return XDP_PASS;
        }
        proto = vlan->proto;
        p->l2_len += sizeof(*vlan);
    }
    if (proto != bpf_htons(ETH_P_IP)) {
        count(STAT_PASS_NOT_IPV4);
        return XDP_PASS;
    }

    struct iphdr *ip = data + p->l2_len;
    if ((void *)(ip + 1) > data_end) {
        count(STAT_PASS_MALFORMED);
        return XDP_PASS;
    }
    __u32 ihl = ip->ihl * 4;
    if (ip->version != 4 || ihl < sizeof(*ip)) {
        count(STAT_PASS_MALFORMED);
        return XDP_PASS;
    }
    p->ip = ip;
    p->key.src = ip->saddr;
    p->key.dst = ip->daddr;
    p->key.proto = ip->protocol;
    p->key.sport = 0;
    p->key.dport = 0;
    p->tcp_flags = 0;

    /* Fragments go to the kernel (see docs/dataplane.md). */
    if (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)) {
        count(STAT_PASS_FRAGMENT);
        return XDP_PASS;
    }

    void *l4 = (void *)ip + ihl;
    p->l4 = l4;
    if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = l4;
        if ((void *)(tcp + 1) > data_end) {
            count(STAT_PASS_MALFORMED);
            return XDP_PASS;
        }
        p->key.sport = tcp->source;
        p->key.dport = tcp->dest;
        /* flags byte: offset 13 of the TCP header */
        p->tcp_flags = ((__u8 *)tcp)[13];
    } else if (ip->protocol == IPPROTO_UDP) {
        struct udphdr *udp = l4;
        if ((void *)(udp + 1) > data_end) {
            count(STAT_PASS_MALFORMED);
            return XDP_PASS;
        }
        p->key.sport = udp->source;
        p->key.dport = udp->dest;
    } else if (ip->protocol == IPPROTO_ICMP) {
        return parse_icmp(p, ip, l4, data_end);
    } else {
        count(STAT_PASS_NOT_VIP);
        return XDP_PASS;
    }
    return CONTINUE;
}

/* Points `p`'s header pointers into the frame again after its start moved
 * (bpf_xdp_adjust_head): the layout parse found, from the new start. For
 * TCP and UDP packets: an ICMP error's quoted header is not found again. */
static __always_inline int pkt_refind(struct xdp_md *ctx, struct pkt *p)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = data + (p->l2_len == 18 ? 18 : 14);
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    p->eth = data;
    p->ip = ip;
    p->l4 = (void *)ip + ip->ihl * 4;
    p->quoted = 0;
    return CONTINUE;
}
