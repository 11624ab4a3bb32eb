//! Each real's next hop in the `next_hops` map (bpf/fib.h): what the
//! kernel's FIB would answer for a packet to the real, kept by the daemon
//! from rtnetlink events, so that a new TUN, NAT or FULLNAT flow is sent
//! without a bpf_fib_lookup. XDP uses an entry only with G_F_NEXT_HOP on,
//! and falls back to the FIB for a real without one.
//!
//! The entry is by slot; a real address may have several slots (one per
//! service that lists it), and all of them get the same next hop: routing
//! is by destination.
//!
//! The map is pinned with the others, and cleared when a daemon loads
//! over pins: the program still attached (the previous daemon's, until
//! this one's replaces it) then asks the FIB too, rather than use entries
//! nobody kept current while no daemon ran. A daemon that exits leaving
//! XDP attached turns the map off for the same reason
//! (`set_next_hop_cache(false)`).

use crate::abi::{Globals, RealNextHop, G_F_NEXT_HOP};
use crate::loader::{map_err, Dataplane, DataplaneError};
use std::net::Ipv4Addr;

/// Where packets to a real go: out of `ifindex`, from `smac` to `dmac`
/// (the gateway's MAC, or the real's on its own segment), IP packets of
/// at most `mtu` bytes (larger ones ask the FIB, which drops them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    pub ifindex: u32,
    pub dmac: [u8; 6],
    pub smac: [u8; 6],
    pub mtu: u16,
}

impl NextHop {
    fn entry(self, addr: Ipv4Addr) -> RealNextHop {
        RealNextHop {
            addr: addr.octets(),
            ifindex: self.ifindex,
            dmac: self.dmac,
            smac: self.smac,
            mtu: self.mtu,
            pad: 0,
        }
    }
}

impl Dataplane {
    /// Turns the next hop map on or off (G_F_NEXT_HOP): off, XDP asks the
    /// FIB for every new flow, as it does for a real without an entry.
    pub fn set_next_hop_cache(&mut self, on: bool) -> Result<(), DataplaneError> {
        let g = self.globals()?;
        let flags = if on {
            g.flags | G_F_NEXT_HOP
        } else {
            g.flags & !G_F_NEXT_HOP
        };
        self.set_globals(Globals { flags, ..g })
    }

    /// Sets the next hop towards real `addr` (None: none known, XDP asks
    /// the FIB), in each of its slots and in those it gets later. A change
    /// makes the flow cache's entries stale: the flows that kept the old
    /// next hop take the new one with their next packet.
    pub fn set_next_hop(
        &mut self,
        addr: Ipv4Addr,
        hop: Option<NextHop>,
    ) -> Result<(), DataplaneError> {
        let before = match hop {
            Some(h) => self.hops.insert(addr, h),
            None => self.hops.remove(&addr),
        };
        if before == hop {
            return Ok(());
        }
        for slot in self.slots.of_address(addr) {
            self.write_next_hop(slot, addr)?;
        }
        // After the writes: a packet that read an entry half written
        // stored it in the flow cache under the old generation.
        self.invalidate_flow_cache()
    }

    /// The next hops set, by real address.
    pub fn next_hops(&self) -> impl Iterator<Item = (Ipv4Addr, NextHop)> + '_ {
        self.hops.iter().map(|(a, h)| (*a, *h))
    }

    /// The entry XDP reads for real `addr` (its first slot), if usable.
    pub fn next_hop_entry(&self, addr: Ipv4Addr) -> Result<Option<NextHop>, DataplaneError> {
        let Some(slot) = self.slots.of_address(addr).first().copied() else {
            return Ok(None);
        };
        let e = self.next_hops.get(&slot, 0).map_err(map_err("next_hops"))?;
        Ok(
            (e.ifindex != 0 && e.addr == addr.octets()).then_some(NextHop {
                ifindex: e.ifindex,
                dmac: e.dmac,
                smac: e.smac,
                mtu: e.mtu,
            }),
        )
    }

    /// Clears every slot's entry (pins of an earlier daemon).
    pub(crate) fn clear_next_hops(&mut self) -> Result<(), DataplaneError> {
        for slot in 0..self.limits.reals {
            self.next_hops
                .set(slot, RealNextHop::default(), 0)
                .map_err(map_err("next_hops"))?;
        }
        Ok(())
    }

    /// Writes slot `slot`'s entry for real `addr`: its next hop if one is
    /// set, else a cleared entry.
    pub(crate) fn write_next_hop(
        &mut self,
        slot: u32,
        addr: Ipv4Addr,
    ) -> Result<(), DataplaneError> {
        let entry = self
            .hops
            .get(&addr)
            .map_or(RealNextHop::default(), |h| h.entry(addr));
        self.next_hops
            .set(slot, entry, 0)
            .map_err(map_err("next_hops"))
    }
}
