//! Table transfers. A director that starts fetches the table before it
//! announces its VIPs, so it forwards established flows as their owners
//! do from its first packet.
//!
//! Fetching: wait for a Ready peer (or take one already heard), send it a
//! BulkRequest with a fresh transfer id, install what its BulkEntries
//! carry, and compare the count with its BulkEnd's total. Fewer (UDP lost
//! some), nothing for `bulk_first_wait` after the request or no progress
//! for `bulk_timeout` after that, or the peer gone or restarted:
//! request again, preferring the peer asked least often, until the
//! deadline. No Ready peer heard by then: we are alone (the first director
//! of the cluster); Ready peers heard but nothing completed: timed out.
//! A cluster started together would wait for the deadline, each director
//! for the others: when every configured peer is heard and none is Ready,
//! the one of the starting directors with the lowest address goes first
//! (alone, at once) and the others fetch its table as soon as it is
//! Ready. A group's members are not known in advance: there we wait.
//!
//! Serving: the driver answers BulkRequested with `serve_bulk`; the
//! entries go out through `poll_transmit` after every other datagram, a
//! datagram per call, and the BulkEnd last.

use crate::config::Mode;
use crate::event::{BulkFailure, Event};
use crate::flow_sync::{FlowSync, Queued};
use crate::peer::Peer;
use crate::timers::Timer;
use crate::wire::datagram::bulk_entries_room;
use crate::wire::{Body, BulkEnd, Entry, NodeState, Op};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

/// Where our table transfer stands, for `xlvsadm status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum BulkStatus {
    NotStarted,
    WaitingForPeer,
    Fetching {
        peer: Ipv4Addr,
        transfer: u32,
        /// Entries received in this request.
        received: u32,
        /// The total of the last BulkEnd heard in this fetch, if any.
        total: Option<u32>,
    },
    Done {
        peer: Ipv4Addr,
        entries: u32,
    },
    Alone,
    TimedOut,
}

impl BulkStatus {
    /// Every status's name, in the order a fetch goes through them.
    pub const NAMES: [&'static str; 6] = [
        "not_started",
        "waiting_for_peer",
        "fetching",
        "done",
        "alone",
        "timed_out",
    ];

    /// The name in metrics, as serialized (`status`).
    pub fn name(&self) -> &'static str {
        match self {
            BulkStatus::NotStarted => "not_started",
            BulkStatus::WaitingForPeer => "waiting_for_peer",
            BulkStatus::Fetching { .. } => "fetching",
            BulkStatus::Done { .. } => "done",
            BulkStatus::Alone => "alone",
            BulkStatus::TimedOut => "timed_out",
        }
    }

    /// Entries received from the peer: so far in this request while
    /// fetching, all of them once done; 0 otherwise.
    pub fn entries(&self) -> u32 {
        match *self {
            BulkStatus::Fetching { received, .. } => received,
            BulkStatus::Done { entries, .. } => entries,
            _ => 0,
        }
    }
}

#[derive(Debug)]
pub(crate) struct BulkClient {
    status: BulkStatus,
    /// The next transfer id we hand out.
    next_transfer: u32,
    /// Requests sent per peer in this fetch.
    attempts: BTreeMap<Ipv4Addr, u32>,
}

impl BulkClient {
    /// Transfer ids start from the session's low bits, so a restarted
    /// director does not reuse the ids of its previous run.
    pub fn new(session: u64) -> BulkClient {
        BulkClient {
            status: BulkStatus::NotStarted,
            next_transfer: session as u32,
            attempts: BTreeMap::new(),
        }
    }

    fn active(&self) -> bool {
        matches!(
            self.status,
            BulkStatus::WaitingForPeer | BulkStatus::Fetching { .. }
        )
    }
}

/// A transfer we serve to `to`.
#[derive(Debug)]
pub(crate) struct ServeJob {
    pub to: Ipv4Addr,
    transfer: u32,
    entries: Vec<Entry>,
    /// The first entry not sent yet.
    next: usize,
}

impl ServeJob {
    pub fn remaining(&self) -> usize {
        self.entries.len() - self.next
    }
}

impl FlowSync {
    /// Starts fetching the table from a Ready peer; gives up at `deadline`.
    /// Starting again abandons a fetch under way.
    pub fn start_bulk(&mut self, now: Instant, deadline: Instant) {
        tracing::info!("sync table transfer started");
        self.bulk.status = BulkStatus::WaitingForPeer;
        self.bulk.attempts.clear();
        self.timers.set(Timer::BulkDeadline, deadline);
        self.bulk_request(now);
    }

