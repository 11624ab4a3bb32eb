//! src/abi.rs mirrors bpf/consts.h by hand. Two branches once gave two
//! globals flags the same bit, each correct on its own: this reads both
//! files and holds every constant that exists on both sides, and the
//! counters' order, to one value.

use std::collections::BTreeMap;

const CONSTS_H: &str = include_str!("../bpf/consts.h");
const ABI_RS: &str = include_str!("../src/abi.rs");

/// The value of a C or Rust constant expression as these files write
/// them: a number, `1 << n`, `(1 << n)`, `u32::MAX`; None for anything
/// else (such constants are not compared).
fn value(expr: &str) -> Option<u64> {
    let e = expr
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    if e == "u32::MAX" {
        return Some(u32::MAX.into());
    }
    if let Some((a, b)) = e.split_once("<<") {
        return Some(value(a)? << value(b)?);
    }
    let e = e.trim_end_matches(['u', 'U', 'l', 'L']);
    match e.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => e.parse().ok(),
    }
}

/// `#define NAME VALUE` lines of consts.h (a trailing comment dropped).
fn c_defines() -> BTreeMap<&'static str, u64> {
    CONSTS_H
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| {
            let l = l.split("/*").next()?;
            let (name, v) = l.trim().split_once(char::is_whitespace)?;
            Some((name, value(v)?))
        })
        .collect()
}

/// `pub const NAME: T = VALUE;` lines of abi.rs.
fn rust_consts() -> BTreeMap<&'static str, u64> {
    ABI_RS
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let v = rest.split_once('=')?.1.trim().strip_suffix(';')?;
            Some((name.trim(), value(v)?))
        })
        .collect()
}

#[test]
fn constants_on_both_sides_agree() {
    let c = c_defines();
    let rust = rust_consts();
    let both: Vec<_> = rust.keys().filter(|n| c.contains_key(*n)).collect();
    // The comparison must be about something: the globals flags at least.
    for name in [
        "G_F_NAT",
        "G_F_PROXY",
        "G_F_NEXT_HOP",
        "FWD_FULLNAT",
        "SCHED_LBLCR",
    ] {
        assert!(both.contains(&&name), "{name} is not on both sides");
    }
    for name in both {
        assert_eq!(rust[name], c[name], "{name}: abi.rs and consts.h differ");
    }
}

#[test]
fn globals_flags_are_distinct_bits() {
    let c = c_defines();
    let flags: Vec<(&str, u64)> = c
        .iter()
        .filter(|(n, _)| n.starts_with("G_F_"))
        .map(|(n, v)| (*n, *v))
        .collect();
    assert!(flags.len() >= 9, "{flags:?}");
    for (i, (a, va)) in flags.iter().enumerate() {
        assert_eq!(va.count_ones(), 1, "{a} is not one bit");
        for (b, vb) in &flags[i + 1..] {
            assert_ne!(va, vb, "{a} and {b} are the same bit");
        }
    }
}

#[test]
fn counters_are_named_in_the_order_of_enum_stat() {
    let body = CONSTS_H
        .split_once("enum stat {")
        .expect("enum stat")
        .1
        .split_once("};")
        .expect("its end")
        .0;
    let c: Vec<String> = body
        .lines()
        .map(|l| l.split("/*").next().unwrap().trim())
        .filter_map(|l| l.strip_prefix("STAT_"))
        .map(|l| l.trim_end_matches(',').split('=').next().unwrap().trim())
        .filter(|n| *n != "MAX")
        .map(|n| match n {
            // The names operators read are spelled out.
            "CT_HIT" => "conntrack_hit".to_string(),
            "CT_NEW" => "conntrack_new".to_string(),
            "DROP_NO_LPORT" => "drop_no_local_port".to_string(),
            n => n.to_lowercase(),
        })
        .collect();
    assert_eq!(c, xlvs_dataplane::abi::STAT_NAMES);
}
