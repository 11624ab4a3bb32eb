//! Replays the fuzzer's corpus (fuzz/corpus/decode, kept in the repo): the
//! decoder never panics, what it accepts re-encodes to the same bytes, and
//! what the unauthenticated parser accepts survives a round trip.
//! The fuzzer itself: `cargo +nightly fuzz run decode` in crates/sync
//! (see docs/sync.md). The seed files come from `write_seed_corpus` below.

mod samples;

use samples::*;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use xlvs_sync::wire::{Body, BulkEnd, Datagram, Hello, Key};
use xlvs_sync::{NodeState, Op};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode")
}

#[test]
fn corpus_replays_without_panics_and_round_trips() {
    let key = key();
    let mut inputs = 0;
    let mut kinds = BTreeSet::new();
    let mut refused = 0;
    for entry in std::fs::read_dir(corpus_dir()).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        inputs += 1;
        match Datagram::decode(&data, &key) {
            Ok(d) => {
                assert_eq!(d.encode(&key), data, "canonical encoding");
                kinds.insert(d.body.kind());
            }
            Err(_) => refused += 1,
        }
        if let Ok(d) = Datagram::parse_unauthenticated(&data) {
            let again = Datagram::decode(&d.encode(&key), &key).expect("our encoding decodes");
            assert_eq!(again, d);
        }
    }
    assert!(inputs >= 24, "corpus has {inputs} inputs");
    assert_eq!(kinds.len(), 5, "a valid datagram of every kind: {kinds:?}");
    assert!(refused >= 10, "{refused} malformed inputs");
}

