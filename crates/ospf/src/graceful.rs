//! Graceful restart as the restarting router (RFC 3623 section 2), for a
//! planned restart such as an upgrade of xlvsd. The data plane forwards on
//! while the process restarts; the routers, as helpers, keep our routes.
//!
//! - Before: [`Instance::prepare_graceful_restart`] floods a grace-LSA on
//!   every interface (a link-local opaque LSA with the grace period). A
//!   helper that takes the role acknowledges it (FRR refuses to install,
//!   and so to acknowledge, one it will not help with), so
//!   [`Instance::grace_acknowledged`] says when every adjacency helps. The
//!   process then exits without flushing anything.
//! - After: [`Instance::resume_graceful_restart`], before the interfaces
//!   come up. "The restarting router does not originate LSAs" (2.2): the
//!   instances the network holds from before the restart are installed as
//!   received and neither flushed nor taken over. Once every adjacency of
//!   our pre-restart Router-LSA is Full again and every address it (or an
//!   AS-external LSA of ours) announced is announced again, or once the
//!   grace period runs out, the restart ends (2.3): our LSAs are originated
//!   afresh, past the old sequence numbers, and the grace-LSAs flushed.
//!
//! Opaque LSAs: we say we are opaque-capable (routers accept grace-LSAs only
//! from such neighbors), so routers may send us theirs. A host that never
//! transits traffic has no use for them: they are acknowledged, never kept,
//! requested or flooded on.

use crate::instance::Instance;
use crate::interface::IfState;
use crate::lsdb::Entry;
use crate::neighbor::NbrState;
use crate::wire::hello::options;
use crate::wire::lsa::{INITIAL_SEQ, MAX_AGE};
use crate::wire::{
    GraceLsa, LinkType, Lsa, LsaHeader, LsaKey, LsaType, RestartReason, RouterLsa, GRACE_LSA_ID,
};
use std::cmp::Ordering;
use std::net::Ipv4Addr;
use std::time::Instant;

/// Where we are in a graceful restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grace {
    Off,
    /// Grace-LSAs with sequence number `seq` and a grace period of
    /// `period` seconds are out: the process is about to restart.
    Prepared {
        seq: i32,
        period: u32,
    },
    /// Restarted; the helpers keep our routes until `until`. `seq` is the
    /// highest grace-LSA instance of ours the network may hold.
    Restarting {
        until: Instant,
        seq: i32,
    },
}

/// What `graceful_status` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GracefulInfo {
    /// "prepared" or "restarting".
    pub phase: &'static str,
    /// Seconds until the grace period ends (restarting only).
    pub remaining_s: Option<u64>,
    /// Restarting: what the restart still waits for.
    pub waiting_for: Vec<String>,
}

impl Instance {
    /// Floods a grace-LSA announcing a restart within `grace_period`
    /// seconds on every interface that is up, and returns its sequence
    /// number. Poll [`grace_acknowledged`](Self::grace_acknowledged)
    /// before exiting, and hand the restarted process
    /// [`prepared_grace_seq`](Self::prepared_grace_seq) then.
    pub fn prepare_graceful_restart(&mut self, now: Instant, grace_period: u32) -> i32 {
        // Asked again: a newer instance, with the new period.
        let seq = match self.grace {
            Grace::Prepared { seq, .. } => seq + 1,
            _ => INITIAL_SEQ,
        };
        self.grace = Grace::Prepared {
            seq,
            period: grace_period,
        };
        for iface in 0..self.ifaces.len() {
            if self.ifaces[iface].state != IfState::Down {
                self.originate_grace(now, iface, seq, 0, grace_period);
            }
        }
        tracing::info!(grace_period, "graceful restart prepared: grace-LSAs sent");
        seq
    }

    /// Whether every adjacency acknowledged our grace-LSA (a helper does;
    /// a router that will not help does not).
    pub fn grace_acknowledged(&self) -> bool {
        let key = grace_key(self.router_id);
        !self
            .ifaces
            .iter()
            .flat_map(|i| i.neighbors.values())
            .any(|n| n.retransmit.contains_key(&key))
    }

