//! `xlvsadm sync` and the cluster-table line of `xlvsadm status`: flow-state
//! sync with the other directors, as text.

use std::fmt::Write;
use xlvs_api::reply::SyncReport;
use xlvs_sync::{BulkStatus, DropReason};

/// Where fetching the cluster's table stands, on one line.
pub fn table_status(b: &BulkStatus) -> String {
    match b {
        BulkStatus::NotStarted => "not started".into(),
        BulkStatus::WaitingForPeer => "waiting for a peer to answer (VIPs wait)".into(),
        BulkStatus::Fetching {
            peer,
            received,
            total,
            ..
        } => match total {
            Some(t) => format!("fetching from {peer}: {received} of {t} entries (VIPs wait)"),
            None => format!("fetching from {peer}: {received} entries so far (VIPs wait)"),
        },
        BulkStatus::Done { peer, entries } => format!("fetched {entries} entries from {peer}"),
        BulkStatus::Alone => "no peer was ready: started with our own table".into(),
        BulkStatus::TimedOut => {
            "timed out: peers did not complete a transfer; started with what arrived".into()
        }
    }
}

pub fn report(r: &SyncReport) -> String {
    let p = &r.protocol;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sync from {} ({:?}), session {}",
        p.address, p.state, p.session
    );
    let _ = writeln!(out, "cluster table: {}", table_status(&p.bulk));
    let _ = writeln!(
        out,
        "sent: {} datagrams, {} entries; queued {} datagrams, {} entries, {} for transfers",
        p.datagrams_sent, p.entries_sent, p.queued_datagrams, p.pending_entries, p.serving_entries
    );
    let t = &r.table;
    let _ = writeln!(
        out,
        "table: published {}, ring full {}; received: installed {}, refreshed {}, removed {}",
        t.published, t.ring_full, t.installed, t.refreshed, t.removed
    );
    for (why, n) in &t.not_installed {
        let _ = writeln!(out, "  not installed, {why}: {n}");
    }
    let x = &t.templates;
    let _ = writeln!(
        out,
        "persistence templates: published {}; received: installed {}, refreshed {}",
        x.published, x.installed, x.refreshed
    );
    for (why, n) in &x.not_installed {
        let _ = writeln!(out, "  template not installed, {why}: {n}");
    }
    if !r.peer_local_addresses.is_empty() {
        let addrs: Vec<String> = r
            .peer_local_addresses
            .iter()
            .map(|a| a.to_string())
            .collect();
        let _ = writeln!(
            out,
            "peers' local addresses announced here: {}",
            addrs.join(" ")
        );
    }
    let _ = writeln!(
        out,
        "{:<16} {:<10} {:<5} {:<8} {:>10} {:>10} {:>10} {:>9}  drops",
        "peer", "name", "up", "state", "heard", "received", "entries", "installs"
    );
    for peer in &p.peers {
        let heard = peer.last_heard_ms_ago.map_or("never".into(), |ms| {
            format!("{:.1}s ago", ms as f64 / 1000.0)
        });
        let state = peer.state.map_or("-".into(), |s| format!("{s:?}"));
        let c = &peer.counters;
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:<5} {:<8} {:>10} {:>10} {:>10} {:>9}  {}",
            peer.addr.to_string(),
            peer.name,
            if peer.up { "yes" } else { "NO" },
            state,
            heard,
            c.datagrams_received,
            c.entries_received,
            c.installs,
            drops(&c.drops)
        );
    }
    let unknown = drops(&p.unknown_drops);
    if unknown != "-" {
        let _ = writeln!(out, "dropped from unknown senders: {unknown}");
    }
    out
}

/// "auth 3, replay 1", or "-".
fn drops(d: &xlvs_sync::Drops) -> String {
    let parts: Vec<String> = DropReason::ALL
        .iter()
        .filter(|r| d.get(**r) > 0)
        .map(|r| format!("{} {}", r.name(), d.get(*r)))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}
