// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/* xdp_pass: passes every frame to the kernel, untouched. Not part of a
 * director: labs attach it in native mode to the veth ends facing a
 * director's XDP interface, because veth hands XDP_TX frames on only to a
 * peer that runs an XDP program (the program gives the peer the receive
 * ring those frames go into). A switch port or router NIC needs nothing
 * of the kind. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
