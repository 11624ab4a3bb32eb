//! FULLNAT PROXY protocol (bpf/proxy.h) through BPF_PROG_TEST_RUN: the
//! header, byte for byte, on the packets at the sequence number after the
//! client's SYN until the real acknowledges it; the client's sequence
//! numbers shifted up, the real's acknowledgements (and SACK blocks)
//! down; both checksums valid on every packet (recomputed here); the same
//! with the flow cache, from a peer's entry, and across 2^32.

mod common;

use common::fib::*;
use common::*;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use xlvs_dataplane::abi::{FlowKey, SyncOp, CT_ACTIVE};
use xlvs_dataplane::{
    Dataplane, Forward, Limits, PeerEntry, ProxyShift, ProxyVersion, ServiceSpec, XDP_DROP, XDP_TX,
};

const ISN: u32 = 1000;
const CPORT: u16 = 40000;
const REAL: &str = "10.0.1.21";
const REAL_ISN: u32 = 7_000_000;

/// A TCP segment as it is on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seg {
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    opts: Vec<u8>,
    payload: Vec<u8>,
}

impl Seg {
    /// The client's segment to the VIP.
    fn client(cport: u16, flags: u8, seq: u32, payload: &[u8]) -> Seg {
        Seg {
            src: CLIENT.parse().unwrap(),
            sport: cport,
            dst: VIP.parse().unwrap(),
            dport: 80,
            flags,
            seq,
            ack: REAL_ISN + 1,
            opts: Vec::new(),
            payload: payload.to_vec(),
        }
    }

    /// The real's segment to the local address and port it saw.
    fn reply(lport: u16, flags: u8, ack: u32, opts: &[u8]) -> Seg {
        Seg {
            src: REAL.parse().unwrap(),
            sport: 8080,
            dst: LOCAL.parse().unwrap(),
            dport: lport,
            flags,
            seq: REAL_ISN + 1,
            ack,
            opts: opts.to_vec(),
            payload: Vec::new(),
        }
    }

    /// The frame, checksums computed.
    fn frame(&self) -> Vec<u8> {
        assert_eq!(self.opts.len() % 4, 0);
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&self.sport.to_be_bytes());
        tcp.extend_from_slice(&self.dport.to_be_bytes());
        tcp.extend_from_slice(&self.seq.to_be_bytes());
        tcp.extend_from_slice(&self.ack.to_be_bytes());
        tcp.push(((20 + self.opts.len() as u8) / 4) << 4);
        tcp.push(self.flags);
        tcp.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(&self.opts);
        tcp.extend_from_slice(&self.payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&self.src.octets());
        pseudo.extend_from_slice(&self.dst.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let c = csum(&pseudo);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&self.src.octets());
        ip.extend_from_slice(&self.dst.octets());
        let c = csum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut f = Vec::new();
        f.extend_from_slice(&DIRECTOR_MAC);
        f.extend_from_slice(&ROUTER_MAC);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&tcp);
        f
    }

    /// A forwarded frame read back; asserts the IP and TCP checksums.
    fn of(frame: &[u8]) -> Seg {
        let ip = &frame[l3_offset(frame)..];
        assert!(ip_csum_ok(ip), "IP checksum");
        assert!(l4_csum_ok(ip), "TCP checksum");
        let total = usize::from(port(&ip[2..4]));
        let t = &ip[20..total];
        let doff = usize::from(t[12] >> 4) * 4;
        Seg {
            src: addr(&ip[12..16]),
            sport: port(&t[0..2]),
            dst: addr(&ip[16..20]),
            dport: port(&t[2..4]),
            flags: t[13],
            seq: u32::from_be_bytes(t[4..8].try_into().unwrap()),
            ack: u32::from_be_bytes(t[8..12].try_into().unwrap()),
            opts: t[20..doff].to_vec(),
            payload: t[doff..].to_vec(),
        }
    }
}

