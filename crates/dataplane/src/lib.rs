//! The XDP data plane: the eBPF program (`bpf/`, C compiled by clang-19 at
//! build time), its loader, and typed access to its maps.
//!
//! - [`abi`]: map keys and values as the C side lays them out.
//! - [`Dataplane`]: loads the program with the configured limits, programs
//!   services (Maglev tables swapped in atomically), attaches to
//!   interfaces, reads counters, and runs packets through the program
//!   (`BPF_PROG_TEST_RUN`) for tests and benchmarks.
//! - [`SyncEvents`], [`PeerEntry`]: flow-state sync between directors, the
//!   data plane's half (`bpf/sync.h`): entries reported as XDP makes,
//!   refreshes and closes them, peers' entries installed, the whole table
//!   for a bulk transfer.
//! - [`sched_model`]: the per-director schedulers' rules in Rust (the
//!   sequences written for rr, wrr and fo; the reference for the others);
//!   [`Dataplane::recount`] sets the reals' connection counts they read.
//! - [`NextHop`]: each TUN, NAT and FULLNAT real's next hop, kept by the
//!   daemon so that new flows need no FIB lookup (`bpf/fib.h`).
//! - [`decap`]: IPIP decapsulation in XDP for TUN real servers without an
//!   ipip module (`bpf/decap.c`, the `xlvs-decap` tool).
//! - [`pass`]: an XDP_PASS program for the labs' veth peers of directors.
//! - [`floor`]: the bench's new-flow floor (per-flow state designs).

pub mod abi;
mod addrs;
mod batch;
mod clock;
mod counts;
pub mod decap;
pub mod floor;
mod loader;
mod next_hops;
pub mod pass;
mod proxy;
mod reals;
pub mod sched_model;
mod service;
mod sync;
mod templates;

pub use addrs::AddrKind;
pub use clock::Clock;
pub use counts::{is_active, Recount};
pub use loader::{
    locality_entries, template_entries, Dataplane, DataplaneError, Limits, Run, DEFAULT_SYNC_RING,
    MIN_NAT_ENTRIES, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX,
};
pub use next_hops::NextHop;
pub use proxy::{ProxyShift, ProxyVersion};
pub use service::{HashOn, Persistence, RealSpec, Scheduling, ServiceSpec};
pub use sync::{Installed, PeerEntry, SyncEntry, SyncEvents, TableReader};
pub use templates::{PeerTemplate, SyncTemplate};
/// The types of [`ServiceSpec`]'s fields, defined once for every crate.
pub use xlvs_config::{Forward, Protocol};

/// The compiled XDP object.
pub(crate) static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/xlvs.o"));
