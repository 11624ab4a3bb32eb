//! The BFD families: each session's state, the state changes, and the
//! packets received, sent and dropped by reason (what `xlvsadm bfd`
//! shows, for alerting).

use super::exposition::{Exposition, Kind};
use xlvs_ospf_driver::BfdStatus;

pub(super) fn render(e: &mut Exposition, b: &BfdStatus) {
    use Kind::*;
    e.family(
        "xlvs_bfd_session_state",
        Gauge,
        "BFD session state as on the wire (RFC 5880): 0 AdminDown, 1 Down, 2 Init, 3 Up.",
        b.sessions.iter().map(|s| {
            let labels = vec![
                ("interface", s.interface.clone()),
                ("neighbor", s.router_id.to_string()),
                ("peer", s.session.peer.to_string()),
            ];
            (labels, s.session.state as u8)
        }),
    );
    e.family(
        "xlvs_bfd_state_changes_total",
        Counter,
        "BFD session state changes since start, by the state entered.",
        b.state_changes
            .iter()
            .map(|(to, n)| (vec![("to", to.clone())], *n)),
    );
    let c = &b.counters;
    for (name, help, v) in [
        (
            "xlvs_bfd_packets_received_total",
            "BFD datagrams received on port 3784, dropped or not.",
            c.received,
        ),
        (
            "xlvs_bfd_packets_sent_total",
            "BFD Control packets sent.",
            c.sent,
        ),
        (
            "xlvs_bfd_send_errors_total",
            "BFD Control packets the kernel refused to send.",
            b.send_errors,
        ),
    ] {
        e.family(name, Counter, help, [(vec![], v)]);
    }
    e.family(
        "xlvs_bfd_packets_dropped_total",
        Counter,
        "BFD datagrams dropped, by reason (ttl, truncated, bad_length, bad_version, zero_multiplier, zero_discriminator, unknown_session, ...).",
        c.dropped
            .iter()
            .map(|(reason, n)| (vec![("reason", reason.name().to_string())], n)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};
    use xlvs_bfd::{Bfd, SessionConfig};
    use xlvs_ospf_driver::BfdSession;

    #[test]
    fn state_per_session_and_drops_by_reason() {
        let now = Instant::now();
        let mut core = Bfd::new(1);
        let cfg = SessionConfig::new(Duration::from_millis(100), 3).unwrap();
        let peer = "10.0.2.0".parse().unwrap();
        core.add_session(now, peer, "10.0.2.1".parse().unwrap(), cfg)
            .unwrap();
        // A datagram with TTL 254: dropped as `ttl`.
        core.handle_packet(now, peer, "10.0.2.1".parse().unwrap(), 254, &[0; 24]);
        let status = BfdStatus {
            sessions: vec![BfdSession {
                interface: "eth1".into(),
                router_id: "10.255.0.1".parse().unwrap(),
                session: core.sessions(now).remove(0),
                note: None,
            }],
            counters: core.counters().clone(),
            state_changes: BTreeMap::from([("Up".to_string(), 2)]),
            send_errors: 0,
        };
        let snapshot = super::super::snapshot::Snapshot {
            bfd: Some(status),
            ..Default::default()
        };
        let text = super::super::exposition::render(&snapshot);
        for line in [
            r#"xlvs_bfd_session_state{interface="eth1",neighbor="10.255.0.1",peer="10.0.2.0"} 1"#,
            r#"xlvs_bfd_state_changes_total{to="Up"} 2"#,
            "xlvs_bfd_packets_received_total 1",
            r#"xlvs_bfd_packets_dropped_total{reason="ttl"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
