//! The wire format: round trips, the byte layout, and every class of
//! malformed input refused with its typed error.

mod samples;

use samples::*;
use std::net::Ipv4Addr;
use xlvs_sync::wire::{
    Body, Datagram, Entry, Header, Hello, Key, Kind, Truncated, WireError, MAX_DATAGRAM,
};
use xlvs_sync::{DropReason, Forward, Op};

fn encode(body: Body) -> Vec<u8> {
    datagram(body).encode(&key())
}

fn decode(bytes: &[u8]) -> Result<Datagram, WireError> {
    Datagram::decode(bytes, &key())
}

#[test]
fn every_kind_round_trips_with_the_sizes_it_declares() {
    for body in bodies() {
        let d = datagram(body);
        let bytes = d.encode(&key());
        assert_eq!(decode(&bytes), Ok(d.clone()), "{:?}", d.body.kind());
        let payload = match &d.body {
            Body::Hello(h) => h.payload_len(),
            Body::Entries(e) => 36 * e.len(),
            Body::BulkRequest { .. } => 4,
            Body::BulkEntries { entries, .. } => 4 + 36 * entries.len(),
            Body::BulkEnd(_) => 8,
        };
        assert_eq!(bytes.len(), 32 + payload + 32, "{:?}", d.body.kind());
        let h = Header::parse(&bytes).unwrap();
        assert_eq!(h.kind, d.body.kind());
        assert_eq!(h.payload_len as usize, payload);
    }
}

#[test]
fn header_layout_is_network_byte_order_at_the_documented_offsets() {
    let bytes = encode(Body::Entries(entries(2, SENDER)));
    assert_eq!(&bytes[0..2], b"XS");
    assert_eq!(bytes[2], 1, "version");
    assert_eq!(bytes[3], Kind::Entries as u8);
    assert_eq!(&bytes[4..6], &[0, 0], "flags");
    assert_eq!(&bytes[6..8], &[0, 2], "count");
    assert_eq!(&bytes[8..12], &[10, 0, 0, 1], "sender");
    assert_eq!(
        &bytes[12..20],
        &1_700_000_000_000_000u64.to_be_bytes(),
        "session"
    );
    assert_eq!(&bytes[20..28], &42u64.to_be_bytes(), "seq");
    assert_eq!(&bytes[28..30], &72u16.to_be_bytes(), "payload length");
    assert_eq!(&bytes[30..32], &[0, 0], "reserved");
    assert_eq!(
        key().sign(&bytes[..104]),
        bytes[104..136],
        "tag over header and payload"
    );
}

#[test]
fn entry_record_layout() {
    let e = Entry {
        op: Op::Closing,
        key: xlvs_sync::FlowKey {
            kind: xlvs_sync::FlowKind::Connection,
            proto: xlvs_sync::Proto::Tcp,
            client: Ipv4Addr::new(198, 51, 100, 7),
            client_port: 0x1234,
            vip: Ipv4Addr::new(192, 0, 2, 1),
            vport: 443,
        },
        forward: Forward::FullNat,
        state: 9,
        real: Ipv4Addr::new(172, 16, 0, 10),
        real_port: 8080,
        local_addr: Ipv4Addr::new(10, 1, 0, 1),
        local_port: 0x5678,
        owner: Ipv4Addr::new(10, 0, 0, 1),
        idle_secs: 300,
        proxy: None,
    };
    let mut out = Vec::new();
    e.emit(&mut out);
    #[rustfmt::skip]
    let want = [
        2, 6, 4, 9,
        198, 51, 100, 7,
        0x12, 0x34, 0x01, 0xbb,
        192, 0, 2, 1,
        172, 16, 0, 10,
        0x1f, 0x90, 0x56, 0x78,
        10, 1, 0, 1,
        10, 0, 0, 1,
        0x01, 0x2c, 0, 0,
    ];
    assert_eq!(out, want);
    assert_eq!(Entry::parse(&out), Ok(e));
}

#[test]
fn hello_layout() {
    let mut out = Vec::new();
    hello().emit(&mut out);
    let mut want = vec![2, 2, 0, 3, 10, 1, 0, 1, 10, 1, 0, 2, 10];
    want.extend_from_slice(b"director-1");
    assert_eq!(out, want);
    assert_eq!(Hello::parse(&out), Ok(hello()));
}

