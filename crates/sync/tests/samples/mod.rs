//! Datagrams and entries for the tests and the fuzz corpus.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use xlvs_sync::wire::{Body, BulkEnd, Datagram, Hello, Key, HEADER_LEN, TAG_LEN};
use xlvs_sync::{Entry, FlowKey, Forward, NodeState, Op, Proto};

/// The key of the tests and of the fuzz target (fuzz/fuzz_targets/decode.rs).
pub const KEY: &[u8] = b"xlvs-sync test and fuzz key, 32b";

pub const SENDER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

pub fn key() -> Key {
    Key::new(KEY)
}

/// A distinct entry per `i`, owned by `owner`; every fourth is FULLNAT.
pub fn entry(i: u32, owner: Ipv4Addr) -> Entry {
    let fullnat = i % 4 == 3;
    Entry {
        op: Op::Upsert,
        key: FlowKey {
            kind: xlvs_sync::FlowKind::Connection,
            proto: if i & 1 == 0 { Proto::Tcp } else { Proto::Udp },
            client: Ipv4Addr::from(0xc633_0000 + (i >> 16)),
            client_port: (i & 0xffff) as u16,
            vip: Ipv4Addr::new(192, 0, 2, 1),
            vport: 443,
        },
        forward: [Forward::Dr, Forward::Tun, Forward::Nat, Forward::FullNat][(i % 4) as usize],
        state: (i % 11) as u8,
        real: Ipv4Addr::new(172, 16, 0, (i % 200) as u8 + 1),
        real_port: 8443,
        local_addr: if fullnat {
            owner
        } else {
            Ipv4Addr::UNSPECIFIED
        },
        local_port: if fullnat {
            1024 + (i % 60000) as u16
        } else {
            0
        },
        owner,
        idle_secs: (i % 300) as u16,
        proxy: None,
    }
}

/// A proxied FULLNAT TCP connection (flag 0x0002: its shift in 8 more
/// bytes), distinct per `i` and from every [`entry`].
pub fn proxied(i: u32, owner: Ipv4Addr) -> Entry {
    let mut e = entry(i * 4 + 3, owner);
    e.key.proto = Proto::Tcp;
    e.key.vport = 80;
    e.proxy = Some(xlvs_sync::ProxyShift {
        after_syn: 0x8000_0000u32.wrapping_add(i.wrapping_mul(7919)),
        len: if i.is_multiple_of(2) {
            28
        } else {
            32 + (i % 25) as u8
        },
        acked: !i.is_multiple_of(3),
    });
    e
}

/// A persistence template (flag 0x0001) of a masked client, owned by the
/// sender.
pub fn template() -> Entry {
    let mut t = entry(0, SENDER);
    t.key.kind = xlvs_sync::FlowKind::Template;
    t.key.client = Ipv4Addr::new(198, 51, 100, 0);
    t.key.client_port = 0;
    t.state = 0;
    t
}

pub fn entries(n: u32, owner: Ipv4Addr) -> Vec<Entry> {
    (0..n).map(|i| entry(i, owner)).collect()
}

pub fn hello() -> Hello {
    Hello {
        state: NodeState::Ready,
        hold_secs: 3,
        local_addresses: vec![Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2)],
        name: "director-1".into(),
    }
}

/// One body of each kind.
pub fn bodies() -> Vec<Body> {
    vec![
        Body::Hello(hello()),
        Body::Entries(entries(3, SENDER)),
        Body::BulkRequest { transfer: 77 },
        Body::BulkEntries {
            transfer: 77,
            entries: entries(5, Ipv4Addr::new(10, 0, 0, 9)),
        },
        Body::BulkEnd(BulkEnd {
            total: 100_000,
            transfer: 77,
        }),
    ]
}

pub fn datagram(body: Body) -> Datagram {
    Datagram {
        sender: SENDER,
        session: 1_700_000_000_000_000,
        seq: 42,
        body,
    }
}

/// Recomputes the tag of `bytes` after a test altered them, so the
/// alteration reaches the payload checks.
pub fn resign(bytes: &mut [u8]) {
    let signed = bytes.len() - TAG_LEN;
    let tag = key().sign(&bytes[..signed]);
    bytes[signed..].copy_from_slice(&tag);
}

/// Sets the payload length field.
pub fn set_payload_len(bytes: &mut [u8], len: u16) {
    bytes[28..30].copy_from_slice(&len.to_be_bytes());
}

/// The offset of the payload.
pub const PAYLOAD: usize = HEADER_LEN;