/// The v2 header for the client's flow from port `cport`, written here
/// from the specification (not from the program).
fn v2(cport: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0, 12]);
    h.extend_from_slice(&CLIENT.parse::<Ipv4Addr>().unwrap().octets());
    h.extend_from_slice(&VIP.parse::<Ipv4Addr>().unwrap().octets());
    h.extend_from_slice(&cport.to_be_bytes());
    h.extend_from_slice(&80u16.to_be_bytes());
    h
}

fn v1(cport: u16) -> Vec<u8> {
    format!("PROXY TCP4 {CLIENT} {VIP} {cport} 80\r\n").into_bytes()
}

fn proxied_with(limits: Limits, version: ProxyVersion) -> Dataplane {
    let mut dp = load_with(limits, Forward::Fullnat, 8080, 6);
    dp.set_service(&ServiceSpec {
        proxy: Some(version),
        ..spec(Forward::Fullnat, 8080, 6)
    })
    .unwrap();
    dp
}

fn proxied(version: ProxyVersion) -> Dataplane {
    proxied_with(small_limits(), version)
}

/// Sends a segment through; expects XDP_TX and returns what left.
fn send(dp: &Dataplane, ns: &common::netns::FibNs, s: &Seg) -> Seg {
    let r = through(dp, ns, &s.frame());
    assert_eq!(r.action, XDP_TX, "{s:?}");
    Seg::of(&r.packet)
}

/// SACK option with NOPs before it (`nops` of them, then padding to a
/// multiple of 4) and `blocks`.
fn sack(nops: usize, blocks: &[(u32, u32)]) -> Vec<u8> {
    let mut o = vec![1u8; nops];
    o.push(5);
    o.push(2 + 8 * blocks.len() as u8);
    for (l, r) in blocks {
        o.extend_from_slice(&l.to_be_bytes());
        o.extend_from_slice(&r.to_be_bytes());
    }
    while !o.len().is_multiple_of(4) {
        o.push(0);
    }
    o
}

/// The SACK blocks of an options field.
fn sack_of(opts: &[u8]) -> Vec<(u32, u32)> {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            k => {
                let l = usize::from(opts[i + 1]);
                if k == 5 {
                    return opts[i + 2..i + l]
                        .chunks(8)
                        .map(|c| {
                            (
                                u32::from_be_bytes(c[0..4].try_into().unwrap()),
                                u32::from_be_bytes(c[4..8].try_into().unwrap()),
                            )
                        })
                        .collect();
                }
                i += l;
            }
        }
    }
    Vec::new()
}