    /// The sequence number of the grace-LSAs of a prepared restart (it
    /// goes past an instance the network still held: read it last).
    pub fn prepared_grace_seq(&self) -> Option<i32> {
        match self.grace {
            Grace::Prepared { seq, .. } => Some(seq),
            _ => None,
        }
    }

    /// The adjacencies that have not acknowledged our grace-LSA yet, as
    /// (interface, router id).
    pub fn grace_unacknowledged(&self) -> Vec<(String, Ipv4Addr)> {
        let key = grace_key(self.router_id);
        self.ifaces
            .iter()
            .flat_map(|i| {
                i.neighbors
                    .values()
                    .filter(|n| n.retransmit.contains_key(&key))
                    .map(|n| (i.config.name.clone(), n.router_id))
            })
            .collect()
    }

    /// A prepared restart that will not happen: the grace-LSAs are
    /// flushed, so the helpers stop helping.
    pub fn abort_graceful_restart(&mut self, now: Instant) {
        if let Grace::Prepared { .. } = self.grace {
            self.end_grace(now);
            tracing::info!("graceful restart aborted: grace-LSAs flushed");
        }
    }

    /// At shutdown: no graceful restart follows, so the helpers must stop
    /// helping (they would keep our routes while ignoring our goodbye).
    pub(crate) fn end_grace(&mut self, now: Instant) {
        match self.grace {
            Grace::Off => {}
            Grace::Prepared { seq, period } => self.flush_grace(now, seq, period),
            Grace::Restarting { until, seq } => {
                self.flush_grace(now, seq.saturating_add(1), remaining(until, now))
            }
        }
        self.grace = Grace::Off;
    }

    /// This process is the restart of one that prepared a graceful restart
    /// with grace-LSAs of sequence number `seq`, whose helpers keep our
    /// routes until `until`. Call before any interface comes up.
    pub fn resume_graceful_restart(&mut self, until: Instant, seq: i32) {
        self.grace = Grace::Restarting { until, seq };
        tracing::info!("graceful restart: our LSAs are kept as the network holds them until the adjacencies are back");
    }

    /// Where a graceful restart stands, if one is under way.
    pub fn graceful_status(&self, now: Instant) -> Option<GracefulInfo> {
        match self.grace {
            Grace::Off => None,
            Grace::Prepared { .. } => Some(GracefulInfo {
                phase: "prepared",
                remaining_s: None,
                waiting_for: Vec::new(),
            }),
            Grace::Restarting { until, .. } => Some(GracefulInfo {
                phase: "restarting",
                remaining_s: Some(until.saturating_duration_since(now).as_secs()),
                waiting_for: self.restart_waits_for(now),
            }),
        }
    }

    pub(crate) fn restarting(&self) -> bool {
        matches!(self.grace, Grace::Restarting { .. })
    }

    pub(crate) fn grace_due(&self) -> Option<Instant> {
        match self.grace {
            Grace::Restarting { until, .. } => Some(until),
            _ => None,
        }
    }

    /// Ends a graceful restart once its work is done or its time is up.
    /// Called whenever that may have changed: an adjacency Full, an LS
    /// Update, an announcement, a timeout.
    pub(crate) fn graceful_progress(&mut self, now: Instant) {
        let Grace::Restarting { until, seq } = self.grace else {
            return;
        };
        let waiting = self.restart_waits_for(now);
        let reason = if waiting.is_empty() {
            "adjacencies and announcements restored"
        } else if now >= until {
            tracing::warn!(waiting_for = ?waiting, "graceful restart: the grace period ran out");
            "grace period over"
        } else {
            return;
        };
        tracing::info!(reason, "graceful restart done: originating our LSAs");
        self.grace = Grace::Off;
        self.take_over_own_lsas(now);
        self.flush_grace(now, seq.saturating_add(1), remaining(until, now));
    }

