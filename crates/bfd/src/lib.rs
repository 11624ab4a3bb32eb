//! Bidirectional Forwarding Detection: RFC 5880 asynchronous mode over
//! RFC 5881 single-hop IPv4, for the OSPF speaker to notice a dead
//! neighbor in a few hundred milliseconds (docs/bfd.md).
//!
//! - [`wire`]: Control packets on the wire, parse and emit.
//! - [`Bfd`]: the Sans-IO core. Feed it datagrams (`handle_packet`), time
//!   (`handle_timeout` at `poll_timeout`) and commands (`add_session`,
//!   `remove_session`, `set_config`, `admin_down`); take datagrams from
//!   `poll_transmit` and events from `poll_event`. Deterministic from its
//!   seed: tests run it without sockets or sleep.
//! - [`fsm`]: the session state machine as RFC 5880's table.
//!
//! No I/O here: the crate has no socket, clock or runtime dependency.
//! Not implemented: Demand mode, the Echo function, authentication
//! (packets with the A bit are refused), multihop.

pub mod config;
pub mod event;
pub mod fsm;
pub mod instance;
mod intervals;
mod rng;
pub mod session;
pub mod show;
pub mod stats;
mod timers;
pub mod wire;

pub use config::{ConfigError, SessionConfig, MAX_INTERVAL, MIN_INTERVAL};
pub use event::Event;
pub use instance::{Bfd, SessionError, Transmit, CONTROL_PORT, TTL};
pub use intervals::SLOW_TX;
pub use session::{source_port, SessionId};
pub use show::SessionInfo;
pub use stats::{Counters, DropReason, Drops};
pub use wire::{ControlPacket, Diag, State, WireError};
