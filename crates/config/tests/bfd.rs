//! `bfd = { interval, multiplier }` on an OSPF interface: accepted exactly
//! where the BFD core accepts it, with the error on the right key.

use std::time::Duration;

use xlvs_config::*;

const MARK: &str = "# <-";

/// The example node with `bfd` set on its first OSPF interface.
fn with_bfd(bfd: &str) -> String {
    let text = EXAMPLE_NODE.replacen(
        "name = \"eth1\"",
        &format!("name = \"eth1\"\nbfd = {bfd} {MARK}"),
        1,
    );
    assert!(text.contains(MARK), "the example has no interface eth1");
    text
}

#[track_caller]
fn expect_error(text: &str, path: &str, fragment: &str) {
    let line = text.lines().position(|l| l.contains(MARK)).unwrap() + 1;
    let errors = parse(text, "t.toml").expect_err("expected errors");
    let found = errors.iter().any(|e| {
        e.path.to_string() == path && e.line() == line && e.kind.to_string().contains(fragment)
    });
    assert!(
        found,
        "no error at {path} line {line} with {fragment:?}:\n{errors}"
    );
}

#[test]
fn absent_means_no_bfd() {
    let c = parse(EXAMPLE_NODE, "t.toml").unwrap();
    assert!(c.ospf.interfaces.iter().all(|i| i.bfd.is_none()));
}

#[test]
fn interval_and_multiplier_are_read() {
    let c = parse(
        &with_bfd("{ interval = \"100ms\", multiplier = 5 }"),
        "t.toml",
    )
    .unwrap();
    let b = c.ospf.interfaces[0].bfd.expect("bfd set");
    assert_eq!(b.interval(), Duration::from_millis(100));
    assert_eq!(b.multiplier(), 5);
    // The multiplier defaults to FRR's 3.
    let c = parse(&with_bfd("{ interval = \"10ms\" }"), "t.toml").unwrap();
    assert_eq!(c.ospf.interfaces[0].bfd.unwrap().multiplier(), 3);
    let c = parse(
        &with_bfd("{ interval = \"10s\", multiplier = 255 }"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        c.ospf.interfaces[0].bfd.unwrap().interval(),
        Duration::from_secs(10)
    );
}

#[test]
fn interval_out_of_bounds() {
    let path = "ospf.interface[0].bfd.interval";
    expect_error(
        &with_bfd("{ interval = \"9ms\" }"),
        path,
        "outside 10ms..=10s",
    );
    expect_error(
        &with_bfd("{ interval = \"11s\" }"),
        path,
        "outside 10ms..=10s",
    );
    expect_error(
        &with_bfd("{ interval = \"0s\" }"),
        path,
        "outside 10ms..=10s",
    );
}

#[test]
fn multiplier_out_of_bounds() {
    let path = "ospf.interface[0].bfd.multiplier";
    let range = "out of range 1..=255";
    expect_error(
        &with_bfd("{ interval = \"100ms\", multiplier = 0 }"),
        path,
        range,
    );
    expect_error(
        &with_bfd("{ interval = \"100ms\", multiplier = 256 }"),
        path,
        range,
    );
    // Both wrong: both reported.
    let text = with_bfd("{ interval = \"1ms\", multiplier = -1 }");
    expect_error(&text, path, range);
    expect_error(&text, "ospf.interface[0].bfd.interval", "outside");
}

#[test]
fn unknown_keys_and_missing_interval() {
    expect_error(
        &with_bfd("{ interval = \"100ms\", echo = true }"),
        "ospf.interface[0].bfd.echo",
        "unknown key",
    );
    expect_error(
        &with_bfd("{ multiplier = 3 }"),
        "ospf.interface[0].bfd.interval",
        "missing",
    );
}
