//! `[service.health]` from keepalived's per-real checkers, with
//! keepalived's timer defaults written out, and a `[service.real.health]`
//! for a real whose checker has timers (or a port) of its own.

use super::checker::{Checker, Kind};
use super::convert::{forward_maps, port_for, Real, VirtualServer};
use super::notes::Notes;
use super::toml_out::{Table, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RETRY: u32 = 1;

/// `[service.health]` from the reals' checkers, with `alpha`; and for each
/// real (in order) its `[service.real.health]`, if it needs one.
pub(super) fn tables(
    vs: &VirtualServer,
    forward: &str,
    notes: &mut Notes,
) -> (Table, Vec<Option<Table>>) {
    let (mut t, service) = check_table(vs, forward, notes);
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
    let own = vs
        .reals
        .iter()
        .map(|r| own_table(vs, r, forward, service.as_ref(), notes))
        .collect();
    (t, own)
}

/// What `[service.health]` sets, to compare each real's checker with.
struct ServiceCheck<'a> {
    checker: &'a Checker,
    /// `port`, when written.
    port: Option<u16>,
    timers: Timers,
}

/// keepalived's timers of one checker, as the node config's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timers {
    interval: Duration,
    timeout: Duration,
    fall: u32,
    /// The timeout keepalived had, when it was not shorter than the
    /// interval and `timeout` is half the interval instead.
    shortened: Option<Duration>,
}

impl Timers {
    /// Checker `c` of a real whose own delay_loop is `own_interval`.
    fn of(vs: &VirtualServer, own_interval: Option<Duration>, c: &Checker) -> Timers {
        let interval = own_interval
            .or(vs.interval.as_ref().map(|(d, _)| *d))
            .unwrap_or(DEFAULT_DELAY_LOOP);
        let timeout = c.timeout.or(vs.timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let retry = c.retry.or(vs.retry).unwrap_or(DEFAULT_RETRY);
        let shortened = (timeout >= interval).then_some(timeout);
        Timers {
            interval,
            timeout: match shortened {
                Some(_) => Duration::from_millis((interval.as_millis() / 2).max(1) as u64),
                None => timeout,
            },
            fall: retry + 1,
            shortened,
        }
    }
}

/// Notes a timeout the node config refuses, for `ctx`.
fn note_shortened(ctx: &str, c: &Checker, timers: &Timers, notes: &mut Notes) {
    if let Some(timeout) = timers.shortened {
        notes.drop(
            ctx,
            &format!("{}: timeout {}s", c.keyword, timeout.as_secs_f64()),
            "the node config wants it shorter than the interval; timeout = half the interval",
        );
    }
}

/// `[service.real.health]` of `r`: where keepalived would check it with
/// other timers, or on another port, than `[service.health]` says.
fn own_table(
    vs: &VirtualServer,
    r: &Real,
    forward: &str,
    service: Option<&ServiceCheck>,
    notes: &mut Notes,
) -> Option<Table> {
    let own = r.checkers.first();
    let (Some(service), Some(c)) = (service, own) else {
        if let Some((_, text)) = &r.interval {
            notes.drop(&r.context, text, "no checker of this real is carried over");
        }
        return None;
    };
    if c.kind != service.checker.kind {
        // Dropped as a whole by check_table.
        if let Some((_, text)) = &r.interval {
            notes.drop(&r.context, text, "this real's checker is not carried over");
        }
        return None;
    }
    let mut t = Table::new("[service.real.health]");
    let timers = Timers::of(vs, r.interval.as_ref().map(|(d, _)| *d), c);
    let theirs = service.timers;
    if timers.interval != theirs.interval {
        let text = r.interval.as_ref().map_or("delay_loop", |(_, text)| text);
        t.set("interval", Value::duration(timers.interval))
            .note(text.to_string());
    }
    if timers.timeout != theirs.timeout {
        note_shortened(&r.context, c, &timers, notes);
        let e = t.set("timeout", Value::duration(timers.timeout));
        if timers.shortened.is_none() {
            e.note(format!("{}: connect_timeout", c.keyword));
        }
    }
    if timers.fall != theirs.fall {
        let retry = timers.fall - 1;
        t.set("fall", Value::Int(timers.fall.into()))
            .note(format!("retry {retry}: the failure and {retry} more"));
    }
    if !matches!(c.kind, Kind::Script(_)) {
        // keepalived probes connect_port, else the real's own port.
        let probed = c.port.unwrap_or(r.port);
        let real_port = port_for(forward, vs.port, r.port).ok().flatten();
        let service_port = (vs.port != 0).then_some(vs.port);
        let ours = service.port.or(real_port).or(service_port);
        if probed != 0 && Some(probed) != ours {
            let e = t.set("port", Value::Int(probed.into()));
            e.note(match c.port {
                Some(_) => "connect_port",
                None => "the real_server port keepalived checked",
            });
        }
    }
    (!t.entries.is_empty()).then_some(t)
}

fn check_table<'a>(
    vs: &'a VirtualServer,
    forward: &str,
    notes: &mut Notes,
) -> (Table, Option<ServiceCheck<'a>>) {
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
        // Timers and ports may differ: own_table carries them.
        match (r.checkers.first(), chosen) {
            (Some(c), Some(first)) if c.kind != first.kind => notes.drop(
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
        return (t, None);
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
            return (t, None);
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
    let mut port = None;
    if !matches!(c.kind, Kind::Script(_)) {
        // keepalived probes connect_port, else each real's own port.
        // The config's reals carry no port under dr/tun, so say which.
        let real_ports: BTreeSet<u16> = vs.reals.iter().map(|r| r.port).collect();
        let implicit = match (forward, real_ports.iter().next()) {
            ("dr" | "tun", Some(&p)) if real_ports.len() == 1 && p != vs.port && p != 0 => Some(p),
            _ => None,
        };
        port = c.port.or(implicit);
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
                return (t, None);
            }
            (None, None) => {}
        }
    }
    let timers = write_timers(vs, &mut t, c, notes);
    let service = ServiceCheck {
        checker: c,
        port,
        timers,
    };
    (t, Some(service))
}

/// The service's timers: the virtual_server's delay_loop, and the first
/// checker's timeout and retry.
fn write_timers(vs: &VirtualServer, t: &mut Table, c: &Checker, notes: &mut Notes) -> Timers {
    let timers = Timers::of(vs, None, c);
    match &vs.interval {
        Some((_, text)) => t
            .set("interval", Value::duration(timers.interval))
            .note(text.clone()),
        None => t
            .set("interval", Value::duration(timers.interval))
            .note("keepalived's default delay_loop"),
    }
    note_shortened(&vs.header, c, &timers, notes);
    t.set("timeout", Value::duration(timers.timeout));
    t.set("rise", Value::Int(1))
        .note("keepalived uses a real again after one passing check");
    let fall = t.set("fall", Value::Int(timers.fall.into()));
    match c.retry.or(vs.retry) {
        Some(n) => fall.note(format!("retry {n}: the failure and {n} more")),
        None => fall.note("keepalived's default: one retry"),
    }
    timers
}