/// One connection's life against `dp`, asserting as it goes, for client
/// port `cport`, ISN `isn` and header `hdr`.
fn conversation(dp: &Dataplane, ns: &common::netns::FibNs, cport: u16, isn: u32, hdr: &[u8]) {
    let len = hdr.len() as u32;
    let a = isn.wrapping_add(1);
    let syn = send(dp, ns, &Seg::client(cport, SYN, isn, b""));
    assert_eq!((syn.seq, syn.payload.len()), (isn, 0), "the SYN unchanged");
    let lport = syn.sport;
    // The SYN-ACK's ack (ISN + 1) is unchanged.
    let synack = send(dp, ns, &Seg::reply(lport, SYN | ACK, a, &[]));
    assert_eq!(synack.ack, a);
    // The handshake's ACK carries the header alone.
    let ack = send(dp, ns, &Seg::client(cport, ACK, a, b""));
    assert_eq!((ack.seq, ack.payload.as_slice()), (a, hdr), "handshake ACK");
    // The first data segment: the header, then its data; again if sent
    // again.
    let get = Seg::client(cport, ACK, a, b"GET / HTTP/1.0\r\n\r\n");
    let mut want = hdr.to_vec();
    want.extend_from_slice(&get.payload);
    for _ in 0..2 {
        let out = send(dp, ns, &get);
        assert_eq!((out.seq, &out.payload), (a, &want), "first data segment");
        assert_eq!(out.ack, REAL_ISN + 1, "the client's ack unchanged");
    }
    // The real acknowledges part of the header: the client sees ISN + 1.
    let part = send(
        dp,
        ns,
        &Seg::reply(lport, ACK, a.wrapping_add(len / 2), &[]),
    );
    assert_eq!(part.ack, a, "partly acknowledged header");
    // Still due: the header again.
    let out = send(dp, ns, &get);
    assert_eq!(out.payload, want, "not acknowledged yet");
    // The whole header and 5 bytes of data, with a SACK block beyond.
    let n = get.payload.len() as u32;
    let reply = Seg::reply(
        lport,
        ACK,
        a.wrapping_add(len + 5),
        &sack(2, &[(a.wrapping_add(len + 10), a.wrapping_add(len + n))]),
    );
    let back = send(dp, ns, &reply);
    assert_eq!(back.ack, a.wrapping_add(5), "ack shifted back");
    assert_eq!(
        sack_of(&back.opts),
        vec![(a.wrapping_add(10), a.wrapping_add(n))]
    );
    // Acknowledged: the segment sent again is only shifted.
    let out = send(dp, ns, &get);
    assert_eq!(
        (out.seq, &out.payload),
        (a.wrapping_add(len), &get.payload),
        "no header once acknowledged"
    );
    let next = send(dp, ns, &Seg::client(cport, ACK, a.wrapping_add(n), b"more"));
    assert_eq!(next.seq, a.wrapping_add(n + len));
    assert_eq!(next.payload, b"more");
    // SACK at an odd offset (one NOP), four blocks.
    let blocks: Vec<(u32, u32)> = (0..4)
        .map(|i| {
            (
                a.wrapping_add(len + 100 * i),
                a.wrapping_add(len + 100 * i + 50),
            )
        })
        .collect();
    let back = send(
        dp,
        ns,
        &Seg::reply(lport, ACK, a.wrapping_add(len + n), &sack(1, &blocks)),
    );
    assert_eq!(back.ack, a.wrapping_add(n));
    let want: Vec<(u32, u32)> = (0..4)
        .map(|i| (a.wrapping_add(100 * i), a.wrapping_add(100 * i + 50)))
        .collect();
    assert_eq!(sack_of(&back.opts), want, "odd-aligned SACK blocks");
    let fin = send(
        dp,
        ns,
        &Seg::client(cport, FIN | ACK, a.wrapping_add(n + 4), b""),
    );
    assert_eq!(fin.seq, a.wrapping_add(n + 4 + len));
}

#[test]
fn v2_header_and_the_shift_both_ways() {
    let ns = director_ns("pxv2");
    let _in = ns.enter();
    let dp = proxied(ProxyVersion::V2);
    conversation(&dp, &ns, CPORT, ISN, &v2(CPORT));
    // handshake ACK, first segment twice, once more while partly acked
    assert_eq!(dp.stat("proxy_headers").unwrap(), 4);
    assert_eq!(dp.stat("proxy_header_alone").unwrap(), 0);
    assert_eq!(dp.stat("proxy_dropped").unwrap(), 0);
}

#[test]
fn v1_header_of_odd_and_even_lengths() {
    let ns = director_ns("pxv1");
    let _in = ns.enter();
    let dp = proxied(ProxyVersion::V1);
    for cport in [4000u16, 40000, 7, 65535] {
        let hdr = v1(cport);
        conversation(&dp, &ns, cport, ISN + u32::from(cport), &hdr);
    }
    assert_eq!(v1(4000).len() % 2, 1, "an odd length was tried");
    assert_eq!(v1(40000).len() % 2, 0, "and an even one");
}

#[test]
fn across_the_sequence_space_wrap() {
    let ns = director_ns("pxwrap");
    let _in = ns.enter();
    let dp = proxied(ProxyVersion::V2);
    // The header itself crosses 2^32, then the data.
    conversation(&dp, &ns, CPORT, u32::MAX - 10, &v2(CPORT));
    let dp = proxied(ProxyVersion::V1);
    conversation(&dp, &ns, 4000, u32::MAX, &v1(4000));
}

