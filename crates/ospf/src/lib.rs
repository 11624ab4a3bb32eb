//! OSPFv2 speaker for a host that announces /32 routes and never transits
//! traffic (RFC 2328, priority 0: never DR or BDR).
//!
//! - [`wire`]: packets and LSAs on the wire.
//! - [`Instance`]: the Sans-IO protocol core. Feed it packets
//!   (`handle_packet`), time (`handle_timeout` at `poll_at`) and commands
//!   (`announce`, `withdraw`, `shutdown`, `add_interface`,
//!   `remove_interface`); take packets to send from `drain_output`. Deterministic: tests run it without sockets or sleep.
//! - [`driver`]: raw sockets and the clock, with tokio.

pub mod config;
mod crypto_seq;
pub mod driver;
mod exchange;
mod flood;
mod hello;
pub mod instance;
pub mod interface;
pub mod lsdb;
pub mod neighbor;
mod origin;
mod reconfig;
pub mod show;
pub mod stats;
pub mod wire;

pub use config::{Auth, Config, InterfaceConfig, NetworkType, VipMode};
pub use instance::{Instance, Output, ALL_D_ROUTERS, ALL_SPF_ROUTERS};
pub use reconfig::ReconfigError;
pub use show::{InterfaceInfo, LsaInfo, NeighborInfo};
pub use stats::Stats;
