//! Golden values: the exact tables and hashes this version produces.
//!
//! Every director of a cluster must compute the same table and the XDP
//! program the same flow hashes. CHANGING ANY VALUE HERE BREAKS CLUSTER
//! COMPATIBILITY between versions: during a rolling upgrade, directors of
//! the old and new version would send the same flow to different backends.
//! If a change is really intended, it needs a version bump and a note in
//! the release notes, and the C side's vectors must change with it.

use std::net::Ipv4Addr;

use xlvs_maglev::{flow_hash, source_hash, Backend, Table, TableSize};

/// FNV-1a 64 of the slots, each as 4 little-endian bytes: a compact
/// fingerprint of a whole table.
fn fingerprint(table: &Table) -> u64 {
    let bytes = table.slots().iter().flat_map(|s| s.to_le_bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn small_set() -> Vec<Backend> {
    let b = |a: [u8; 4], port, weight| Backend::new(Ipv4Addr::from(a), port, weight);
    vec![
        b([192, 0, 2, 10], 443, 3),
        b([10, 0, 0, 2], 80, 1),
        b([10, 0, 0, 3], 8080, 2),
        b([192, 0, 2, 11], 443, 0),
        b([10, 0, 0, 1], 80, 1),
    ]
}

#[test]
fn permutations() {
    let b = Backend::new(Ipv4Addr::new(10, 0, 0, 1), 80, 1);
    assert_eq!(b.permutation(TableSize::new(251).unwrap()), (65, 184));
    assert_eq!(b.permutation(TableSize::DEFAULT), (53428, 32060));
    let b = Backend::new(Ipv4Addr::new(192, 0, 2, 10), 443, 1);
    assert_eq!(b.permutation(TableSize::DEFAULT), (28500, 24068));
}

#[test]
fn small_table() {
    let table = Table::build(TableSize::new(251).unwrap(), &small_set()).unwrap();
    // Sorted by address then port; the weight-0 backend is left out.
    let order: Vec<String> = table.backends().iter().map(|b| b.to_string()).collect();
    assert_eq!(
        order,
        [
            "10.0.0.1:80",
            "10.0.0.2:80",
            "10.0.0.3:8080",
            "192.0.2.10:443"
        ]
    );
    #[rustfmt::skip]
    let first: [u32; 32] = [
        1, 1, 2, 1, 3, 2, 3, 3, 3, 1, 0, 1, 0, 0, 2, 3,
        2, 3, 3, 3, 1, 3, 1, 2, 3, 2, 3, 1, 3, 3, 2, 0,
    ];
    assert_eq!(table.slots()[..32], first);
    // Weights 1, 1, 2, 3: fair shares 35.9, 35.9, 71.7, 107.6.
    assert_eq!(table.slot_counts(), [36, 36, 72, 107]);
    assert_eq!(fingerprint(&table), 0x69fc_4107_9958_e176);
}

#[test]
fn default_size_table() {
    let set: Vec<Backend> = (1..=100)
        .map(|i| Backend::new(Ipv4Addr::new(10, 0, 0, i), 80, 1))
        .collect();
    let table = Table::build(TableSize::DEFAULT, &set).unwrap();
    assert_eq!(fingerprint(&table), 0xc0fa_02ec_64d4_35f1);
}

/// The vectors of the `flow_hash` and `source_hash` docs, for the C side.
#[test]
fn flow_hashes() {
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let flows = [
        ("0.0.0.0", "0.0.0.0", 0, 0, 0, 0x1b68_e557),
        ("192.0.2.1", "198.51.100.10", 40000, 80, 6, 0x1973_7b76),
        ("192.0.2.1", "198.51.100.10", 40000, 80, 17, 0x2abf_7cd4),
        ("192.0.2.1", "198.51.100.10", 40001, 80, 6, 0xdb0f_fdfb),
        ("198.51.100.10", "192.0.2.1", 80, 40000, 6, 0x99fe_70bf),
        ("10.1.2.3", "198.51.100.10", 12345, 443, 6, 0xfafb_bb4a),
        ("10.1.2.3", "198.51.100.10", 0, 0, 1, 0xe4c8_2660),
        (
            "255.255.255.255",
            "255.255.255.255",
            65535,
            65535,
            255,
            0xbbf7_e512,
        ),
    ];
    for (src, dst, sport, dport, proto, hash) in flows {
        let got = flow_hash(ip(src), ip(dst), sport, dport, proto);
        assert_eq!(
            got, hash,
            "{src}:{sport} > {dst}:{dport} proto {proto}: {got:#010x}"
        );
    }
    let sources = [
        ("0.0.0.0", 0x0493_96b8),
        ("192.0.2.1", 0x751c_0de7),
        ("10.1.2.3", 0x3317_2132),
        ("255.255.255.255", 0x9b11_c75b),
    ];
    for (src, hash) in sources {
        assert_eq!(source_hash(ip(src)), hash, "{src}");
    }
}