#[test]
fn a_first_segment_too_long_to_grow_goes_as_the_header_alone() {
    let ns = director_ns("pxmtu");
    let _in = ns.enter();
    ns.run("link set in0 mtu 1000");
    let dp = proxied(ProxyVersion::V1);
    let hdr = v1(CPORT);
    let len = hdr.len() as u32;
    let lport = send(&dp, &ns, &Seg::client(CPORT, SYN, ISN, b"")).sport;
    // 1000 bytes of IP: no room for the header.
    let data = vec![b'x'; 1000 - 40];
    let big = Seg::client(CPORT, ACK | FIN, ISN + 1, &data);
    let out = send(&dp, &ns, &big);
    assert_eq!((out.seq, &out.payload), (ISN + 1, &hdr), "the header alone");
    assert_eq!(out.flags & FIN, 0, "its FIN went with its data");
    assert_eq!(dp.stat("proxy_header_alone").unwrap(), 1);
    send(&dp, &ns, &Seg::reply(lport, ACK, ISN + 1 + len, &[]));
    // The client sends it again: shifted, whole.
    let out = send(&dp, &ns, &big);
    assert_eq!((out.seq, out.payload.len()), (ISN + 1 + len, data.len()));
    assert_eq!(out.flags & FIN, FIN);
    // Where the handshake's ACK carried the header, the long first
    // segment goes shifted, whole: the real most likely has the header.
    let cport = CPORT + 1;
    let lport = send(&dp, &ns, &Seg::client(cport, SYN, ISN, b"")).sport;
    let hdr = v1(cport);
    let ack = send(&dp, &ns, &Seg::client(cport, ACK, ISN + 1, b""));
    assert_eq!(ack.payload, hdr);
    let big = Seg::client(cport, ACK, ISN + 1, &data);
    let out = send(&dp, &ns, &big);
    assert_eq!(
        (out.seq, out.payload.len()),
        (ISN + 1 + hdr.len() as u32, data.len())
    );
    assert_eq!(dp.stat("proxy_header_alone").unwrap(), 1, "not again");
    // The handshake's ACK was lost after all: the real holds that segment
    // out of order and still acknowledges the SYN. The client's copy of
    // it goes as the header alone, the next copy shifted whole again.
    let out = send(&dp, &ns, &big);
    assert_eq!(
        (out.seq, &out.payload),
        (ISN + 1, &hdr),
        "the header alone, at last"
    );
    assert_eq!(dp.stat("proxy_header_alone").unwrap(), 2);
    let out = send(&dp, &ns, &big);
    assert_eq!(
        (out.seq, out.payload.len()),
        (ISN + 1 + hdr.len() as u32, data.len())
    );
    // Once the real acknowledges the header, copies only shift.
    send(
        &dp,
        &ns,
        &Seg::reply(lport, ACK, ISN + 1 + hdr.len() as u32, &[]),
    );
    let out = send(&dp, &ns, &big);
    assert_eq!(
        (out.seq, out.payload.len()),
        (ISN + 1 + hdr.len() as u32, data.len())
    );
    assert_eq!(dp.stat("proxy_header_alone").unwrap(), 2);
}

