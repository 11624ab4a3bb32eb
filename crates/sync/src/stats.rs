//! Counters and views an operator reads (`xlvsadm status`, metrics): plain
//! data, serializable, detached from the core.

use crate::bulk::BulkStatus;
use crate::wire::NodeState;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Shorter than its header or than the sizes it declares.
    Truncated,
    /// Longer than 9000 bytes.
    Oversized,
    /// Another wire format version.
    BadVersion,
    /// Anything else malformed: magic, kind, flags, counts, fields.
    BadFormat,
    /// The tag does not verify (another key, or altered on the way).
    Auth,
    /// A sequence number already seen, or older than the window.
    Replay,
    /// A session older than the sender's current one.
    StaleSession,
    /// Unicast mode: the sender is not a configured peer.
    UnknownPeer,
}

impl DropReason {
    pub const ALL: [DropReason; 8] = [
        DropReason::Truncated,
        DropReason::Oversized,
        DropReason::BadVersion,
        DropReason::BadFormat,
        DropReason::Auth,
        DropReason::Replay,
        DropReason::StaleSession,
        DropReason::UnknownPeer,
    ];

    /// The name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::Oversized => "oversized",
            DropReason::BadVersion => "bad_version",
            DropReason::BadFormat => "bad_format",
            DropReason::Auth => "auth",
            DropReason::Replay => "replay",
            DropReason::StaleSession => "stale_session",
            DropReason::UnknownPeer => "unknown_peer",
        }
    }
}

/// Dropped datagrams by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drops {
    pub truncated: u64,
    pub oversized: u64,
    pub bad_version: u64,
    pub bad_format: u64,
    pub auth: u64,
    pub replay: u64,
    pub stale_session: u64,
    pub unknown_peer: u64,
}

impl Drops {
    fn slot(&mut self, reason: DropReason) -> &mut u64 {
        match reason {
            DropReason::Truncated => &mut self.truncated,
            DropReason::Oversized => &mut self.oversized,
            DropReason::BadVersion => &mut self.bad_version,
            DropReason::BadFormat => &mut self.bad_format,
            DropReason::Auth => &mut self.auth,
            DropReason::Replay => &mut self.replay,
            DropReason::StaleSession => &mut self.stale_session,
            DropReason::UnknownPeer => &mut self.unknown_peer,
        }
    }

    pub fn add(&mut self, reason: DropReason) {
        *self.slot(reason) += 1;
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Truncated => self.truncated,
            DropReason::Oversized => self.oversized,
            DropReason::BadVersion => self.bad_version,
            DropReason::BadFormat => self.bad_format,
            DropReason::Auth => self.auth,
            DropReason::Replay => self.replay,
            DropReason::StaleSession => self.stale_session,
            DropReason::UnknownPeer => self.unknown_peer,
        }
    }

    pub fn total(&self) -> u64 {
        DropReason::ALL.iter().map(|r| self.get(*r)).sum()
    }
}

/// Traffic with one peer. Sent counts the copies addressed to the peer
/// (unicast mode, and bulk transfers in either mode); datagrams to a
/// multicast group count only in [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub datagrams_sent: u64,
    pub entries_sent: u64,
    /// Authenticated datagrams accepted.
    pub datagrams_received: u64,
    /// Entry records in them (live and bulk).
    pub entries_received: u64,
    /// Install events emitted for its entries.
    pub installs: u64,
    /// Remove events emitted for its Deletes.
    pub removes: u64,
    /// Bulk datagrams of a transfer we no longer wait for.
    pub bulk_ignored: u64,
    pub drops: Drops,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStats {
    pub addr: Ipv4Addr,
    /// Configured (unicast), or learned from the group.
    pub configured: bool,
    /// A valid Hello within its hold time.
    pub up: bool,
    /// From its last Hello (kept after it went down).
    pub state: Option<NodeState>,
    pub name: String,
    pub local_addresses: Vec<Ipv4Addr>,
    /// Its current session (start time, microseconds since the epoch).
    pub session: Option<u64>,
    /// Milliseconds since its last authenticated datagram.
    pub last_heard_ms_ago: Option<u64>,
    pub counters: Counters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub address: Ipv4Addr,
    pub session: u64,
    pub state: NodeState,
    pub peers: Vec<PeerStats>,
    /// Drops of datagrams from senders that are not peers (or whose header
    /// could not be read).
    pub unknown_drops: Drops,
    /// Datagrams handed to the driver (each unicast copy counts).
    pub datagrams_sent: u64,
    pub entries_sent: u64,
    pub bulk: BulkStatus,
    /// Datagrams waiting for `poll_transmit`.
    pub queued_datagrams: usize,
    /// Published entries not yet in a datagram.
    pub pending_entries: usize,
    /// Entries of table transfers we serve, not yet sent.
    pub serving_entries: usize,
}
