//! Packets FRR sent, parsed and re-emitted byte for byte.

use super::*;
use crate::wire::auth::md5_verify;
use crate::wire::captures::{self, md5_key};
use crate::wire::{ExternalLsa, LinkType, LsaType, NetworkLsa, RouterLsa, Truncated};
use std::net::Ipv4Addr;

const ALL: [&str; 10] = [
    "hello-p2p",
    "hello-md5-broadcast",
    "dbd-init",
    "dbd-headers",
    "dbd-md5-headers",
    "lsr",
    "lsu-p2p",
    "lsu-md5-broadcast",
    "lsack-p2p",
    "lsack-md5-broadcast",
];

fn parse(name: &str) -> Packet {
    Packet::parse(&captures::get(name).bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn every_capture_round_trips_byte_for_byte() {
    for name in ALL {
        let c = captures::get(name);
        let p = parse(name);
        let key = matches!(p.header.auth, AuthField::Md5 { .. }).then(md5_key);
        assert_eq!(p.emit(key.as_ref()), c.bytes, "{name}");
    }
}

#[test]
fn hello_fields() {
    let c = captures::get("hello-p2p");
    assert_eq!((c.src, c.dst), (ip("10.0.2.0"), ip("224.0.0.5")));
    let p = parse("hello-p2p");
    assert_eq!(p.header.router_id, ip("10.255.0.1"));
    assert_eq!(p.header.area_id, ip("0.0.0.0"));
    let Body::Hello(h) = p.body else { panic!() };
    assert_eq!((h.hello_interval, h.dead_interval), (1, 4));
    assert_eq!(h.neighbors, [ip("10.255.0.2")]);

    let p = parse("hello-md5-broadcast");
    assert!(matches!(p.header.auth, AuthField::Md5 { key_id: 1, .. }));
    let Body::Hello(h) = p.body else { panic!() };
    assert_eq!(h.network_mask, ip("255.255.255.0"));
    assert_eq!(h.priority, 1);
    // sent before the election ended: no DR yet
    assert_eq!(h.dr, ip("0.0.0.0"));
}

#[test]
fn dbd_fields() {
    let Body::Dbd(d) = parse("dbd-init").body else {
        panic!()
    };
    assert!(d.flags.init && d.flags.more && d.flags.master);
    assert!(d.headers.is_empty());
    assert_eq!(d.mtu, 1500);
    let Body::Dbd(d) = parse("dbd-headers").body else {
        panic!()
    };
    assert!(!d.flags.init);
    assert!(!d.headers.is_empty());
    assert!(d.headers.iter().any(|h| h.kind == LsaType::ROUTER));
}

#[test]
fn lsr_and_ack_fields() {
    let Body::LsRequest(keys) = parse("lsr").body else {
        panic!()
    };
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.adv_router == ip("10.255.0.1")));
    let Body::LsAck(headers) = parse("lsack-p2p").body else {
        panic!()
    };
    assert!(!headers.is_empty());
}

#[test]
fn lsu_lsas_have_valid_checksums_and_parse() {
    let mut seen = std::collections::BTreeSet::new();
    for name in ["lsu-p2p", "lsu-md5-broadcast"] {
        let Body::LsUpdate(lsas) = parse(name).body else {
            panic!()
        };
        for lsa in lsas {
            assert!(lsa.checksum_ok(), "{name}: {}", lsa.key());
            seen.insert(lsa.header.kind);
            match lsa.header.kind {
                LsaType::ROUTER => {
                    let r = RouterLsa::parse(&lsa.body).unwrap();
                    assert_eq!(r.to_bytes(), lsa.body, "router LSA re-emits");
                    // every router has its loopback as a /32 stub
                    let lo = r
                        .links
                        .iter()
                        .find(|l| l.id == lsa.header.adv_router)
                        .unwrap();
                    assert_eq!(lo.kind, LinkType::Stub);
                    assert_eq!(lo.data, ip("255.255.255.255"));
                }
                LsaType::NETWORK => {
                    let n = NetworkLsa::parse(&lsa.body).unwrap();
                    assert_eq!(n.mask, ip("255.255.255.0"));
                    assert_eq!(n.routers.len(), 2);
                }
                LsaType::EXTERNAL => {
                    let e = ExternalLsa::parse(&lsa.body).unwrap();
                    assert_eq!(e.to_bytes(), lsa.body);
                    assert_eq!(e.mask, ip("255.255.255.255"));
                    assert!(e.type2);
                    assert_eq!(e.metric, 20);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(seen.contains(&LsaType::ROUTER) && seen.contains(&LsaType::EXTERNAL));
}

#[test]
fn md5_packets_verify_only_with_the_key() {
    let c = captures::get("lsu-md5-broadcast");
    let len = u16::from_be_bytes([c.bytes[2], c.bytes[3]]) as usize;
    assert!(md5_verify(&c.bytes, len, &md5_key()));
    let mut tampered = c.bytes.clone();
    tampered[30] ^= 1;
    // the structure may still parse; the digest must not verify
    assert!(!md5_verify(&tampered, len, &md5_key()));
    // without its digest the packet is refused
    assert!(matches!(
        Packet::parse(&c.bytes[..len]),
        Err(WireError::Truncated(Truncated {
            what: "MD5 digest",
            ..
        }))
    ));
}

#[test]
fn corrupted_null_auth_packets_fail_the_checksum() {
    let mut b = captures::get("hello-p2p").bytes;
    b[30] ^= 0x40;
    assert!(matches!(Packet::parse(&b), Err(WireError::Checksum { .. })));
}

#[test]
fn every_truncation_and_bad_header_is_an_error_not_a_panic() {
    for name in ALL {
        let b = captures::get(name).bytes;
        for n in 0..b.len() {
            let _ = Packet::parse(&b[..n]);
        }
    }
    let mut b = captures::get("hello-p2p").bytes;
    b[0] = 3;
    assert_eq!(Packet::parse(&b), Err(WireError::Version(3)));
    b[0] = 2;
    b[1] = 9;
    assert_eq!(Packet::parse(&b), Err(WireError::PacketType(9)));
    b[1] = 1;
    b[2..4].copy_from_slice(&20u16.to_be_bytes());
    assert!(matches!(Packet::parse(&b), Err(WireError::Length { .. })));
}

#[test]
fn random_bytes_never_panic() {
    // xorshift: deterministic, so a failure reproduces.
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let seeds: Vec<Vec<u8>> = ALL.iter().map(|n| captures::get(n).bytes).collect();
    for i in 0..20_000 {
        let mut b = seeds[i % seeds.len()].clone();
        for _ in 0..(next() % 6 + 1) {
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        if let Ok(p) = Packet::parse(&b) {
            // whatever parses must emit without panicking
            let _ = p.emit(Some(&md5_key()));
        }
    }
}