#[test]
fn a_peer_entry_with_a_shift_is_forwarded_as_its_owner_did() {
    let ns = director_ns("pxpeer");
    let _in = ns.enter();
    let mut dp = proxied(ProxyVersion::V2);
    let peer_local: Ipv4Addr = "10.0.1.200".parse().unwrap();
    let key = FlowKey::new(CLIENT.parse().unwrap(), CPORT, VIP.parse().unwrap(), 80, 6);
    let good = PeerEntry {
        key,
        svc: 3,
        real: dp.real_slot(3, REAL.parse().unwrap(), 8080).unwrap(),
        state: CT_ACTIVE,
        owner: "10.0.2.12".parse().unwrap(),
        nat: Some(SocketAddrV4::new(peer_local, 5555)),
        proxy: Some(ProxyShift {
            after_syn: ISN + 1,
            len: 28,
            acked: false,
        }),
        last: dp.clock().unwrap().now,
    };
    let refused = dp
        .install_peer_entry(&PeerEntry {
            proxy: None,
            ..good
        })
        .unwrap_err()
        .to_string();
    assert!(refused.contains("PROXY"), "{refused}");
    dp.install_peer_entry(&good).unwrap();
    let get = Seg::client(CPORT, ACK, ISN + 1, b"GET");
    let out = send(&dp, &ns, &get);
    assert_eq!(
        (out.sport, out.dport),
        (5555, 8080),
        "the owner's local port"
    );
    let mut want = v2(CPORT);
    want.extend_from_slice(b"GET");
    assert_eq!(out.payload, want);
    let reply = |ack| Seg {
        dst: peer_local,
        ..Seg::reply(5555, ACK, ack, &[])
    };
    assert_eq!(send(&dp, &ns, &reply(ISN + 1 + 28 + 3)).ack, ISN + 4);
    let out = send(&dp, &ns, &Seg::client(CPORT, ACK, ISN + 4, b"x"));
    assert_eq!(out.seq, ISN + 4 + 28);
    let entries: Vec<_> = dp.sync_entries().unwrap().collect();
    assert_eq!(
        entries[0].proxy(),
        Some(ProxyShift {
            acked: true,
            ..good.proxy.unwrap()
        }),
        "the acknowledgement kept in the way back"
    );
    assert_eq!(entries[0].event().proxy(), entries[0].proxy());
    // An acknowledged shift: no header at the sequence after the SYN.
    let key2 = FlowKey::new(
        CLIENT.parse().unwrap(),
        CPORT + 1,
        VIP.parse().unwrap(),
        80,
        6,
    );
    dp.install_peer_entry(&PeerEntry {
        key: key2,
        nat: Some(SocketAddrV4::new(peer_local, 5556)),
        proxy: Some(ProxyShift {
            after_syn: 77,
            len: 40,
            acked: true,
        }),
        ..good
    })
    .unwrap();
    let out = send(&dp, &ns, &Seg::client(CPORT + 1, ACK, 77, b"hi"));
    assert_eq!((out.seq, &out.payload[..]), (117, &b"hi"[..]));
}

#[test]
fn the_new_entry_is_reported_with_its_shift() {
    let ns = director_ns("pxsync");
    let _in = ns.enter();
    let mut dp = proxied(ProxyVersion::V1);
    dp.set_sync(Some(Duration::from_secs(100))).unwrap();
    let mut ev = dp.take_sync_events().unwrap();
    send(&dp, &ns, &Seg::client(CPORT, SYN, ISN, b""));
    let got: Vec<_> = ev.drain().collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].op(), Some(SyncOp::New));
    assert_eq!(
        got[0].proxy(),
        Some(ProxyShift {
            after_syn: ISN + 1,
            len: v1(CPORT).len() as u8,
            acked: false
        })
    );
    assert_eq!(
        ProxyVersion::V1.header_len(CLIENT.parse().unwrap(), CPORT, VIP.parse().unwrap(), 80),
        v1(CPORT).len() as u8
    );
}

