//! `xlvsadm ospf ...`: plain text laid out like FRR's `show ip ospf`, or
//! the JSON as the daemon sends it.

use serde_json::Value;
use std::fmt::Write;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rows(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub fn neighbors(v: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<15} {:>3} {:<15} {:>9} {:>9} {:<15} {:<10} {:>5} {:>5} {:>5}",
        "Neighbor ID",
        "Pri",
        "State",
        "Up Time",
        "Dead Time",
        "Address",
        "Interface",
        "RXmtL",
        "RqstL",
        "DBsmL"
    );
    for n in rows(v) {
        let state = format!("{}/{}", s(&n["state"]), s(&n["role"]));
        let dead = n["dead_in_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "{:<15} {:>3} {:<15} {:>8}s {:>8.3}s {:<15} {:<10} {:>5} {:>5} {:>5}",
            s(&n["router_id"]),
            s(&n["priority"]),
            state,
            s(&n["up_for_s"]),
            dead,
            s(&n["address"]),
            s(&n["interface"]),
            s(&n["retransmit"]),
            s(&n["requests"]),
            s(&n["summary"]),
        );
    }
    out
}

pub fn database(v: &Value) -> String {
    let mut out = String::new();
    let mut last_type = String::new();
    for l in rows(v) {
        let kind = s(&l["type"]);
        if kind != last_type {
            let _ = writeln!(out, "\n{kind} link states\n");
            let _ = writeln!(
                out,
                "{:<15} {:<15} {:>4} {:<10} {:<6} Detail",
                "Link ID", "ADV Router", "Age", "Seq#", "CkSum"
            );
            last_type = kind;
        }
        let _ = writeln!(
            out,
            "{:<15} {:<15} {:>4} {:<10} {:<6} {}",
            s(&l["id"]),
            s(&l["adv_router"]),
            s(&l["age"]),
            s(&l["seq"]),
            s(&l["checksum"]),
            s(&l["detail"]),
        );
    }
    out
}

pub fn interfaces(v: &Value) -> String {
    let mut out = String::new();
    for i in rows(v) {
        let _ = writeln!(
            out,
            "{} is {}, address {}, network type {}, cost {}\n  \
             timers: hello {}s, dead {}s; DR {}, BDR {}\n  \
             neighbors {}, adjacent {}",
            s(&i["name"]),
            s(&i["state"]),
            s(&i["address"]),
            s(&i["network"]),
            s(&i["cost"]),
            s(&i["hello_interval"]),
            s(&i["dead_interval"]),
            s(&i["dr"]),
            s(&i["bdr"]),
            s(&i["neighbors"]),
            s(&i["adjacent"]),
        );
    }
    out
}

pub fn status(st: &xlvs_api::reply::Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "node {} (router id {})", st.node, st.router_id);
    if st.stopping {
        let _ = writeln!(
            out,
            "shutting down: routes withdrawn, the data plane forwards until the grace period ends"
        );
    }
    if let Some(table) = &st.cluster_table {
        let _ = writeln!(
            out,
            "cluster table (sync): {}",
            crate::sync::table_status(table)
        );
    }
    let _ = writeln!(out, "announced over OSPF:");
    for a in &st.announced {
        let _ = writeln!(out, "  {}/32 metric {}", a.address, a.metric);
    }
    let _ = writeln!(out, "VIPs:");
    for x in &st.vips {
        let state = if x.ready { "ready" } else { "NOT READY" };
        let _ = writeln!(out, "  {} {state}", x.vip);
        for why in &x.why {
            let _ = writeln!(out, "    {why}");
        }
        // The speaker refused the announcement or withdrawal: xlvsd tries
        // again every second.
        if let Some(error) = &x.announce_error {
            let _ = writeln!(out, "    OSPF: {error}");
        }
    }
    out
}

/// `xlvsadm ospf graceful`: a graceful restart under way, or none.
pub fn graceful(v: &Value) -> String {
    if v.is_null() {
        return "no graceful restart under way\n".into();
    }
    let mut out = format!("graceful restart: {}", s(&v["phase"]));
    if let Some(left) = v["remaining_s"].as_u64() {
        let _ = write!(out, ", grace period ends in {left} s");
    }
    out.push('\n');
    for w in rows(&v["waiting_for"]) {
        let _ = writeln!(out, "  waiting for {}", s(w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbor_table_has_frr_columns() {
        let v = serde_json::json!([{
            "router_id": "10.255.0.1", "priority": 1, "state": "Full", "role": "DR",
            "up_for_s": 12, "dead_in_ms": 3500, "address": "10.0.1.1", "interface": "eth1",
            "retransmit": 0, "requests": 0, "summary": 0
        }]);
        let t = neighbors(&v);
        assert!(t.starts_with("Neighbor ID"));
        assert!(t.contains("10.255.0.1        1 Full/DR"), "{t}");
        assert!(t.contains("3.500s"), "{t}");
    }

    #[test]
    fn status_shows_each_vip_why_and_a_failed_announcement() {
        let v = serde_json::json!({
            "node": "lb1", "router_id": "10.255.0.11", "stopping": false,
            "announced": [{"address": "192.0.2.10", "metric": 1}],
            "vips": [
                {"vip": "192.0.2.10", "ready": true, "why": ["service web port 80: 2 of 2 reals usable, quorum 1"], "announce_error": null},
                {"vip": "192.0.2.20", "ready": true, "why": ["service dns port 53: 1 of 1 reals usable, quorum 1"],
                 "announce_error": "announcing failed (2 attempts, tried again every second): the OSPF speaker has stopped"},
            ]
        });
        // The JSON as the daemon sends it, read as the CLI reads it.
        let st = xlvs_api::reply::parse(v).unwrap();
        assert_eq!(
            status(&st),
            "node lb1 (router id 10.255.0.11)
announced over OSPF:
  192.0.2.10/32 metric 1
VIPs:
  192.0.2.10 ready
    service web port 80: 2 of 2 reals usable, quorum 1
  192.0.2.20 ready
    service dns port 53: 1 of 1 reals usable, quorum 1
    OSPF: announcing failed (2 attempts, tried again every second): the OSPF speaker has stopped
"
        );
    }
}