#[test]
fn records_per_datagram_at_the_default_size() {
    use xlvs_sync::wire::datagram::{bulk_entries_capacity, entries_capacity};
    assert_eq!(entries_capacity(1472), 39);
    assert_eq!(bulk_entries_capacity(1472), 39);
    assert_eq!(entries_capacity(9000), 248);
    assert_eq!(bulk_entries_capacity(9000), 248);
    let full = encode(Body::Entries(entries(39, SENDER)));
    assert_eq!(full.len(), 1468);
}

#[test]
fn proxied_records_are_44_bytes_among_36_byte_ones() {
    let mixed = vec![
        entry(0, SENDER),
        proxied(1, SENDER),
        entry(1, SENDER),
        proxied(2, SENDER),
    ];
    for body in [
        Body::Entries(mixed.clone()),
        Body::BulkEntries {
            transfer: 5,
            entries: mixed.clone(),
        },
    ] {
        let bulk = matches!(body, Body::BulkEntries { .. });
        let bytes = encode(body.clone());
        assert_eq!(bytes.len(), 64 + 2 * 36 + 2 * 44 + if bulk { 4 } else { 0 });
        assert_eq!(&bytes[6..8], &[0, 4], "count: records, not slots");
        assert_eq!(decode(&bytes).unwrap().body, body);
    }
    // A payload whose extra bytes are not whole shifts, or more shifts
    // than records: refused before the tag is checked.
    let mut bytes = encode(Body::Entries(vec![proxied(1, SENDER)]));
    bytes[6..8].copy_from_slice(&[0, 0]);
    resign(&mut bytes);
    assert!(matches!(decode(&bytes), Err(WireError::Count { .. })));
    let mut bytes = encode(Body::Entries(vec![entry(0, SENDER)]));
    bytes.splice(68..68, [0; 4]);
    set_payload_len(&mut bytes, 40);
    resign(&mut bytes);
    assert!(matches!(decode(&bytes), Err(WireError::Count { .. })));
    let mut bytes = encode(Body::Entries(vec![entry(0, SENDER)]));
    bytes.splice(68..68, [0; 16]);
    set_payload_len(&mut bytes, 52);
    resign(&mut bytes);
    assert!(matches!(decode(&bytes), Err(WireError::Count { .. })));
    // The flag on the first record, the 8 bytes after the second: the
    // first record reads the second's start as its shift, and the
    // datagram is refused whatever it reads.
    let mut bytes = encode(Body::Entries(vec![entry(0, SENDER), proxied(1, SENDER)]));
    bytes[PAYLOAD + 35] = 2;
    bytes[PAYLOAD + 36 + 35] = 0;
    resign(&mut bytes);
    assert!(decode(&bytes).is_err());
}

#[test]
fn every_truncation_is_refused_as_truncated() {
    for body in bodies() {
        let bytes = encode(body);
        for len in 0..bytes.len() {
            let e = decode(&bytes[..len]).unwrap_err();
            assert!(matches!(e, WireError::Truncated(_)), "{len}: {e}");
            assert_eq!(e.reason(), DropReason::Truncated);
        }
    }
}

#[test]
fn oversized_input_is_refused_before_anything_else() {
    assert_eq!(
        decode(&vec![0; MAX_DATAGRAM + 1]),
        Err(WireError::Oversized(9001))
    );
    let mut big = encode(Body::Entries(entries(1, SENDER)));
    big.resize(MAX_DATAGRAM + 1, 0);
    let e = decode(&big).unwrap_err();
    assert_eq!(e.reason(), DropReason::Oversized);
    // 9000 bytes of a well-formed datagram are fine (248 records, 8992).
    let max = datagram(Body::Entries(entries(248, SENDER)));
    assert_eq!(decode(&max.encode(&key())), Ok(max));
}

#[test]
fn trailing_bytes_after_the_tag_are_refused() {
    let mut bytes = encode(Body::BulkRequest { transfer: 1 });
    bytes.push(0);
    assert_eq!(decode(&bytes), Err(WireError::TrailingBytes { extra: 1 }));
}

/// Alters the header of a valid Entries datagram.
fn header_with(at: usize, value: &[u8]) -> Result<Datagram, WireError> {
    let mut bytes = encode(Body::Entries(entries(2, SENDER)));
    bytes[at..at + value.len()].copy_from_slice(value);
    resign(&mut bytes);
    decode(&bytes)
}

