//! The IPIP decapsulation program (bpf/decap.c) on crafted frames through
//! BPF_PROG_TEST_RUN: what it strips, and everything it leaves alone.

mod common;

use common::*;
use std::net::Ipv4Addr;
use xlvs_dataplane::decap::{self, Decap, MAX_ADDRESSES};
use xlvs_dataplane::XDP_PASS;

/// The real server's address: IPIP sent here is decapsulated.
const REAL: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 21);
const DIRECTOR: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 11);
const VIP: &str = "192.0.2.10";

fn load(addrs: &[Ipv4Addr]) -> Decap {
    require_root();
    Decap::load(addrs).expect("load the decap program")
}

fn stat(d: &Decap, name: &str) -> u64 {
    d.stats()
        .unwrap()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no counter {name}"))
        .1
}

/// A 20-byte outer IPv4 header (src -> dst, protocol 4) in front of an
/// inner IPv4 packet, with a valid checksum.
fn outer_header(src: Ipv4Addr, dst: Ipv4Addr, inner_len: usize) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + inner_len) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, 64, 4, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = csum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

/// `inner` (a frame) as the director sends it to `dst`: the same L2
/// header, then the outer header, then the inner IPv4 packet.
fn encapsulate(inner: &[u8], dst: Ipv4Addr) -> Vec<u8> {
    let l3 = l3_offset(inner);
    let mut f = inner[..l3].to_vec();
    f.extend_from_slice(&outer_header(DIRECTOR, dst, inner.len() - l3));
    f.extend_from_slice(&inner[l3..]);
    f
}

