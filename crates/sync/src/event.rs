//! What the core tells its driver, in order, through `poll_event`.

use crate::wire::{Entry, NodeState};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An Upsert or Closing from `from` (live, or in a table transfer):
    /// check it with [`decide`](crate::decide) against the local table.
    Install { entry: Entry, from: Ipv4Addr },
    /// A Delete from `from`, the entry's owner (`entry.key` names the
    /// flow; [`decide`](crate::decide) removes it only if the owners
    /// agree).
    Remove { entry: Entry, from: Ipv4Addr },
    /// The first valid Hello from a peer, or the first since it went down.
    PeerUp {
        addr: Ipv4Addr,
        name: String,
        state: NodeState,
        local_addresses: Vec<Ipv4Addr>,
    },
    /// An up peer's Hello says something new: state, name or addresses.
    PeerChanged {
        addr: Ipv4Addr,
        name: String,
        state: NodeState,
        local_addresses: Vec<Ipv4Addr>,
    },
    /// No valid Hello for its hold time (or it was removed from the
    /// peers): its local addresses are free to take over.
    PeerDown {
        addr: Ipv4Addr,
        local_addresses: Vec<Ipv4Addr>,
    },
    /// A peer wants our table: answer with `serve_bulk(.., from, transfer,
    /// ..)`.
    BulkRequested { from: Ipv4Addr, transfer: u32 },
    /// Our table transfer completed: `entries` from `from`.
    BulkFinished { from: Ipv4Addr, entries: u32 },
    /// Our table transfer ended at its deadline without completing.
    BulkFailed { reason: BulkFailure },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkFailure {
    /// No Ready peer was heard: the first director of its cluster.
    Alone,
    /// Ready peers were heard, but no transfer completed.
    TimedOut,
}