#[test]
fn bad_header_fields_are_refused_with_their_error() {
    assert_eq!(header_with(0, b"XT"), Err(WireError::Magic(*b"XT")));
    assert_eq!(header_with(2, &[2]), Err(WireError::Version(2)));
    assert_eq!(
        header_with(2, &[2]).unwrap_err().reason(),
        DropReason::BadVersion
    );
    assert_eq!(header_with(3, &[0]), Err(WireError::Kind(0)));
    assert_eq!(header_with(3, &[6]), Err(WireError::Kind(6)));
    assert!(matches!(
        header_with(4, &[0, 1]),
        Err(WireError::NonZero { .. })
    ));
    assert!(matches!(
        header_with(30, &[1, 0]),
        Err(WireError::NonZero { .. })
    ));
    assert_eq!(header_with(20, &[0; 8]), Err(WireError::ZeroSeq));
    for e in [
        header_with(0, b"XT"),
        header_with(3, &[9]),
        header_with(4, &[0, 1]),
    ] {
        assert_eq!(e.unwrap_err().reason(), DropReason::BadFormat);
    }
}

#[test]
fn counts_that_do_not_match_the_payload_are_refused() {
    // Entries: count 3 for two records.
    assert!(matches!(
        header_with(6, &[0, 3]),
        Err(WireError::Count { .. })
    ));
    // Entries with no record at all.
    let mut bytes = encode(Body::Entries(entries(1, SENDER)));
    bytes[6..8].copy_from_slice(&[0, 0]);
    bytes.drain(32..68);
    set_payload_len(&mut bytes, 0);
    resign(&mut bytes);
    assert!(matches!(decode(&bytes), Err(WireError::Count { .. })));
    // A Hello claiming records; a BulkEnd with 4 bytes too many.
    let mut bytes = encode(Body::Hello(hello()));
    bytes[6..8].copy_from_slice(&[0, 1]);
    resign(&mut bytes);
    assert!(matches!(decode(&bytes), Err(WireError::Count { .. })));
    let mut bytes = encode(Body::BulkEnd(xlvs_sync::wire::BulkEnd {
        total: 1,
        transfer: 1,
    }));
    bytes.splice(40..40, [0, 0, 0, 0]);
    set_payload_len(&mut bytes, 12);
    resign(&mut bytes);
    assert!(matches!(decode(&bytes), Err(WireError::Count { .. })));
}

/// Alters byte `at` of the first record of a valid Entries datagram.
fn record_with(at: usize, value: &[u8]) -> Result<Datagram, WireError> {
    let mut bytes = encode(Body::Entries(entries(1, SENDER)));
    let at = PAYLOAD + at;
    bytes[at..at + value.len()].copy_from_slice(value);
    resign(&mut bytes);
    decode(&bytes)
}

#[test]
fn bad_record_fields_are_refused_with_their_error() {
    assert_eq!(record_with(0, &[0]), Err(WireError::Op(0)));
    assert_eq!(record_with(0, &[4]), Err(WireError::Op(4)));
    assert_eq!(record_with(1, &[1]), Err(WireError::Proto(1)));
    assert_eq!(record_with(1, &[132]), Err(WireError::Proto(132)));
    assert_eq!(record_with(2, &[0]), Err(WireError::Forward(0)));
    assert_eq!(record_with(2, &[5]), Err(WireError::Forward(5)));
    // 0x0001 is the template flag, 0x0002 the proxy shift (entry.rs tests
    // them); the rest is refused.
    assert!(matches!(
        record_with(34, &[0, 4]),
        Err(WireError::NonZero { .. })
    ));
    // The proxy flag on a 36-byte record: its 8 bytes are missing.
    assert!(record_with(34, &[0, 2]).is_err());
    assert!(matches!(
        record_with(34, &[0x80, 0]),
        Err(WireError::NonZero { .. })
    ));
    // Entry 0 is DR: a local address or port has no place in it.
    assert!(matches!(
        record_with(24, &[10, 1, 0, 1]),
        Err(WireError::Malformed { .. })
    ));
    assert!(matches!(
        record_with(22, &[0, 1]),
        Err(WireError::Malformed { .. })
    ));
    // Live entries may be another director's: the sender refreshes a
    // flow the router moved to it.
    assert!(record_with(28, &[10, 0, 0, 9]).is_ok());
    for e in [
        record_with(0, &[0]),
        record_with(1, &[1]),
        record_with(2, &[9]),
    ] {
        assert_eq!(e.unwrap_err().reason(), DropReason::BadFormat);
    }
}

