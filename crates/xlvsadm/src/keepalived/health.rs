//! `[service.health]` from keepalived's per-real checkers, with
//! keepalived's timer defaults written out.

use super::checker::{Checker, Kind};
use super::convert::{forward_maps, VirtualServer};
use super::notes::Notes;
use super::toml_out::{Table, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RETRY: u32 = 1;

/// `[service.health]` from the reals' checkers, with `alpha`.
pub(super) fn table(vs: &VirtualServer, forward: &str, notes: &mut Notes) -> Table {
    let mut t = check_table(vs, forward, notes);
    if vs.alpha {
        let none = Value::str("none");
        if t.entries
            .iter()
            .any(|e| e.key == "check" && e.value == none)
        {
            notes.drop(&vs.header, "alpha", "no check to pass: every real is up");
        } else {
            t.set("alpha", Value::Bool(true))
                .note("alpha: reals start down until their first passing check");
        }
    }
    t
}

fn check_table(vs: &VirtualServer, forward: &str, notes: &mut Notes) -> Table {
    let ctx = vs.header.as_str();
    let mut t = Table::new("[service.health]");
    let owner = vs.reals.iter().find(|r| !r.checkers.is_empty());
    let chosen = owner.and_then(|r| r.checkers.first());
    for r in &vs.reals {
        for extra in r.checkers.iter().skip(1) {
            notes.drop(
                &r.context,
                &extra.keyword,
                "the node config has one check per service",
            );
        }
        match (r.checkers.first(), chosen) {
            (Some(c), Some(first)) if c != first => notes.drop(
                &r.context,
                &c.keyword,
                if matches!(c.kind, Kind::Script(_)) {
                    "differs from the first real's; the node config runs one script, with the same arguments, for every real"
                } else {
                    "differs from the first real's check; the node config has one check per service, the first one's"
                },
            ),
            (None, Some(_)) => notes.warn(
                &r.context,
                "has no checker (always up in keepalived); the service's check applies to it",
            ),
            _ => {}
        }
    }
    let none = |t: &mut Table, why: &str| {
        t.set("check", Value::str("none")).note(why.to_string());
    };
    let Some(c) = chosen else {
        none(
            &mut t,
            "no checker keepalived could carry over: every real is up",
        );
        return t;
    };
    let entry = t.set(
        "check",
        Value::str(match &c.kind {
            Kind::Tcp => "tcp",
            Kind::Http { tls: false, .. } => "http",
            Kind::Http { tls: true, .. } => "https",
            Kind::Script(_) => "script",
        }),
    );
    entry.note(c.keyword.clone());
    match &c.kind {
        Kind::Http { path, status, .. } => {
            t.set("path", Value::str(path.clone()));
            let e = t.set("expect_status", Value::Int(status.unwrap_or(200).into()));
            if status.is_none() {
                e.note("url gave no status_code: keepalived accepts other 2xx codes too");
            }
        }
        Kind::Script(args) if args.is_empty() => {
            let mut t = Table::new("[service.health]");
            none(&mut t, "MISC_CHECK without misc_path");
            return t;
        }
        Kind::Script(args) => {
            t.set(
                "script",
                Value::List(args.iter().cloned().map(Value::Str).collect()),
            );
            let first = owner.map(|r| r.address.to_string()).unwrap_or_default();
            if vs.reals.len() > 1 && args.iter().any(|a| a.contains(&first)) {
                notes.warn(
                    ctx,
                    &format!("the script's arguments name {first}, one real; xlvsd runs this same command for every real (a wrapper script is needed to check each one)"),
                );
            }
        }
        Kind::Tcp => {}
    }
    if !matches!(c.kind, Kind::Script(_)) {
        // keepalived probes connect_port, else each real's own port.
        // The config's reals carry no port under dr/tun, so say which.
        let real_ports: BTreeSet<u16> = vs.reals.iter().map(|r| r.port).collect();
        let implicit = match (forward, real_ports.iter().next()) {
            ("dr" | "tun", Some(&p)) if real_ports.len() == 1 && p != vs.port && p != 0 => Some(p),
            _ => None,
        };
        match (c.port, implicit) {
            (Some(p), _) => t.set("port", Value::Int(p.into())).note("connect_port"),
            (None, Some(p)) => t
                .set("port", Value::Int(p.into()))
                .note("the real_server port keepalived checked"),
            (None, None) if vs.port == 0 && !forward_maps(forward) => {
                let mut t = Table::new("[service.health]");
                none(
                    &mut t,
                    "every-port service without connect_port: no port to check",
                );
                notes.drop(
                    ctx,
                    &c.keyword,
                    "an every-port service needs connect_port to be checked",
                );
                return t;
            }
            (None, None) => {}
        }
    }
    timers(vs, t, c, notes)
}

fn timers(vs: &VirtualServer, mut t: Table, c: &Checker, notes: &mut Notes) -> Table {
    let ctx = vs.header.as_str();
    let interval = match &vs.interval {
        Some((d, text)) => {
            t.set("interval", Value::duration(*d)).note(text.clone());
            *d
        }
        None => {
            t.set("interval", Value::duration(DEFAULT_DELAY_LOOP))
                .note("keepalived's default delay_loop");
            DEFAULT_DELAY_LOOP
        }
    };
    let timeout = c.timeout.or(vs.timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    if timeout >= interval {
        let shorter = Duration::from_millis((interval.as_millis() / 2).max(1) as u64);
        notes.drop(
            ctx,
            &format!("{}: timeout {}s", c.keyword, timeout.as_secs_f64()),
            "the node config wants it shorter than the interval; timeout = half the interval",
        );
        t.set("timeout", Value::duration(shorter));
    } else {
        t.set("timeout", Value::duration(timeout));
    }
    t.set("rise", Value::Int(1))
        .note("keepalived uses a real again after one passing check");
    let retry = c.retry.or(vs.retry);
    let fall = t.set(
        "fall",
        Value::Int((retry.unwrap_or(DEFAULT_RETRY) + 1).into()),
    );
    match retry {
        Some(n) => fall.note(format!("retry {n}: the failure and {n} more")),
        None => fall.note("keepalived's default: one retry"),
    }
    t
}
