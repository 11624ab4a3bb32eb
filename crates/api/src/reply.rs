//! What xlvsd answers, typed, for the commands whose answer is its own
//! (the OSPF views are xlvs-ospf's types, `ipvs.list` is [`crate::ipvs`]).
//! The daemon builds these, clients read them back with [`parse`].

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// `status`: the node, what the OSPF speaker announces, and every VIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub node: String,
    pub router_id: Ipv4Addr,
    /// Shutting down: routes withdrawn, the data plane still forwarding.
    pub stopping: bool,
    /// With `[cluster]`: where fetching the cluster's connection table
    /// stands (VIPs wait for it); none without.
    #[serde(default)]
    pub cluster_table: Option<xlvs_sync::BulkStatus>,
    pub announced: Vec<Announced>,
    pub vips: Vec<VipStatus>,
}

/// An address the speaker announces (a /32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    pub address: Ipv4Addr,
    pub metric: u16,
}

/// One VIP: whether it is ready to be announced, and why (one line per
/// service port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipStatus {
    pub vip: Ipv4Addr,
    pub ready: bool,
    pub why: Vec<String>,
    /// Why the speaker refused its last announcement or withdrawal (xlvsd
    /// tries again every second), or none.
    pub announce_error: Option<String>,
}

/// `health`: one row per real (and sorry server) of each service port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRow {
    pub service: String,
    pub port: u16,
    pub real: Ipv4Addr,
    pub sorry_server: bool,
    /// Takes new flows now.
    pub usable: bool,
    /// The weight programmed now (slow start ramps it up).
    pub weight: u32,
    /// Why not usable, or what limits it; empty when nothing does.
    pub why: String,
    /// The health check's verdict: `passing`, `failing`, or `awaiting`
    /// (alpha: before its first pass); `serving` or `standby` for a sorry
    /// server.
    #[serde(default)]
    pub check: String,
    /// Seconds since that verdict last changed; `None` when it has not
    /// since xlvsd started or the real was added.
    #[serde(default)]
    pub changed_s_ago: Option<u64>,
}

/// `drain` and `undrain`: the services concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drained {
    pub services: Vec<String>,
    pub drained: bool,
}

/// `ospf.announce` and `ospf.withdraw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressChanged {
    pub address: Ipv4Addr,
}

/// `restart.graceful`: the grace-LSAs are acknowledged; xlvsd exits with
/// `exit_code` and must start again within the grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPrepared {
    pub grace_period_s: u64,
    pub adjacencies: usize,
    pub exit_code: u8,
}

/// `reload`: what changed, in a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reloaded {
    pub reloaded: String,
}

/// A reply's data, as the daemon sent it, read back as `T`.
pub fn parse<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(data).map_err(|e| format!("xlvsd sent an unexpected answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_back_what_the_daemon_writes() {
        let status = Status {
            node: "lb1".into(),
            router_id: Ipv4Addr::new(10, 255, 0, 11),
            stopping: false,
            cluster_table: Some(xlvs_sync::BulkStatus::Done {
                peer: Ipv4Addr::new(10, 0, 2, 12),
                entries: 7,
            }),
            announced: vec![Announced {
                address: Ipv4Addr::new(192, 0, 2, 10),
                metric: 1,
            }],
            vips: vec![VipStatus {
                vip: Ipv4Addr::new(192, 0, 2, 10),
                ready: true,
                why: vec!["service web port 80: 2 of 2 reals usable, quorum 1".into()],
                announce_error: None,
            }],
        };
        let wire = serde_json::to_value(&status).unwrap();
        assert_eq!(wire["vips"][0]["announce_error"], serde_json::Value::Null);
        assert_eq!(wire["announced"][0]["address"], "192.0.2.10");
        assert_eq!(wire["cluster_table"]["status"], "done");
        assert_eq!(parse::<Status>(wire), Ok(status));
    }

    #[test]
    fn an_unexpected_answer_is_an_error_not_a_panic() {
        let e = parse::<Drained>(serde_json::json!({"services": 3})).unwrap_err();
        assert!(e.contains("unexpected answer"), "{e}");
    }
}

/// `sync`: flow-state sync with the other directors (docs/sync.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The protocol's view: peers, datagrams, drops, the table transfer.
    pub protocol: xlvs_sync::Stats,
    /// What this director did with what it received and reported.
    pub table: SyncTable,
    /// The other directors' FULLNAT local addresses announced here at the
    /// higher metric, so their reals' answers reach a survivor.
    pub peer_local_addresses: Vec<Ipv4Addr>,
}

/// The connection table's side of sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTable {
    /// Entries the data plane reported (new, refreshed, closing) and that
    /// were published.
    pub published: u64,
    /// Reports the ring could not take (the data plane's sync_ring_full).
    pub ring_full: u64,
    /// Received entries written into the connection table.
    pub installed: u64,
    /// Received entries that refreshed one already there.
    pub refreshed: u64,
    pub removed: u64,
    /// Received entries left out, by reason (`ours_already`,
    /// `ours_is_lower`, `no_service`, `no_real`, `other_forward`,
    /// `error`, ...).
    pub not_installed: std::collections::BTreeMap<String, u64>,
    /// Persistence templates, counted apart from connection entries.
    #[serde(default)]
    pub templates: SyncTemplates,
}

/// Persistence templates synced (docs/sync.md): the same counts as for
/// connection entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTemplates {
    /// Templates the data plane reported (made, refreshed) and that were
    /// published.
    pub published: u64,
    /// Received templates written into the templates map.
    pub installed: u64,
    /// Received templates that refreshed one already there (same owner
    /// and real).
    pub refreshed: u64,
    /// Received templates left out, by reason (as for entries).
    pub not_installed: std::collections::BTreeMap<String, u64>,
}
