//! node_exporter's `ipvs` collector families, under an `xlvs_` prefix
//! and with its exact label names, so that dashboards and alerts written
//! for IPVS directors work on xlvs by changing the prefix
//! (`node_ipvs_` -> `xlvs_ipvs_`). docs/metrics.md has the mapping.
//!
//! As node_exporter does: the totals have no labels; a real is one series
//! per (virtual address, port, real address, port, protocol), summed when
//! two services list the same; `local_mark` is always empty (xlvs has no
//! firewall-mark services: a service's several ports are listed one by
//! one, as ipvsadm lists them).

use super::exposition::{Exposition, Kind, Labels};
use super::snapshot::ServiceMetrics;
use std::collections::BTreeMap;

/// The backend series' labels, in node_exporter's order.
fn backend_labels(key: &BackendKey) -> Labels {
    vec![
        ("local_address", key.0.clone()),
        ("local_port", key.1.to_string()),
        ("remote_address", key.2.clone()),
        ("remote_port", key.3.to_string()),
        ("proto", key.4.to_string()),
        ("local_mark", String::new()),
    ]
}

type BackendKey = (String, u16, String, u16, &'static str);

#[derive(Default, Clone, Copy)]
struct Backend {
    active: u64,
    inactive: u64,
    weight: u64,
}

pub(super) fn render(e: &mut Exposition, services: &[ServiceMetrics]) {
    use Kind::*;
    let sum = |f: fn(&xlvs_api::ipvs::Stats) -> u64| -> u64 {
        services.iter().map(|s| f(&s.entry.stats)).sum()
    };
    for (name, help, v) in [
        (
            "xlvs_ipvs_connections_total",
            "The total number of connections made (node_exporter's node_ipvs_connections_total).",
            sum(|s| s.conns),
        ),
        (
            "xlvs_ipvs_incoming_packets_total",
            "The total number of incoming packets (node_ipvs_incoming_packets_total).",
            sum(|s| s.in_pkts),
        ),
        (
            "xlvs_ipvs_outgoing_packets_total",
            "The total number of outgoing packets (node_ipvs_outgoing_packets_total): NAT and FULLNAT replies.",
            sum(|s| s.out_pkts),
        ),
        (
            "xlvs_ipvs_incoming_bytes_total",
            "The total amount of incoming data (node_ipvs_incoming_bytes_total).",
            sum(|s| s.in_bytes),
        ),
        (
            "xlvs_ipvs_outgoing_bytes_total",
            "The total amount of outgoing data (node_ipvs_outgoing_bytes_total): NAT and FULLNAT replies.",
            sum(|s| s.out_bytes),
        ),
    ] {
        e.family(name, Counter, help, [(vec![], v)]);
    }

    let mut backends: BTreeMap<BackendKey, Backend> = BTreeMap::new();
    for s in services {
        for r in &s.reals {
            let key = (
                s.entry.vip.to_string(),
                s.entry.port,
                r.entry.address.to_string(),
                r.entry.port,
                s.entry.protocol.ipvsadm_name(),
            );
            let b = backends.entry(key).or_default();
            b.active += r.entry.active_conns;
            b.inactive += r.entry.inactive_conns;
            b.weight += u64::from(r.entry.weight);
        }
    }
    type Of = fn(&Backend) -> u64;
    let families: [(&str, &str, Of); 3] = [
        (
            "xlvs_ipvs_backend_connections_active",
            "The current active connections by local and remote address (node_ipvs_backend_connections_active).",
            |b| b.active,
        ),
        (
            "xlvs_ipvs_backend_connections_inactive",
            "The current inactive connections by local and remote address (node_ipvs_backend_connections_inactive).",
            |b| b.inactive,
        ),
        (
            "xlvs_ipvs_backend_weight",
            "The current backend weight by local and remote address (node_ipvs_backend_weight).",
            |b| b.weight,
        ),
    ];
    for (name, help, f) in families {
        let samples = backends.iter().map(|(k, b)| (backend_labels(k), f(b)));
        e.family(name, Gauge, help, samples);
    }
}
