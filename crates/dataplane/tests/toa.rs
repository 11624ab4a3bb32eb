//! FULLNAT TOA (bpf/toa.h) through BPF_PROG_TEST_RUN: the client's address
//! and port in a TCP option on the packets at the sequence number after
//! the SYN, checksums valid; no option where it does not fit (counted).

mod common;

use common::fib::*;
use common::*;
use std::net::Ipv4Addr;
use xlvs_dataplane::{Dataplane, Forward, ServiceSpec, XDP_TX};

const ISN: u32 = 1000;
const CPORT: u16 = 40000;

/// A client's TCP frame with sequence number `seq`, TCP options `opts`
/// (a multiple of 4 bytes) and `payload`, checksums recomputed.
fn segment(flags: u8, seq: u32, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    tagged(None, flags, seq, opts, payload)
}

/// `segment` with an 802.1Q tag if `vlan`.
fn tagged(vlan: Option<u16>, flags: u8, seq: u32, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let pkt = Pkt {
        payload: Vec::new(),
        vlan,
        ..tcp(CLIENT, CPORT, VIP, 80, flags)
    };
    let mut f = pkt.frame();
    let o = l3_offset(&f);
    f[o + 24..o + 28].copy_from_slice(&seq.to_be_bytes());
    f[o + 32] = ((20 + opts.len() as u8) / 4) << 4;
    f.extend_from_slice(opts);
    f.extend_from_slice(payload);
    let total = (f.len() - o) as u16;
    f[o + 2..o + 4].copy_from_slice(&total.to_be_bytes());
    f[o + 10..o + 12].copy_from_slice(&[0, 0]);
    let c = csum(&f[o..o + 20]);
    f[o + 10..o + 12].copy_from_slice(&c.to_be_bytes());
    f[o + 36..o + 38].copy_from_slice(&[0, 0]);
    let mut pseudo = f[o + 12..o + 20].to_vec();
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(total - 20).to_be_bytes());
    pseudo.extend_from_slice(&f[o + 20..]);
    let c = csum(&pseudo);
    f[o + 36..o + 38].copy_from_slice(&c.to_be_bytes());
    f
}