    /// What a restart still waits for: the adjacencies and announcements
    /// of our pre-restart LSAs that are not back yet.
    fn restart_waits_for(&self, now: Instant) -> Vec<String> {
        let key = LsaKey {
            kind: LsaType::ROUTER,
            id: self.router_id,
            adv_router: self.router_id,
        };
        let Some(old) = self
            .lsdb
            .get(&key)
            .filter(|e| !e.is_max_age(now))
            .and_then(|e| RouterLsa::parse(&e.lsa.body).ok())
        else {
            return vec!["our pre-restart Router-LSA".into()];
        };
        let full =
            |n: Option<&crate::neighbor::Neighbor>| n.is_some_and(|n| n.state == NbrState::Full);
        let mut waiting = Vec::new();
        for l in &old.links {
            let back = match l.kind {
                LinkType::PointToPoint => self.ifaces.iter().any(|i| full(i.neighbors.get(&l.id))),
                LinkType::Transit => self
                    .ifaces
                    .iter()
                    .any(|i| i.dr == l.id && full(i.dr_neighbor())),
                _ => true,
            };
            if !back {
                waiting.push(format!("adjacency {:?} {}", l.kind, l.id));
            }
        }
        // Addresses: /32 stubs that are not an interface's own subnet, and
        // AS-external LSAs of ours.
        let subnets: Vec<Ipv4Addr> = self
            .ifaces
            .iter()
            .map(|i| i.config.network_address())
            .collect();
        let stubs = old
            .links
            .iter()
            .filter(|l| l.kind == LinkType::Stub && l.data == Ipv4Addr::BROADCAST)
            .filter(|l| !subnets.contains(&l.id))
            .map(|l| l.id);
        let externals = self
            .lsdb
            .iter()
            .filter(|(k, e)| {
                k.kind == LsaType::EXTERNAL && k.adv_router == self.router_id && !e.is_max_age(now)
            })
            .map(|(k, _)| k.id);
        for addr in stubs.chain(externals) {
            if !self.origin.announced.contains_key(&addr) {
                waiting.push(format!("announcement of {addr}"));
            }
        }
        waiting
    }

    /// Puts a grace-LSA of ours on `iface` (its link-local database) and
    /// floods it there.
    fn originate_grace(&mut self, now: Instant, iface: usize, seq: i32, age: u16, period: u32) {
        let i = &self.ifaces[iface];
        let body = GraceLsa {
            grace_period: period,
            reason: RestartReason::SoftwareUpgrade,
            // Required on broadcast networks: helpers find us by it.
            address: Some(i.config.address),
        };
        let lsa = Lsa::new(
            LsaHeader {
                age,
                options: options::OURS,
                kind: LsaType::OPAQUE_LINK,
                id: GRACE_LSA_ID,
                adv_router: self.router_id,
                seq,
                checksum: 0,
                length: 0,
            },
            body.to_bytes(),
        );
        self.install_grace(now, iface, lsa);
    }

    /// Keeps `lsa` as our grace-LSA on `iface` (for retransmission) and
    /// floods it there.
    fn install_grace(&mut self, now: Instant, iface: usize, lsa: Lsa) {
        self.flood_link_local(now, iface, &lsa);
        self.ifaces[iface].grace = Some(Entry {
            max_age_flooded: lsa.header.is_max_age(),
            lsa,
            installed: now,
            arrived: None,
        });
    }

    /// Flushes our grace-LSAs on every interface that is up (14.1): the
    /// instance we hold there at MaxAge if its sequence number is `seq`
    /// (the same instance must keep its body and so its checksum), else a
    /// new one with `seq` at MaxAge. Its grace period must still be a
    /// valid one (FRR ignores a flush with period 0 and goes on helping).
    fn flush_grace(&mut self, now: Instant, seq: i32, period: u32) {
        for iface in 0..self.ifaces.len() {
            if self.ifaces[iface].state == IfState::Down {
                continue;
            }
            let held = self.ifaces[iface].grace.as_ref().map(|e| e.lsa.clone());
            match held {
                Some(mut lsa) if lsa.header.seq == seq => {
                    lsa.header.age = MAX_AGE;
                    self.install_grace(now, iface, lsa);
                }
                _ => self.originate_grace(now, iface, seq, MAX_AGE, period),
            }
        }
    }

