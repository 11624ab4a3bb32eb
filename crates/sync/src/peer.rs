//! What we know of another director: its last Hello while it is up, and
//! the traffic counters.

use crate::stats::Counters;
use crate::wire::{Hello, NodeState};
use std::net::Ipv4Addr;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub state: NodeState,
    pub name: String,
    pub local_addresses: Vec<Ipv4Addr>,
}

impl View {
    pub fn of(h: Hello) -> View {
        View {
            state: h.state,
            name: h.name,
            local_addresses: h.local_addresses,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Peer {
    /// In the configured peers (unicast), or learned from the group.
    pub configured: bool,
    /// A valid Hello within its hold time.
    pub up: bool,
    /// From its last Hello; kept after it went down, for status.
    pub view: Option<View>,
    pub last_heard: Option<Instant>,
    pub counters: Counters,
}

impl Peer {
    pub fn new(configured: bool) -> Peer {
        Peer {
            configured,
            ..Peer::default()
        }
    }

    pub fn is_ready(&self) -> bool {
        self.up
            && self
                .view
                .as_ref()
                .is_some_and(|v| v.state == NodeState::Ready)
    }
}
