//! Reading the values of keepalived settings. A value that does not read
//! is noted as not carried over, and the setting is left out.

use super::notes::Notes;
use super::tree::Stmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The one value of `s`.
pub fn single<'a>(s: &'a Stmt, ctx: &str, notes: &mut Notes) -> Option<&'a str> {
    match s.values.as_slice() {
        [v] => Some(v),
        [] => {
            notes.drop(ctx, &s.text(), "a value is missing");
            None
        }
        _ => {
            notes.drop(ctx, &s.text(), "expected one value");
            None
        }
    }
}

/// Seconds, whole or decimal (`3`, `1.5`), more than 0.
pub fn seconds(s: &Stmt, ctx: &str, notes: &mut Notes) -> Option<Duration> {
    let v = single(s, ctx, notes)?;
    match v.parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1e9 => Some(Duration::from_millis((x * 1000.0).round() as u64)),
        _ => {
            notes.drop(ctx, &s.text(), "not a number of seconds above 0");
            None
        }
    }
}

/// A count, 0 or more.
pub fn count(s: &Stmt, ctx: &str, notes: &mut Notes) -> Option<u32> {
    let v = single(s, ctx, notes)?;
    v.parse().ok().or_else(|| {
        notes.drop(ctx, &s.text(), "not a whole number");
        None
    })
}

/// A port, 0..=65535.
pub fn port(s: &Stmt, ctx: &str, notes: &mut Notes) -> Option<u16> {
    let v = single(s, ctx, notes)?;
    parse_port(v).or_else(|| {
        notes.drop(ctx, &s.text(), "not a port");
        None
    })
}

pub fn parse_port(v: &str) -> Option<u16> {
    v.parse().ok()
}

/// A dotted IPv4 address.
pub fn ipv4(v: &str) -> Option<Ipv4Addr> {
    if v.split('.').count() != 4 {
        return None;
    }
    v.parse().ok()
}
