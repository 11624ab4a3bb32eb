//! Flow hashes: which slot a packet's flow uses. The XDP program computes
//! the same values in C, so they are defined bit-exactly (see
//! [`flow_hash`]) with 32-bit integer arithmetic only.

use std::net::Ipv4Addr;

const JHASH_INITVAL: u32 = 0xdead_beef;

/// The hash of a 5-tuple, for [`Table::lookup`](crate::Table::lookup).
///
/// Bob Jenkins' lookup3 final mix, exactly as the Linux kernel's
/// `include/linux/jhash.h` defines `jhash_3words` (a header eBPF programs
/// commonly carry a copy of): `jhash_3words(src, dst, (sport << 16) | dport,
/// proto)`, where the addresses are numbers (192.0.2.1 is 0xc0000201, i.e.
/// `bpf_ntohl(iph->saddr)`) and so are the ports (`bpf_ntohs`). For a
/// protocol without ports, pass 0 for both. In C, with every `+` and `-`
/// wrapping modulo 2^32:
///
/// ```c
/// #define rol32(x, k) (((x) << (k)) | ((x) >> (32 - (k))))
/// #define JHASH_INITVAL 0xdeadbeef
///
/// static __u32 jhash_nwords(__u32 a, __u32 b, __u32 c, __u32 initval)
/// {
///     a += initval; b += initval; c += initval;
///     c ^= b; c -= rol32(b, 14);
///     a ^= c; a -= rol32(c, 11);
///     b ^= a; b -= rol32(a, 25);
///     c ^= b; c -= rol32(b, 16);
///     a ^= c; a -= rol32(c, 4);
///     b ^= a; b -= rol32(a, 14);
///     c ^= b; c -= rol32(b, 24);
///     return c;
/// }
/// #define jhash_3words(a, b, c, iv) jhash_nwords(a, b, c, (iv) + JHASH_INITVAL + (3 << 2))
/// #define jhash_1word(a, iv)        jhash_nwords(a, 0, 0, (iv) + JHASH_INITVAL + (1 << 2))
///
/// __u32 flow_hash(__u32 saddr, __u32 daddr, __u16 sport, __u16 dport, __u8 proto)
/// {
///     return jhash_3words(saddr, daddr, ((__u32)sport << 16) | dport, proto);
/// }
/// __u32 source_hash(__u32 saddr) { return jhash_1word(saddr, 0); }
/// ```
///
/// The slot is then `hash % M`. Test vectors, checked against that C
/// compiled with clang:
///
/// | src | dst | sport | dport | proto | hash |
/// |---|---|---|---|---|---|
/// | 0.0.0.0 | 0.0.0.0 | 0 | 0 | 0 | `0x1b68e557` |
/// | 192.0.2.1 | 198.51.100.10 | 40000 | 80 | 6 | `0x19737b76` |
/// | 192.0.2.1 | 198.51.100.10 | 40000 | 80 | 17 | `0x2abf7cd4` |
/// | 192.0.2.1 | 198.51.100.10 | 40001 | 80 | 6 | `0xdb0ffdfb` |
/// | 198.51.100.10 | 192.0.2.1 | 80 | 40000 | 6 | `0x99fe70bf` |
/// | 10.1.2.3 | 198.51.100.10 | 12345 | 443 | 6 | `0xfafbbb4a` |
/// | 10.1.2.3 | 198.51.100.10 | 0 | 0 | 1 | `0xe4c82660` |
/// | 255.255.255.255 | 255.255.255.255 | 65535 | 65535 | 255 | `0xbbf7e512` |
///
/// The same vectors are asserted in `tests/golden.rs`: they are the
/// compatibility contract with the C side.
pub fn flow_hash(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, proto: u8) -> u32 {
    let ports = (u32::from(sport) << 16) | u32::from(dport);
    jhash_3words(u32::from(src), u32::from(dst), ports, u32::from(proto))
}

/// The hash of the source address alone, for services that keep each
/// client on one backend (`-s sh`-like): `jhash_1word(src, 0)`, with `src`
/// as a number as in [`flow_hash`]. Test vectors (also in `tests/golden.rs`):
///
/// | src | hash |
/// |---|---|
/// | 0.0.0.0 | `0x049396b8` |
/// | 192.0.2.1 | `0x751c0de7` |
/// | 10.1.2.3 | `0x33172132` |
/// | 255.255.255.255 | `0x9b11c75b` |
pub fn source_hash(src: Ipv4Addr) -> u32 {
    jhash_1word(u32::from(src), 0)
}

fn jhash_3words(a: u32, b: u32, c: u32, initval: u32) -> u32 {
    jhash_nwords(
        a,
        b,
        c,
        initval.wrapping_add(JHASH_INITVAL).wrapping_add(3 << 2),
    )
}

fn jhash_1word(a: u32, initval: u32) -> u32 {
    jhash_nwords(
        a,
        0,
        0,
        initval.wrapping_add(JHASH_INITVAL).wrapping_add(1 << 2),
    )
}

fn jhash_nwords(a: u32, b: u32, c: u32, initval: u32) -> u32 {
    let (mut a, mut b, mut c) = (
        a.wrapping_add(initval),
        b.wrapping_add(initval),
        c.wrapping_add(initval),
    );
    c = (c ^ b).wrapping_sub(b.rotate_left(14));
    a = (a ^ c).wrapping_sub(c.rotate_left(11));
    b = (b ^ a).wrapping_sub(a.rotate_left(25));
    c = (c ^ b).wrapping_sub(b.rotate_left(16));
    a = (a ^ c).wrapping_sub(c.rotate_left(4));
    b = (b ^ a).wrapping_sub(a.rotate_left(14));
    (c ^ b).wrapping_sub(b.rotate_left(24))
}
