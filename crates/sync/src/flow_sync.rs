//! The protocol core: one director's end of the sync as a deterministic
//! state machine. Inputs are datagrams, the passage of time and commands,
//! each with the current time; outputs are datagrams to send and events.
//! No sockets, no clocks: the driver (or a test) owns both.
//!
//! The work is spread over files: `send.rs` (sequence numbers, batching,
//! Hellos, serving transfers), `receive.rs` (checks and dispatch),
//! `bulk.rs` (fetching the table). They all `impl FlowSync`.

use crate::bulk::{BulkClient, ServeJob};
use crate::config::{check_local_addresses, Config, ConfigError, Mode};
use crate::event::Event;
use crate::peer::Peer;
use crate::replay::ReplayWindow;
use crate::stats::{Drops, PeerStats, Stats};
use crate::timers::{Timer, Timers};
use crate::wire::{Entry, Key, NodeState};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// A peer's sync address and port, or the multicast group's.
    pub to: SocketAddrV4,
    pub bytes: Vec<u8>,
}

/// A datagram waiting for `poll_transmit`, with what to count when it
/// leaves.
#[derive(Debug)]
pub(crate) struct Queued {
    pub transmit: Transmit,
    /// The peer it is addressed to (None: the group).
    pub peer: Option<Ipv4Addr>,
    pub records: usize,
}

pub struct FlowSync {
    pub(crate) config: Config,
    pub(crate) key: Key,
    pub(crate) session: u64,
    /// The last sequence number sent (0: none yet).
    pub(crate) seq: u64,
    pub(crate) peers: BTreeMap<Ipv4Addr, Peer>,
    /// Per sender, kept when a peer goes or is removed, so its old
    /// datagrams stay replays.
    pub(crate) replay: BTreeMap<Ipv4Addr, ReplayWindow>,
    pub(crate) unknown_drops: Drops,
    /// Published entries not yet in a datagram.
    pub(crate) batch: Vec<Entry>,
    /// The batch's records' bytes on the wire.
    pub(crate) batch_bytes: usize,
    pub(crate) out: VecDeque<Queued>,
    /// Table transfers we serve, sent when `out` is empty.
    pub(crate) serving: VecDeque<ServeJob>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) timers: Timers,
    pub(crate) bulk: BulkClient,
    pub(crate) datagrams_sent: u64,
    pub(crate) entries_sent: u64,
}

impl FlowSync {
    /// A new core. `session` identifies this run: our start time in
    /// microseconds since the Unix epoch, so a restart is always higher.
    /// The first Hello is queued at once.
    pub fn new(config: Config, now: Instant, session: u64) -> Result<FlowSync, ConfigError> {
        config.validate()?;
        let mut sync = FlowSync {
            key: Key::new(&config.key),
            session,
            seq: 0,
            peers: BTreeMap::new(),
            replay: BTreeMap::new(),
            unknown_drops: Drops::default(),
            batch: Vec::new(),
            batch_bytes: 0,
            out: VecDeque::new(),
            serving: VecDeque::new(),
            events: VecDeque::new(),
            timers: Timers::default(),
            bulk: BulkClient::new(session),
            datagrams_sent: 0,
            entries_sent: 0,
            config,
        };
        if let Mode::Unicast(peers) = sync.config.mode.clone() {
            sync.set_peers(now, peers);
        }
        sync.send_hello(now);
        Ok(sync)
    }

    pub fn address(&self) -> Ipv4Addr {
        self.config.address
    }

    pub fn state(&self) -> NodeState {
        self.config.state
    }