    pub fn bulk_status(&self) -> BulkStatus {
        self.bulk.status
    }

    /// Queues our table for the peer `to`, which asked for it as
    /// `transfer` (Event::BulkRequested). A new request from the same peer
    /// replaces a transfer still under way. Deletes are left out: a table
    /// holds live entries.
    pub fn serve_bulk(
        &mut self,
        _now: Instant,
        to: Ipv4Addr,
        transfer: u32,
        entries: impl IntoIterator<Item = Entry>,
    ) {
        let entries: Vec<Entry> = entries.into_iter().filter(|e| e.op != Op::Delete).collect();
        tracing::info!(peer = %to, transfer, entries = entries.len(), "serving the sync table");
        self.serving.retain(|job| job.to != to);
        self.serving.push_back(ServeJob {
            to,
            transfer,
            entries,
            next: 0,
        });
    }

    /// The next datagram of the transfer at the front of the queue.
    pub(crate) fn next_served(&mut self) -> Option<Queued> {
        let room = bulk_entries_room(self.config.max_datagram);
        let job = self.serving.front_mut()?;
        let (to, transfer) = (job.to, job.transfer);
        let body = if job.next < job.entries.len() {
            // As many records as fit (36 bytes, 44 with a proxy shift).
            let mut end = job.next;
            let mut bytes = 0;
            while let Some(e) = job.entries.get(end) {
                if bytes + e.wire_len() > room {
                    break;
                }
                bytes += e.wire_len();
                end += 1;
            }
            let entries = job.entries[job.next..end].to_vec();
            job.next = end;
            Body::BulkEntries { transfer, entries }
        } else {
            let total = job.entries.len() as u32;
            self.serving.pop_front();
            tracing::debug!(peer = %to, transfer, total, "sync table served");
            Body::BulkEnd(BulkEnd { total, transfer })
        };
        Some(self.datagram_to(to, body))
    }

    /// Sends a BulkRequest to the Ready peer asked least often (then the
    /// lowest address), or waits for one.
    fn bulk_request(&mut self, now: Instant) {
        let attempts = &self.bulk.attempts;
        let chosen = self
            .peers
            .iter()
            .filter(|(_, p)| p.is_ready())
            .map(|(addr, _)| *addr)
            .min_by_key(|addr| (attempts.get(addr).copied().unwrap_or(0), *addr));
        let Some(peer) = chosen else {
            self.bulk.status = BulkStatus::WaitingForPeer;
            self.timers.clear(Timer::BulkStalled);
            if self.bulk.attempts.is_empty() && self.first_of_a_cold_cluster() {
                tracing::info!("no sync peer is Ready and we start first: without a table");
                self.bulk_end(BulkFailure::Alone, BulkStatus::Alone);
            }
            return;
        };
        let total = match self.bulk.status {
            BulkStatus::Fetching { total, .. } => total,
            _ => None,
        };
        let transfer = self.bulk.next_transfer;
        self.bulk.next_transfer = transfer.wrapping_add(1);
        *self.bulk.attempts.entry(peer).or_default() += 1;
        self.bulk.status = BulkStatus::Fetching {
            peer,
            transfer,
            received: 0,
            total,
        };
        tracing::info!(%peer, transfer, "sync table requested");
        let request = self.datagram_to(peer, Body::BulkRequest { transfer });
        self.out.push_back(request);
        // The peer reads its table before it sends anything.
        self.timers
            .set(Timer::BulkStalled, now + self.config.bulk_first_wait);
    }

    /// A peer's Hello: a Ready one may be what we wait for.
    pub(crate) fn bulk_peer_heard(&mut self, now: Instant, addr: Ipv4Addr) {
        match self.bulk.status {
            BulkStatus::WaitingForPeer => self.bulk_request(now),
            BulkStatus::Fetching { peer, .. } if peer == addr && !self.peers[&addr].is_ready() => {
                self.bulk_peer_lost(now, addr)
            }
            _ => {}
        }
    }

    /// The peer we fetch from went down, left, or restarted: ask another.
    pub(crate) fn bulk_peer_lost(&mut self, now: Instant, addr: Ipv4Addr) {
        if let BulkStatus::Fetching { peer, .. } = self.bulk.status {
            if peer == addr {
                tracing::info!(%peer, "sync table source lost");
                self.bulk_request(now);
            }
        }
    }

    pub(crate) fn bulk_stalled(&mut self, now: Instant) {
        if let BulkStatus::Fetching { peer, received, .. } = self.bulk.status {
            tracing::info!(%peer, received, "sync table transfer stalled, requesting again");
            self.bulk_request(now);
        }
    }

