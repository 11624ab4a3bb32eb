//! OSPFv2 speaker for a host that announces /32 routes and never transits
//! traffic (RFC 2328, priority 0: never DR or BDR).
//!
//! - [`wire`]: packets and LSAs on the wire.
//! - [`Instance`]: the Sans-IO protocol core. Feed it packets
//!   (`handle_packet`), time (`handle_timeout` at `poll_at`) and commands
//!   (`announce`, `withdraw`, `shutdown`, `add_interface`,
//!   `remove_interface`); take packets to send from `drain_output`. Deterministic: tests run it without sockets or sleep.
//!
//! No I/O here: the crate has no socket, clock or runtime dependency. Its
//! tokio driver (raw sockets, the clock) is the crate xlvs-ospf-driver.

pub mod config;
mod crypto_seq;
mod exchange;
mod flood;
mod graceful;
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
pub use graceful::GracefulInfo;
pub use instance::{Instance, Output, ALL_D_ROUTERS, ALL_SPF_ROUTERS};
pub use interface::IfaceId;
pub use reconfig::ReconfigError;
pub use show::{InterfaceInfo, LsaInfo, NeighborInfo, NeighborRef};
pub use stats::Stats;