#[test]
fn a_delete_in_a_table_transfer_is_refused() {
    let mut e = entry(1, Ipv4Addr::new(10, 0, 0, 9));
    e.op = Op::Delete;
    let bytes = encode(Body::BulkEntries {
        transfer: 1,
        entries: vec![e],
    });
    assert!(matches!(decode(&bytes), Err(WireError::Malformed { .. })));
}

/// Decodes a Hello whose payload is `payload`.
fn hello_payload(payload: &[u8]) -> Result<Datagram, WireError> {
    let mut bytes = encode(Body::Hello(hello()));
    bytes.splice(PAYLOAD..bytes.len() - 32, payload.iter().copied());
    set_payload_len(&mut bytes, payload.len() as u16);
    resign(&mut bytes);
    decode(&bytes)
}

#[test]
fn bad_hellos_are_refused_with_their_error() {
    // state, count, hold time, addresses, name length, name
    assert!(
        hello_payload(&[1, 0, 0, 3, 0]).is_ok(),
        "the smallest Hello"
    );
    assert_eq!(
        hello_payload(&[0, 0, 0, 3, 0]),
        Err(WireError::NodeState(0))
    );
    assert_eq!(
        hello_payload(&[4, 0, 0, 3, 0]),
        Err(WireError::NodeState(4))
    );
    assert!(matches!(
        hello_payload(&[1, 0, 0, 0, 0]),
        Err(WireError::Malformed { .. })
    ));
    // Two addresses announced, one and a byte present.
    assert!(matches!(
        hello_payload(&[1, 2, 0, 3, 10, 1, 0, 1, 0]),
        Err(WireError::Malformed { what: "hello", .. })
    ));
    let bad_utf8 = [1, 0, 0, 3, 2, 0xc3, 0x28];
    assert!(matches!(
        hello_payload(&bad_utf8),
        Err(WireError::Malformed { .. })
    ));
    let mut long = vec![1, 0, 0, 3, 65];
    long.extend_from_slice(&[b'a'; 65]);
    assert!(matches!(
        hello_payload(&long),
        Err(WireError::Malformed { .. })
    ));
    let mut max = vec![1, 0, 0, 3, 64];
    max.extend_from_slice(&[b'a'; 64]);
    assert!(hello_payload(&max).is_ok(), "64 bytes is the limit");
    assert!(matches!(
        hello_payload(&[1, 0, 0, 3, 0, 0]),
        Err(WireError::Malformed { .. })
    ));
    // A payload that ends inside a field, in a datagram of the size its
    // header declares: bad format (Truncated is for cut datagrams).
    let e = hello_payload(&[1, 0, 0]).unwrap_err();
    assert!(
        matches!(e, WireError::Malformed { what: "hello", .. }),
        "{e}"
    );
    assert_eq!(e.reason(), DropReason::BadFormat);
}

#[test]
fn a_tag_made_with_another_key_is_refused() {
    for body in bodies() {
        let bytes = datagram(body).encode(&Key::new(b"another key"));
        assert_eq!(decode(&bytes), Err(WireError::Auth));
        assert_eq!(WireError::Auth.reason(), DropReason::Auth);
        // The unauthenticated path (tools, fuzzing) does not look at it.
        assert!(Datagram::parse_unauthenticated(&bytes).is_ok());
    }
}

#[test]
fn a_flipped_bit_anywhere_is_refused() {
    for body in bodies() {
        let bytes = encode(body);
        for at in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                let mut altered = bytes.clone();
                altered[at] ^= bit;
                assert!(decode(&altered).is_err(), "byte {at} bit {bit:#x}");
            }
        }
    }
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        WireError::Truncated(Truncated {
            what: "datagram",
            need: 68,
            have: 40
        })
        .to_string(),
        "datagram truncated: need 68 bytes, have 40"
    );
    assert_eq!(
        WireError::Version(2).to_string(),
        "sync version 2, expected 1"
    );
}