    pub(crate) fn bulk_deadline(&mut self) {
        if !self.bulk.active() {
            return;
        }
        let (reason, status) = match self.bulk.attempts.is_empty() {
            true => (BulkFailure::Alone, BulkStatus::Alone),
            false => (BulkFailure::TimedOut, BulkStatus::TimedOut),
        };
        tracing::warn!(result = ?reason, "sync table transfer ended without the table");
        self.bulk_end(reason, status);
    }

    /// Whether we start without a table now, not at the deadline: every
    /// configured peer (unicast) is up and none is Ready, and none of
    /// those starting (Joining) has a lower address than ours. A peer not
    /// heard may be Ready: then we wait for it, or for the deadline.
    fn first_of_a_cold_cluster(&self) -> bool {
        if !matches!(self.config.mode, Mode::Unicast(_)) {
            return false;
        }
        let me = self.config.address;
        let joining = |p: &Peer| {
            p.view
                .as_ref()
                .is_some_and(|v| v.state == NodeState::Joining)
        };
        let mut configured = self.peers.iter().filter(|(_, p)| p.configured);
        configured.all(|(addr, p)| p.up && !p.is_ready() && !(joining(p) && *addr < me))
    }

    /// Ends the transfer without a table.
    fn bulk_end(&mut self, reason: BulkFailure, status: BulkStatus) {
        self.timers.clear(Timer::BulkStalled);
        self.timers.clear(Timer::BulkDeadline);
        self.bulk.status = status;
        self.events.push_back(Event::BulkFailed { reason });
    }

    /// Whether `(from, transfer)` is the transfer we wait for.
    fn is_current(&self, from: Ipv4Addr, transfer: u32) -> bool {
        matches!(self.bulk.status,
            BulkStatus::Fetching { peer, transfer: t, .. } if peer == from && t == transfer)
    }

    pub(crate) fn rx_bulk_entries(
        &mut self,
        now: Instant,
        from: Ipv4Addr,
        transfer: u32,
        entries: Vec<Entry>,
    ) {
        if !self.is_current(from, transfer) {
            return self.bulk_ignored(from);
        }
        if let BulkStatus::Fetching { received, .. } = &mut self.bulk.status {
            *received += entries.len() as u32;
        }
        if let Some(p) = self.peers.get_mut(&from) {
            p.counters.installs += entries.len() as u64;
        }
        self.events.extend(
            entries
                .into_iter()
                .map(|entry| Event::Install { entry, from }),
        );
        self.timers
            .set(Timer::BulkStalled, now + self.config.bulk_timeout);
    }

    pub(crate) fn rx_bulk_end(&mut self, now: Instant, from: Ipv4Addr, end: BulkEnd) {
        let BulkStatus::Fetching {
            peer,
            transfer,
            received,
            ..
        } = self.bulk.status
        else {
            return self.bulk_ignored(from);
        };
        if (peer, transfer) != (from, end.transfer) {
            return self.bulk_ignored(from);
        }
        if received >= end.total {
            tracing::info!(%peer, entries = received, "sync table fetched");
            self.bulk.status = BulkStatus::Done {
                peer,
                entries: received,
            };
            self.timers.clear(Timer::BulkStalled);
            self.timers.clear(Timer::BulkDeadline);
            self.events.push_back(Event::BulkFinished {
                from,
                entries: received,
            });
            return;
        }
        tracing::info!(%peer, received, total = end.total, "sync table incomplete, requesting again");
        self.bulk.status = BulkStatus::Fetching {
            peer,
            transfer,
            received,
            total: Some(end.total),
        };
        self.bulk_request(now);
    }

    fn bulk_ignored(&mut self, from: Ipv4Addr) {
        if let Some(p) = self.peers.get_mut(&from) {
            p.counters.bulk_ignored += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BulkStatus;
    use std::net::Ipv4Addr;

    #[test]
    fn names_are_the_serialized_ones() {
        let peer = Ipv4Addr::new(10, 0, 0, 2);
        let all = [
            BulkStatus::NotStarted,
            BulkStatus::WaitingForPeer,
            BulkStatus::Fetching {
                peer,
                transfer: 1,
                received: 5,
                total: None,
            },
            BulkStatus::Done { peer, entries: 7 },
            BulkStatus::Alone,
            BulkStatus::TimedOut,
        ];
        for (status, name) in all.iter().zip(BulkStatus::NAMES) {
            assert_eq!(status.name(), name);
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json["status"], name);
        }
        let entries: Vec<u32> = all.iter().map(BulkStatus::entries).collect();
        assert_eq!(entries, [0, 0, 5, 7, 0, 0]);
    }
}