/// A stream of packets through a director with the flow cache and one
/// without: the same bytes out, and the cache used once the header is
/// acknowledged.
#[test]
fn the_flow_cache_shifts_as_the_slow_path_does() {
    let ns = director_ns("pxcache");
    let _in = ns.enter();
    stay_on_one_cpu();
    for version in [ProxyVersion::V2, ProxyVersion::V1] {
        let limits = |n| Limits {
            flow_cache: n,
            ..small_limits()
        };
        let cached = proxied_with(limits(1024), version);
        let plain = proxied_with(limits(0), version);
        let both = |s: &Seg| {
            let a = through(&cached, &ns, &s.frame());
            let b = through(&plain, &ns, &s.frame());
            assert_eq!(a.action, b.action);
            assert_eq!(a.packet, b.packet, "{s:?}");
            assert_eq!(a.action, XDP_TX);
            Seg::of(&a.packet)
        };
        let lport = both(&Seg::client(CPORT, SYN, ISN, b"")).sport;
        let hdr = match version {
            ProxyVersion::V2 => v2(CPORT),
            ProxyVersion::V1 => v1(CPORT),
        };
        let len = hdr.len() as u32;
        both(&Seg::reply(lport, SYN | ACK, ISN + 1, &[]));
        both(&Seg::client(CPORT, ACK, ISN + 1, b""));
        both(&Seg::client(CPORT, ACK, ISN + 1, b"abc"));
        assert_eq!(cached.stat("flow_cache_hit").unwrap(), 0, "off while due");
        let mut seq = ISN + 4;
        for i in 0..4u32 {
            let ack = ISN + 1 + len + 3 + i;
            let sk = sack(2, &[(ack + 10, ack + 20)]);
            let back = both(&Seg::reply(lport, ACK, ack, &sk));
            assert_eq!(back.ack, ack - len);
            let out = both(&Seg::client(CPORT, ACK, seq, b"d"));
            assert_eq!(out.seq, seq + len);
            seq += 1;
        }
        assert!(
            cached.stat("flow_cache_hit").unwrap() >= 4,
            "{}",
            cached.stat("flow_cache_hit").unwrap()
        );
        let rst = both(&Seg::client(CPORT, RST | ACK, seq, b""));
        assert_eq!(rst.seq, seq + len);
    }
}

#[test]
fn toa_and_proxy_are_exclusive_and_proxy_is_fullnat_tcp_only() {
    let ns = director_ns("pxbad");
    let _in = ns.enter();
    let mut dp = load(Forward::Fullnat, 8080, 6);
    let both = ServiceSpec {
        toa: Some(254),
        proxy: Some(ProxyVersion::V2),
        ..spec(Forward::Fullnat, 8080, 6)
    };
    let e = dp.set_service(&both).unwrap_err().to_string();
    assert!(e.contains("exclusive"), "{e}");
    let nat = ServiceSpec {
        proxy: Some(ProxyVersion::V1),
        ..spec(Forward::Nat, 8080, 6)
    };
    assert!(dp.set_service(&nat).is_err());
    let udp = ServiceSpec {
        proxy: Some(ProxyVersion::V1),
        ..spec(Forward::Fullnat, 8080, 17)
    };
    assert!(dp.set_service(&udp).is_err());
    // The service as it was: no header, no shift.
    let lport = send(&dp, &ns, &Seg::client(CPORT, SYN, ISN, b"")).sport;
    let out = send(&dp, &ns, &Seg::client(CPORT, ACK, ISN + 1, b"hi"));
    assert_eq!((out.seq, &out.payload[..]), (ISN + 1, &b"hi"[..]));
    let back = send(
        &dp,
        &ns,
        &Seg::reply(lport, ACK, ISN + 3, &sack(2, &[(5, 9)])),
    );
    assert_eq!((back.ack, sack_of(&back.opts)), (ISN + 3, vec![(5, 9)]));
    assert_eq!(dp.stat("proxy_headers").unwrap(), 0);
}

#[test]
fn a_segment_with_ip_options_due_the_header_is_dropped() {
    let ns = director_ns("pxipopt");
    let _in = ns.enter();
    let dp = proxied(ProxyVersion::V2);
    send(&dp, &ns, &Seg::client(CPORT, SYN, ISN, b""));
    let p = Pkt {
        ip_options: vec![1, 1, 1, 0],
        payload: Vec::new(),
        ..tcp(CLIENT, CPORT, VIP, 80, ACK)
    };
    // Pkt's segments have sequence number 1000 = ISN: make it ISN + 1.
    let mut f = p.frame();
    let t = 14 + 24;
    f[t + 4..t + 8].copy_from_slice(&(ISN + 1).to_be_bytes());
    f[t + 16..t + 18].copy_from_slice(&[0, 0]);
    let mut pseudo = f[14 + 12..14 + 20].to_vec();
    pseudo.extend_from_slice(&[0, 6, 0, 20]);
    pseudo.extend_from_slice(&f[t..]);
    let c = csum(&pseudo);
    f[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
    assert_eq!(through(&dp, &ns, &f).action, XDP_DROP);
    assert_eq!(dp.stat("proxy_dropped").unwrap(), 1);
}
