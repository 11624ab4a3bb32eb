//! Text for the daemon's answers to `health`, `drain`, `undrain`,
//! `reload` and `ospf stats` (`--json` prints the answers as they are).
//! `health` is what an operator reads during an incident: one line per
//! real, with whether it takes new flows, the weight in force, the health
//! check's verdict and since when, and why.

use std::fmt::Write;
use xlvs_api::reply::{Drained, HealthRow, Reloaded};

/// "12s", "3m04s", "2h05m", "3d04h".
fn ago(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

pub fn health(rows: &[HealthRow]) -> String {
    if rows.is_empty() {
        return "no services\n".into();
    }
    let mut table: Vec<[String; 8]> = vec![[
        "SERVICE",
        "PORT",
        "REAL",
        "NEW FLOWS",
        "WEIGHT",
        "CHECK",
        "SINCE",
        "WHY",
    ]
    .map(String::from)];
    for r in rows {
        let real = if r.sorry_server {
            format!("{} (sorry)", r.real)
        } else {
            r.real.to_string()
        };
        let since = r
            .changed_s_ago
            .map_or_else(|| "start".to_string(), |s| format!("{} ago", ago(s)));
        let since = if r.sorry_server { "-".into() } else { since };
        table.push([
            r.service.clone(),
            r.port.to_string(),
            real,
            if r.usable { "yes" } else { "NO" }.into(),
            r.weight.to_string(),
            r.check.clone(),
            since,
            r.why.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| table.iter().map(|row| row[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn drained(d: &Drained) -> String {
    let what = if d.drained { "drained" } else { "undrained" };
    match d.services.as_slice() {
        [] => format!("{what}: no services\n"),
        s => format!("{what}: {}\n", s.join(", ")),
    }
}

pub fn reloaded(r: &Reloaded) -> String {
    format!("reloaded: {}\n", r.reloaded)
}

/// The speaker's counters (`ospf.stats`: xlvs-ospf's `Stats` as JSON).
pub fn ospf_stats(v: &serde_json::Value) -> Result<String, String> {
    let count = |k: &str| {
        v[k].as_u64()
            .ok_or_else(|| format!("ospf stats: no count {k} in the answer"))
    };
    let mut out = String::new();
    for (what, key) in [
        ("packets received", "rx_packets"),
        ("packets sent", "tx_packets"),
        ("malformed packets", "malformed"),
        ("authentication failures", "auth_failures"),
        ("LSA checksum errors", "bad_lsa_checksums"),
    ] {
        let _ = writeln!(out, "{what:<24} {}", count(key)?);
    }
    let mismatches = v["mismatches"].as_object().cloned().unwrap_or_default();
    if mismatches.is_empty() {
        out.push_str("config mismatches        none\n");
    }
    for (kind, n) in &mismatches {
        let _ = writeln!(out, "config mismatch: {kind:<8} {n}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn row(real: u8, usable: bool, check: &str, ago: Option<u64>, why: &str) -> HealthRow {
        HealthRow {
            service: "web".into(),
            port: 80,
            real: Ipv4Addr::new(10, 0, 1, real),
            sorry_server: real == 29,
            usable,
            weight: u32::from(usable),
            why: why.into(),
            check: check.into(),
            changed_s_ago: ago,
        }
    }

    #[test]
    fn health_is_one_aligned_line_per_real() {
        let rows = [
            row(21, true, "passing", None, ""),
            row(22, false, "failing", Some(184), "failing its health check"),
            row(
                29,
                false,
                "standby",
                None,
                "sorry server 10.0.1.29 stands by",
            ),
        ];
        assert_eq!(
            health(&rows),
            "SERVICE  PORT  REAL               NEW FLOWS  WEIGHT  CHECK    SINCE      WHY\n\
             web      80    10.0.1.21          yes        1       passing  start\n\
             web      80    10.0.1.22          NO         0       failing  3m04s ago  failing its health check\n\
             web      80    10.0.1.29 (sorry)  NO         0       standby  -          sorry server 10.0.1.29 stands by\n"
        );
        assert_eq!(health(&[]), "no services\n");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(ago(5), "5s");
        assert_eq!(ago(184), "3m04s");
        assert_eq!(ago(7500), "2h05m");
        assert_eq!(ago(3 * 86400 + 4 * 3600), "3d04h");
    }

    #[test]
    fn one_line_answers() {
        let d = Drained {
            services: vec!["web".into(), "api".into()],
            drained: true,
        };
        assert_eq!(drained(&d), "drained: web, api\n");
        let u = Drained {
            services: vec![],
            drained: false,
        };
        assert_eq!(drained(&u), "undrained: no services\n");
        let r = Reloaded {
            reloaded: "1 service changed".into(),
        };
        assert_eq!(reloaded(&r), "reloaded: 1 service changed\n");
        let mut s = serde_json::json!({
            "rx_packets": 10, "tx_packets": 12, "malformed": 0, "auth_failures": 0,
            "bad_lsa_checksums": 0, "mismatches": {}
        });
        let text = ospf_stats(&s).unwrap();
        assert!(text.starts_with("packets received         10\n"), "{text}");
        assert!(text.ends_with("config mismatches        none\n"), "{text}");
        s["mismatches"]["MTU"] = 3.into();
        assert!(ospf_stats(&s)
            .unwrap()
            .ends_with("config mismatch: MTU      3\n"));
        s["tx_packets"] = serde_json::Value::Null;
        assert!(ospf_stats(&s).is_err(), "an answer of another shape");
    }
}