/// Named seeds: valid datagrams of every kind and the edge cases of each
/// error class.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let k = key();
    let enc = |body: Body| datagram(body).encode(&k);
    let altered = |body: Body, at: usize, value: &[u8]| {
        let mut b = datagram(body).encode(&k);
        b[at..at + value.len()].copy_from_slice(value);
        resign(&mut b);
        b
    };
    let one = || Body::Entries(entries(1, SENDER));
    let mut long_name = hello();
    long_name.name = "é".repeat(32);
    let mut most = hello();
    most.local_addresses = (0..255u32)
        .map(|i| Ipv4Addr::from(0x0a01_0000 + i))
        .collect();
    let minimal = Hello {
        state: NodeState::Joining,
        hold_secs: 1,
        local_addresses: vec![],
        name: String::new(),
    };
    let mut delete = entry(1, SENDER);
    delete.op = Op::Delete;
    let mut trailing = enc(one());
    trailing.push(0);
    let mut bad_utf8 = enc(Body::Hello(hello()));
    let name_at = 32 + 4 + 8 + 1;
    bad_utf8[name_at] = 0xff;
    resign(&mut bad_utf8);
    let mut name_65 = enc(Body::Hello(minimal.clone()));
    name_65.splice(36..37, std::iter::once(65).chain([b'n'; 65]));
    set_payload_len(&mut name_65, 5 + 65);
    resign(&mut name_65);
    vec![
        ("valid-hello", enc(Body::Hello(hello()))),
        ("valid-hello-minimal", enc(Body::Hello(minimal))),
        ("valid-hello-64-byte-name", enc(Body::Hello(long_name))),
        ("valid-hello-255-addresses", enc(Body::Hello(most))),
        ("valid-entries-1", enc(one())),
        ("valid-entries-39", enc(Body::Entries(entries(39, SENDER)))),
        (
            "valid-entries-248-max-size",
            enc(Body::Entries(entries(248, SENDER))),
        ),
        ("valid-entries-delete", enc(Body::Entries(vec![delete]))),
        ("valid-bulk-request", enc(Body::BulkRequest { transfer: 1 })),
        (
            "valid-bulk-entries",
            enc(Body::BulkEntries {
                transfer: 1,
                entries: entries(39, Ipv4Addr::new(10, 0, 0, 7)),
            }),
        ),
        (
            "valid-bulk-end",
            enc(Body::BulkEnd(BulkEnd {
                total: 100_000,
                transfer: 1,
            })),
        ),
        (
            "valid-bulk-end-empty",
            enc(Body::BulkEnd(BulkEnd {
                total: 0,
                transfer: 9,
            })),
        ),
        ("empty", vec![]),
        ("one-byte", b"X".to_vec()),
        ("header-only", enc(one())[..32].to_vec()),
        ("truncated-tag", enc(one())[..enc(one()).len() - 1].to_vec()),
        ("oversized", vec![0x58; 9001]),
        ("trailing-byte", trailing),
        ("wrong-key", datagram(one()).encode(&Key::new(b"other"))),
        ("bad-magic", altered(one(), 0, b"XT")),
        ("bad-version", altered(one(), 2, &[2])),
        ("bad-kind", altered(one(), 3, &[6])),
        ("flags-set", altered(one(), 4, &[0x80, 0])),
        ("reserved-set", altered(one(), 30, &[0, 1])),
        ("seq-zero", altered(one(), 20, &[0; 8])),
        ("count-mismatch", altered(one(), 6, &[0, 2])),
        ("payload-length-mismatch", altered(one(), 28, &[0, 35])),
        ("bad-op", altered(one(), 32, &[9])),
        ("bad-proto", altered(one(), 33, &[1])),
        ("bad-forward", altered(one(), 34, &[0])),
        // 0x0001 is the template flag, 0x0002 the proxy shift; every
        // other bit is refused.
        ("record-flags-set", altered(one(), 32 + 34, &[0, 4])),
        (
            "proxy-flag-without-its-bytes",
            altered(one(), 32 + 34, &[0, 2]),
        ),
        (
            "valid-entries-proxied",
            enc(Body::Entries(vec![
                entry(0, SENDER),
                proxied(1, SENDER),
                proxied(2, SENDER),
            ])),
        ),
        (
            "valid-bulk-entries-proxied",
            enc(Body::BulkEntries {
                transfer: 3,
                entries: (0..32).map(|i| proxied(i, SENDER)).collect(),
            }),
        ),
        (
            "proxy-acked-2",
            altered(Body::Entries(vec![proxied(1, SENDER)]), 32 + 41, &[2]),
        ),
        (
            "proxy-length-0",
            altered(Body::Entries(vec![proxied(1, SENDER)]), 32 + 40, &[0]),
        ),
        (
            "proxy-on-udp",
            altered(Body::Entries(vec![proxied(1, SENDER)]), 32 + 1, &[17]),
        ),
        ("valid-template", enc(Body::Entries(vec![template()]))),
        (
            "template-with-local-address",
            altered(Body::Entries(vec![template()]), 32 + 24, &[10, 1, 0, 1]),
        ),
        (
            "template-with-client-port",
            altered(Body::Entries(vec![template()]), 32 + 8, &[0, 80]),
        ),
        (
            "local-address-on-dr",
            altered(one(), 32 + 24, &[10, 1, 0, 1]),
        ),
        (
            "valid-refresh-of-another-owner",
            altered(one(), 32 + 28, &[10, 0, 0, 99]),
        ),
        (
            "delete-in-bulk",
            enc(Body::BulkEntries {
                transfer: 1,
                entries: vec![{
                    let mut e = entry(2, SENDER);
                    e.op = Op::Delete;
                    e
                }],
            }),
        ),
        ("hello-bad-state", altered(Body::Hello(hello()), 32, &[0])),
        (
            "hello-hold-zero",
            altered(Body::Hello(hello()), 34, &[0, 0]),
        ),
        ("hello-bad-utf8", bad_utf8),
        ("hello-name-65", name_65),
    ]
}

#[test]
fn seeds_are_what_their_names_say() {
    let key = key();
    for (name, bytes) in seeds() {
        let decoded = Datagram::decode(&bytes, &key);
        assert_eq!(
            decoded.is_ok(),
            name.starts_with("valid-"),
            "{name}: {decoded:?}"
        );
    }
}

#[test]
#[ignore = "writes the seed corpus: cargo test -p xlvs-sync --test fuzz_corpus -- --ignored"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