    /// Replaces the configured peers (unicast mode; the group learns its
    /// peers). A removed peer that was up goes down (PeerDown); a new one
    /// hears from us with our next Hello.
    pub fn set_peers(&mut self, now: Instant, peers: Vec<Ipv4Addr>) {
        let Mode::Unicast(_) = self.config.mode else {
            tracing::warn!("sync peers ignored: multicast mode learns its peers");
            return;
        };
        let me = self.config.address;
        let mut wanted: Vec<Ipv4Addr> = peers.into_iter().filter(|p| *p != me).collect();
        wanted.sort();
        wanted.dedup();
        let gone: Vec<Ipv4Addr> = self
            .peers
            .keys()
            .filter(|p| wanted.binary_search(p).is_err())
            .copied()
            .collect();
        for addr in gone {
            self.peer_down(now, addr);
            self.peers.remove(&addr);
            self.serving.retain(|job| job.to != addr);
            tracing::info!(peer = %addr, "sync peer removed");
        }
        for addr in &wanted {
            self.peers.entry(*addr).or_insert_with(|| Peer::new(true));
        }
        self.config.mode = Mode::Unicast(wanted);
    }

    /// Replaces the FULLNAT local addresses we own; peers hear at once.
    pub fn set_local_addresses(
        &mut self,
        now: Instant,
        addrs: Vec<Ipv4Addr>,
    ) -> Result<(), ConfigError> {
        check_local_addresses(&addrs, self.config.max_datagram)?;
        if addrs != self.config.local_addresses {
            self.config.local_addresses = addrs;
            self.send_hello(now);
        }
        Ok(())
    }

    /// Changes our state (Ready once the table is fetched, Leaving when
    /// stopping); peers hear at once.
    pub fn set_state(&mut self, now: Instant, state: NodeState) {
        if state != self.config.state {
            tracing::info!(
                from = self.config.state.name(),
                to = state.name(),
                "sync state"
            );
            self.config.state = state;
            self.send_hello(now);
        }
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Runs the timers due at `now`: Hellos, the batch flush, hold times
    /// and the table transfer's.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.take_due(now) {
            match timer {
                Timer::Hello => self.send_hello(now),
                Timer::Flush => self.flush(),
                Timer::Hold(addr) => self.peer_down(now, addr),
                Timer::BulkDeadline => self.bulk_deadline(),
                Timer::BulkStalled => self.bulk_stalled(now),
            }
        }
    }

    /// A peer went down: its hold time ran out, or it was removed.
    pub(crate) fn peer_down(&mut self, now: Instant, addr: Ipv4Addr) {
        self.timers.clear(Timer::Hold(addr));
        let Some(peer) = self.peers.get_mut(&addr) else {
            return;
        };
        if !std::mem::take(&mut peer.up) {
            return;
        }
        let local_addresses = peer
            .view
            .as_ref()
            .map(|v| v.local_addresses.clone())
            .unwrap_or_default();
        tracing::info!(peer = %addr, "sync peer down");
        self.events.push_back(Event::PeerDown {
            addr,
            local_addresses,
        });
        self.bulk_peer_lost(now, addr);
    }

    /// Counters and views for status and metrics.
    pub fn stats(&self, now: Instant) -> Stats {
        let peers = self
            .peers
            .iter()
            .map(|(addr, p)| PeerStats {
                addr: *addr,
                configured: p.configured,
                up: p.up,
                state: p.view.as_ref().map(|v| v.state),
                name: p.view.as_ref().map(|v| v.name.clone()).unwrap_or_default(),
                local_addresses: p
                    .view
                    .as_ref()
                    .map(|v| v.local_addresses.clone())
                    .unwrap_or_default(),
                session: self.replay.get(addr).map(|w| w.session()),
                last_heard_ms_ago: p
                    .last_heard
                    .map(|t| now.saturating_duration_since(t).as_millis() as u64),
                counters: p.counters.clone(),
            })
            .collect();
        Stats {
            address: self.config.address,
            session: self.session,
            state: self.config.state,
            peers,
            unknown_drops: self.unknown_drops.clone(),
            datagrams_sent: self.datagrams_sent,
            entries_sent: self.entries_sent,
            bulk: self.bulk_status(),
            queued_datagrams: self.out.len(),
            pending_entries: self.batch.len(),
            serving_entries: self.serving.iter().map(ServeJob::remaining).sum(),
        }
    }
}