/// The TOA option in a forwarded frame (kind, port, address), if any;
/// asserts both checksums.
fn toa_of(frame: &[u8], kind: u8) -> Option<(u16, Ipv4Addr)> {
    let ip = &frame[l3_offset(frame)..];
    assert!(ip_csum_ok(ip), "IP checksum");
    assert!(l4_csum_ok(ip), "TCP checksum");
    let doff = usize::from(ip[32] >> 4) * 4;
    let mut opts = &ip[40..20 + doff];
    while let [k, rest @ ..] = opts {
        match *k {
            0 => break,
            1 => opts = rest,
            _ => {
                let len = usize::from(rest[0]);
                if *k == kind {
                    assert_eq!(len, 8);
                    return Some((port(&opts[2..4]), addr(&opts[4..8])));
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

fn toa_service(kind: u8) -> Dataplane {
    let mut dp = load(Forward::Fullnat, 8080, 6);
    dp.set_service(&ServiceSpec {
        toa: Some(kind),
        ..spec(Forward::Fullnat, 8080, 6)
    })
    .unwrap();
    dp
}

#[test]
fn the_ack_and_first_data_segment_carry_the_client() {
    let ns = director_ns("toa");
    let _in = ns.enter();
    // The flow cache is per CPU: one CPU, so a hit is a hit.
    stay_on_one_cpu();
    let dp = toa_service(254);
    let client = Some((CPORT, CLIENT.parse().unwrap()));
    // timestamps (NOP NOP TS) as Linux sends them
    let ts = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];

    let send = |f: Vec<u8>| {
        let r = through(&dp, &ns, &f);
        assert_eq!(r.action, XDP_TX);
        r.packet
    };
    let syn = send(segment(SYN, ISN, &[2, 4, 5, 0xb4], b""));
    assert_eq!(toa_of(&syn, 254), None, "never on a SYN");
    let ack = send(segment(ACK, ISN + 1, &ts, b""));
    assert_eq!(toa_of(&ack, 254), client, "the handshake's ACK");
    assert_eq!(ack.len(), 14 + 20 + 20 + 12 + 8);
    let data = segment(ACK, ISN + 1, &ts, b"GET / HTTP/1.0\r\n\r\n");
    let out = send(data.clone());
    assert_eq!(toa_of(&out, 254), client, "the first data segment");
    assert_eq!(&out[out.len() - 18..], b"GET / HTTP/1.0\r\n\r\n");
    let again = send(data.clone());
    assert_eq!(toa_of(&again, 254), client, "its retransmission");
    // Until then the flow stayed off the flow cache (its SYN's entry was
    // cleared): each packet was looked at.
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 0);
    let next = segment(ACK, ISN + 19, &ts, b"more");
    assert_eq!(
        toa_of(&send(next.clone()), 254),
        None,
        "past the first segment"
    );
    send(next);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 1, "cached once past it");
    let late = send(data);
    assert_eq!(toa_of(&late, 254), None, "once past it, never again");
    assert_eq!(dp.stat("toa_added").unwrap(), 3);
    assert_eq!(dp.stat("toa_skipped").unwrap(), 0);
}

#[test]
fn no_room_in_the_options_sends_it_unchanged_and_counts() {
    let ns = director_ns("toafull");
    let _in = ns.enter();
    let dp = toa_service(200);
    through(&dp, &ns, &segment(SYN, ISN, &[], b""));
    // 36 bytes of options: 8 more would pass the 40-byte limit.
    let opts = [1u8; 36];
    let r = through(&dp, &ns, &segment(ACK, ISN + 1, &opts, b"hi"));
    assert_eq!(r.action, XDP_TX);
    assert_eq!(toa_of(&r.packet, 200), None);
    assert_eq!(r.packet.len(), 14 + 20 + 20 + 36 + 2, "unchanged length");
    assert_eq!(dp.stat("toa_skipped").unwrap(), 1);
    assert_eq!(dp.stat("toa_added").unwrap(), 0);
    // 32 bytes leave room: the kind configured is used.
    through(&dp, &ns, &segment(SYN, ISN, &[], b""));
    let r = through(&dp, &ns, &segment(ACK, ISN + 1, &[1u8; 32], b"hi"));
    assert!(toa_of(&r.packet, 200).is_some());
}

#[test]
fn a_packet_the_egress_mtu_cannot_grow_is_sent_unchanged() {
    let ns = director_ns("toamtu");
    let _in = ns.enter();
    ns.run("link set in0 mtu 1500");
    let dp = toa_service(254);
    through(&dp, &ns, &segment(SYN, ISN, &[], b""));
    let full = vec![b'x'; 1500 - 40];
    let r = through(&dp, &ns, &segment(ACK, ISN + 1, &[], &full));
    assert_eq!(r.action, XDP_TX);
    assert_eq!(toa_of(&r.packet, 254), None);
    assert_eq!(dp.stat("toa_skipped").unwrap(), 1);
}

#[test]
fn services_without_toa_send_none() {
    let ns = director_ns("notoa");
    let _in = ns.enter();
    let dp = load(Forward::Fullnat, 8080, 6);
    through(&dp, &ns, &segment(SYN, ISN, &[], b""));
    let r = through(&dp, &ns, &segment(ACK, ISN + 1, &[], b"hi"));
    assert_eq!(toa_of(&r.packet, 254), None);
    assert_eq!(dp.stat("toa_added").unwrap(), 0);
}

#[test]
fn a_vlan_tagged_frame_gets_it_too() {
    let ns = director_ns("toavlan");
    let _in = ns.enter();
    let dp = toa_service(254);
    through(&dp, &ns, &tagged(Some(7), SYN, ISN, &[], b""));
    let r = through(&dp, &ns, &tagged(Some(7), ACK, ISN + 1, &[], b"hi"));
    assert_eq!(r.action, XDP_TX);
    assert_eq!(&r.packet[12..16], &[0x81, 0x00, 0, 7], "the tag kept");
    assert_eq!(
        toa_of(&r.packet, 254),
        Some((CPORT, CLIENT.parse().unwrap()))
    );
    assert_eq!(&r.packet[r.packet.len() - 2..], b"hi");
}
