//! Counters an operator reads to see why a neighbor does not come up.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    /// Packets that failed to parse (bad length, checksum, version...).
    pub malformed: u64,
    /// Packets dropped by authentication (type, key id, digest, replay).
    pub auth_failures: u64,
    pub bad_lsa_checksums: u64,
    /// Configuration mismatches by kind ("hello interval", "MTU", ...).
    pub mismatches: BTreeMap<&'static str, u64>,
}
