//! Flow-state sync between the directors of a cluster: each director
//! shares its connection-table entries so that any director forwards a
//! flow exactly as the one that created it does (docs/sync.md).
//!
//! - [`wire`]: datagrams on the wire, version 1, HMAC-SHA256 tagged.
//! - [`FlowSync`]: the Sans-IO protocol core. Feed it datagrams
//!   (`handle_datagram`), time (`handle_timeout` at `poll_timeout`) and
//!   commands (`publish`, `start_bulk`, `serve_bulk`, `set_peers`,
//!   `set_state`, `set_local_addresses`); take datagrams from
//!   `poll_transmit` and events from `poll_event`. Deterministic: tests run
//!   it without sockets or sleep.
//! - [`decide`]: whether a received entry replaces what the local table
//!   holds, the same rules on every director.
//!
//! No I/O here: the crate has no socket, clock or runtime dependency.

pub mod bulk;
pub mod config;
pub mod decide;
pub mod event;
mod flow_sync;
mod peer;
mod receive;
pub mod replay;
mod send;
pub mod stats;
mod timers;
pub mod wire;

pub use bulk::BulkStatus;
pub use config::{Config, ConfigError, Mode};
pub use decide::{decide, Decision, Existing, Why};
pub use event::{BulkFailure, Event};
pub use flow_sync::{FlowSync, Transmit};
pub use stats::{Counters, DropReason, Drops, PeerStats, Stats};
pub use wire::{Entry, FlowKey, FlowKind, Forward, NodeState, Op, Proto, ProxyShift, WireError};
