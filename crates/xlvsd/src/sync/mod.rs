//! Flow-state sync with the other directors (`[cluster]`, docs/sync.md):
//! every connection entry the data plane makes is sent to the peers, and
//! theirs are installed here, so a flow the router moves between
//! directors keeps its real (and, under FULLNAT, its local address and
//! port).
//!
//! - translate.rs: the data plane's terms and the cluster's (pure);
//! - routes.rs: which FULLNAT local addresses to announce (pure);
//! - socket.rs: the UDP socket;
//! - driver.rs: the task that runs the protocol core (xlvs-sync) between
//!   the socket, the data plane's report ring and the forwarder, fetches
//!   the table at start before the VIPs are announced, and announces the
//!   FULLNAT local addresses as routes.rs says.
//!
//! The forwarder's side (weighing and installing entries) is in
//! forwarder/peers.rs.

mod driver;
mod routes;
mod socket;
pub mod translate;

pub use driver::{check, peer_is_self, start, SyncError, SyncHandle};

/// The data plane's `sync_ring_full` among its counters: reports the ring
/// could not take (for `xlvsadm sync` and metrics).
pub fn ring_full(dataplane_stats: &[(&'static str, u64)]) -> u64 {
    dataplane_stats
        .iter()
        .find(|(name, _)| *name == "sync_ring_full")
        .map_or(0, |(_, n)| *n)
}
