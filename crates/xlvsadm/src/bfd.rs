//! `xlvsadm bfd`: the sessions laid out like FRR's `show bfd peers brief`
//! plus the negotiated timers, then each session's counters and the
//! instance's drops by reason.

use serde_json::Value;
use std::fmt::Write;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Microseconds as milliseconds, "-" when absent.
fn ms(v: &Value) -> String {
    v.as_u64()
        .map(|us| format!("{}", us as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// `{"ttl": 3, "truncated": 1}` as "ttl 3, truncated 1".
fn drops(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

pub fn sessions(v: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<15} {:<10} {:<15} {:<9} {:>10} {:>10} {:>7} {:>7} {:>9} {:>9} Last diag",
        "Peer",
        "Interface",
        "Neighbor ID",
        "State",
        "LocalDisc",
        "RemoteDisc",
        "TX ms",
        "RX ms",
        "Detect ms",
        "Up for",
    );
    let sessions = v["sessions"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for x in sessions {
        let up = x["up_for_ms"]
            .as_u64()
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<15} {:<10} {:<15} {:<9} {:>10} {:>10} {:>7} {:>7} {:>9} {:>9} {}",
            s(&x["peer"]),
            s(&x["interface"]),
            s(&x["router_id"]),
            s(&x["state"]),
            s(&x["local_discriminator"]),
            s(&x["remote_discriminator"]),
            ms(&x["tx_interval_us"]),
            ms(&x["required_min_rx_us"]),
            ms(&x["detection_time_us"]),
            up,
            s(&x["last_diag"]),
        );
    }
    for x in sessions {
        let c = &x["counters"];
        let _ = writeln!(
            out,
            "\n{} (session {}): received {}, sent {}, dropped: {}; peer advertises TX {} ms, RX {} ms, multiplier {}",
            s(&x["peer"]),
            s(&x["id"]),
            s(&c["received"]),
            s(&c["sent"]),
            drops(&c["dropped"]),
            ms(&x["remote_desired_min_tx_us"]),
            ms(&x["remote_required_min_rx_us"]),
            s(&x["remote_multiplier"]),
        );
        if let Some(note) = x["note"].as_str() {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    let c = &v["counters"];
    let _ = writeln!(
        out,
        "\nAll sessions: received {}, sent {}, send errors {}, dropped: {}",
        s(&c["received"]),
        s(&c["sent"]),
        s(&v["send_errors"]),
        drops(&c["dropped"]),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_its_counters_and_the_drops() {
        let v = serde_json::json!({
            "sessions": [{
                "id": 1, "peer": "10.0.1.1", "interface": "eth1", "router_id": "10.255.0.1",
                "state": "Up", "local_discriminator": 7, "remote_discriminator": 9,
                "tx_interval_us": 100000, "required_min_rx_us": 100000,
                "detection_time_us": 300000, "up_for_ms": 1500, "last_diag": "None",
                "remote_desired_min_tx_us": 100000, "remote_required_min_rx_us": 100000,
                "remote_multiplier": 3,
                "counters": {"received": 20, "sent": 21, "dropped": {"ttl": 2}},
            }],
            "counters": {"received": 25, "sent": 21, "dropped": {"ttl": 2, "unknown_session": 3}},
            "send_errors": 0,
        });
        let text = sessions(&v);
        assert!(text.contains("10.0.1.1        eth1"), "{text}");
        assert!(
            text.contains("100     100       300      1.5s None\n"),
            "{text}"
        );
        assert!(text.contains("dropped: ttl 2;"), "{text}");
        assert!(text.contains("dropped: ttl 2, unknown_session 3"), "{text}");
        assert!(!text.contains("note"), "{text}");
    }
}
