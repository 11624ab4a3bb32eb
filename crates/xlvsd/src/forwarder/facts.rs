//! What the host tells the decisions about reaching backends: the MACs
//! of DR backends, learned from the kernel's neighbour table, and the
//! address TUN packets leave from. Gathered by the forwarder (host.rs);
//! the decisions only read them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// DR backends' MACs, by address. A MAC once learned is kept until a
    /// reload, even when its neighbour entry goes stale.
    pub macs: BTreeMap<Ipv4Addr, [u8; 6]>,
    /// The outer source of TUN packets: configured, or the first XDP
    /// interface's address once it has one.
    pub tun_source: Option<Ipv4Addr>,
}

impl Facts {
    pub fn mac(&self, addr: Ipv4Addr) -> Option<[u8; 6]> {
        self.macs.get(&addr).copied()
    }
}