/// Changes a byte of the outer header and recomputes its checksum.
fn with_outer(frame: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut f = frame.to_vec();
    let l3 = l3_offset(&f);
    f[l3 + at] = value;
    f[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
    let c = csum(&f[l3..l3 + 20]);
    f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    f
}

#[test]
fn ipip_to_us_becomes_the_inner_frame_exactly() {
    let d = load(&[REAL]);
    let cases = [
        ("tcp", tcp("203.0.113.5", 40000, VIP, 80, SYN)),
        ("udp", udp("203.0.113.5", 40000, VIP, 53)),
        (
            "tcp in VLAN 7",
            Pkt {
                vlan: Some(7),
                ..tcp("203.0.113.5", 40001, VIP, 80, ACK)
            },
        ),
        (
            "inner IP options",
            Pkt {
                ip_options: vec![0x01, 0x01, 0x01, 0x00],
                payload: vec![0xab; 1400],
                ..tcp("203.0.113.5", 40002, VIP, 443, ACK)
            },
        ),
    ];
    for (what, p) in &cases {
        let inner = p.frame();
        let r = d.run(&encapsulate(&inner, REAL)).unwrap();
        assert_eq!(r.action, XDP_PASS, "{what}");
        assert_eq!(r.packet, inner, "{what}: the inner frame, byte for byte");
    }
    assert_eq!(stat(&d, "decap"), cases.len() as u64);
}

#[test]
fn ethernet_padding_after_the_packet_stays() {
    let d = load(&[REAL]);
    let inner = Pkt {
        payload: Vec::new(),
        ..udp("203.0.113.5", 40000, VIP, 53)
    }
    .frame();
    let mut frame = encapsulate(&inner, REAL);
    frame.extend_from_slice(&[0; 6]);
    let r = d.run(&frame).unwrap();
    assert_eq!(r.action, XDP_PASS);
    assert_eq!(&r.packet[..inner.len()], &inner[..]);
    assert_eq!(r.packet.len(), inner.len() + 6);
}

#[test]
fn every_configured_address_is_ours() {
    let second = Ipv4Addr::new(10, 0, 2, 21);
    let d = load(&[REAL, second]);
    let inner = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
    for dst in [REAL, second] {
        let r = d.run(&encapsulate(&inner, dst)).unwrap();
        assert_eq!(r.packet, inner, "IPIP to {dst}");
    }
    assert_eq!(stat(&d, "decap"), 2);
}

#[test]
fn other_traffic_passes_untouched() {
    let d = load(&[REAL]);
    let inner = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
    let mut arp = inner.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let cases = [
        (
            "plain tcp to us",
            tcp("10.0.1.11", 40000, "10.0.1.21", 80, SYN).frame(),
        ),
        (
            "plain udp",
            udp("10.0.1.11", 40000, "10.0.1.21", 53).frame(),
        ),
        ("arp", arp),
        (
            "IPIP for another host",
            encapsulate(&inner, Ipv4Addr::new(10, 0, 1, 22)),
        ),
    ];
    for (what, input) in &cases {
        let r = d.run(input).unwrap();
        assert_eq!(r.action, XDP_PASS, "{what}");
        assert_eq!(&r.packet, input, "{what}: untouched");
    }
    assert_eq!(stat(&d, "decap"), 0);
    assert_eq!(stat(&d, "pass_not_ours"), 1);
}

#[test]
fn ipip_it_cannot_trust_passes_untouched() {
    let d = load(&[REAL]);
    let inner = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
    let good = encapsulate(&inner, REAL);
    let l3 = l3_offset(&good);
    let mut bad_csum = good.clone();
    bad_csum[l3 + 10] ^= 0xff;
    let mut options = good[..l3].to_vec();
    let mut hdr = outer_header(DIRECTOR, REAL, inner.len() - 14 + 4);
    hdr[0] = 0x46;
    hdr.extend_from_slice(&[1, 1, 1, 0]);
    hdr[10..12].copy_from_slice(&[0, 0]);
    let c = csum(&hdr);
    hdr[10..12].copy_from_slice(&c.to_be_bytes());
    options.extend_from_slice(&hdr);
    options.extend_from_slice(&inner[14..]);
    let mut inner_v6 = good.clone();
    inner_v6[l3 + 20] = 0x65;
    let cases = [
        ("bad outer checksum", bad_csum),
        ("outer IP options", options),
        ("outer more-fragments", with_outer(&good, 6, 0x20)),
        ("outer fragment offset", with_outer(&good, 7, 0x10)),
        (
            "outer length too long",
            with_outer(&good, 3, good[l3 + 3] + 1),
        ),
        (
            "outer length too short",
            with_outer(&good, 3, good[l3 + 3] - 1),
        ),
        ("inner not IPv4", inner_v6),
    ];
    for (what, input) in &cases {
        let r = d.run(input).unwrap();
        assert_eq!(r.action, XDP_PASS, "{what}");
        assert_eq!(&r.packet, input, "{what}: untouched");
    }
    assert_eq!(stat(&d, "decap"), 0);
    assert_eq!(stat(&d, "pass_malformed"), cases.len() as u64);
}

#[test]
fn truncated_frames_pass_untouched() {
    let d = load(&[REAL]);
    for vlan in [None, Some(7)] {
        let inner = Pkt {
            vlan,
            ..tcp("203.0.113.5", 40000, VIP, 80, SYN)
        }
        .frame();
        let full = encapsulate(&inner, REAL);
        // every prefix (the kernel refuses frames shorter than Ethernet)
        for n in 14..full.len() {
            let r = d.run(&full[..n]).unwrap();
            assert_eq!(r.action, XDP_PASS, "{n} bytes, vlan {vlan:?}");
            assert_eq!(r.packet, &full[..n], "{n} bytes, vlan {vlan:?}: untouched");
        }
    }
    assert_eq!(stat(&d, "decap"), 0);
}

#[test]
fn limits_and_bad_pins_give_clear_errors() {
    require_root();
    let many: Vec<Ipv4Addr> = (0..=MAX_ADDRESSES as u32)
        .map(|i| Ipv4Addr::from(0x0a00_0000 + i))
        .collect();
    let err = Decap::load(&many).err().expect("too many addresses");
    assert!(err.to_string().contains("at most 64"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let err = decap::detach(dir.path()).unwrap_err();
    assert!(err.to_string().contains("no attachment pinned"), "{err}");
    assert!(dir.path().exists(), "a directory without our pin is kept");

    // a pin directory that is not on a bpf filesystem: refused before
    // anything is attached
    let mut d = load(&[REAL]);
    let pins = dir.path().join("decap");
    let err = d
        .attach("lo", aya::programs::XdpMode::Skb, Some(&pins))
        .unwrap_err();
    assert!(err.to_string().contains("bpf filesystem"), "{err}");
    assert!(!pins.exists());

    let err = decap::interface_addresses("nosuch0").unwrap_err();
    assert!(err.to_string().contains("no such interface"), "{err}");
}