    /// Section 13.3 for a link-local LSA: every adjacency on `iface` gets
    /// it and must acknowledge it.
    fn flood_link_local(&mut self, now: Instant, iface: usize, lsa: &Lsa) {
        let key = lsa.key();
        let mut any = false;
        for n in self.ifaces[iface].neighbors.values_mut() {
            if n.state >= NbrState::Exchange {
                n.retransmit.insert(key, lsa.header);
                n.lsu_rxmt_due.get_or_insert(Instance::rxmt_deadline(now));
                any = true;
            }
        }
        if any {
            let dst = self.flood_dst(iface);
            self.send_lsas(now, iface, dst, vec![lsa.clone()]);
        }
    }

    /// A stored LSA to retransmit to a neighbor on `iface`: our grace-LSA
    /// there, or one of the area's database.
    pub(crate) fn stored_lsa(&self, iface: usize, key: &LsaKey) -> Option<&Entry> {
        if key.kind == LsaType::OPAQUE_LINK {
            self.ifaces[iface]
                .grace
                .as_ref()
                .filter(|e| e.lsa.key() == *key)
        } else {
            self.lsdb.get(key)
        }
    }

    /// An opaque LSA from neighbor `rid` (section 13 for the ones we keep
    /// none of): acknowledged. A copy of our own grace-LSA is an implied
    /// acknowledgement (13.7: the DR floods it back to us), and a newer
    /// instance of ours than we hold is gone past or flushed (13.4).
    pub(crate) fn rx_opaque(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, lsa: Lsa) {
        let key = lsa.key();
        if key != grace_key(self.router_id) {
            self.direct_ack(now, iface, rid, lsa.header);
            return;
        }
        let ours = self.ifaces[iface].grace.as_ref().map(|e| e.header(now));
        match ours.map(|o| lsa.header.compare(&o)) {
            Some(Ordering::Equal) => {
                let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
                if n.retransmit.remove(&key).is_none() {
                    self.direct_ack(now, iface, rid, lsa.header);
                }
                return;
            }
            Some(Ordering::Less) => {
                self.direct_ack(now, iface, rid, lsa.header);
                return;
            }
            Some(Ordering::Greater) | None => {}
        }
        self.direct_ack(now, iface, rid, lsa.header);
        let seq = lsa.header.seq;
        match &mut self.grace {
            Grace::Prepared { period, .. } if seq < crate::wire::lsa::MAX_SEQ => {
                tracing::info!(
                    seq,
                    "the network held a newer grace-LSA of ours: going past it"
                );
                let period = *period;
                self.grace = Grace::Prepared {
                    seq: seq + 1,
                    period,
                };
                for i in 0..self.ifaces.len() {
                    if self.ifaces[i].state != IfState::Down {
                        self.originate_grace(now, i, seq + 1, 0, period);
                    }
                }
            }
            // Kept until the restart ends, then flushed past this one.
            Grace::Restarting { seq: s, .. } => *s = (*s).max(seq),
            _ if !lsa.header.is_max_age() => {
                tracing::info!("flushing a stale grace-LSA of ours");
                let mut stale = lsa;
                stale.header.age = MAX_AGE;
                self.flood_link_local(now, iface, &stale);
            }
            _ => {}
        }
    }
}

/// The seconds left of a grace period, at least 1 (a valid period).
fn remaining(until: Instant, now: Instant) -> u32 {
    until
        .saturating_duration_since(now)
        .as_secs()
        .clamp(1, 1800) as u32
}

/// Our grace-LSA's key.
pub(crate) fn grace_key(router_id: Ipv4Addr) -> LsaKey {
    LsaKey {
        kind: LsaType::OPAQUE_LINK,
        id: GRACE_LSA_ID,
        adv_router: router_id,
    }
}
