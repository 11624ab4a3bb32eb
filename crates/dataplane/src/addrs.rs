//! `addr_bits` (bpf/addrs.h): one bit per address, by a hash of it, for
//! every VIP and FULLNAT local address (first half) and every real of a
//! NAT service (second half), so that XDP passes traffic for none of them
//! after one inlined array lookup. A bit shared with another address only
//! sends that address's traffic the full way, as before.
//!
//! What the bits should be is computed from the services (their VIPs and
//! which are NAT), the reals' slots and the local addresses, and only the
//! words that differ from what was written are written: services sharing
//! a VIP or a real need no reference counts, and a daemon loading over
//! pins starts from the pinned maps. A service's bits are set before its
//! keys are written, so no packet of a new service is passed meanwhile;
//! bits nobody uses any more are cleared once the keys are gone. Peers'
//! FULLNAT local addresses (flow-state sync) are listed as ours from
//! their first installed entry on: replies to them come through here.

use crate::abi::{ADDR_WORDS, FWD_NAT, G_F_ADDRS, G_F_NAT_REALS, MAX_LOCAL_ADDRS};
use crate::loader::{map_err, Dataplane, DataplaneError};
use crate::Forward;
use aya::maps::{Array, MapData};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// What an address is to the director.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddrKind {
    /// A VIP or a FULLNAT local address: packets to it are looked at.
    Destination,
    /// A real of a NAT service: packets from it are looked at.
    NatReal,
}

/// The addresses XDP must look at, from the services by (id, VIP) and
/// whether each is NAT, the reals in use by service id, and the local
/// addresses.
pub(crate) fn address_kinds(
    services: &BTreeMap<(u32, Ipv4Addr), bool>,
    reals: impl Iterator<Item = (u32, Ipv4Addr)>,
    local: &[Ipv4Addr],
) -> BTreeSet<(AddrKind, Ipv4Addr)> {
    let mut kinds: BTreeSet<_> = services
        .keys()
        .map(|&(_, vip)| (AddrKind::Destination, vip))
        .collect();
    let nat: BTreeSet<u32> = services
        .iter()
        .filter(|(_, &nat)| nat)
        .map(|(&(id, _), _)| id)
        .collect();
    for (svc, addr) in reals {
        if nat.contains(&svc) {
            kinds.insert((AddrKind::NatReal, addr));
        }
    }
    kinds.extend(local.iter().map(|&l| (AddrKind::Destination, l)));
    kinds
}

/// The word and bit of an address in `addr_bits`, as bpf/addrs.h's
/// addr_maybe computes them (on the address's bytes as the packet holds
/// them, read as a native-endian u32).
pub(crate) fn bit_of(kind: AddrKind, addr: Ipv4Addr) -> (u32, u32) {
    let bit = u32::from_ne_bytes(addr.octets()).wrapping_mul(0x9e37_79b1) >> 17;
    let half = match kind {
        AddrKind::Destination => 0,
        AddrKind::NatReal => ADDR_WORDS / 2,
    };
    (half + (bit >> 6), bit & 63)
}

/// The words of `addr_bits` for a set of addresses.
pub(crate) fn words_for(kinds: &BTreeSet<(AddrKind, Ipv4Addr)>) -> Vec<u64> {
    let mut words = vec![0u64; ADDR_WORDS as usize];
    for &(kind, addr) in kinds {
        let (w, b) = bit_of(kind, addr);
        words[w as usize] |= 1 << b;
    }
    words
}

/// The globals flags for a set of addresses: G_F_ADDRS (the bits are
/// complete once written), and G_F_NAT_REALS while a NAT real is listed.
pub(crate) fn flags_for(kinds: &BTreeSet<(AddrKind, Ipv4Addr)>) -> u32 {
    let nat = kinds.iter().any(|(k, _)| *k == AddrKind::NatReal);
    G_F_ADDRS | if nat { G_F_NAT_REALS } else { 0 }
}

/// The map and what the loader knows of it.
pub(crate) struct Addresses {
    map: Array<MapData, u64>,
    /// What the map holds (written by us, or read once from pins).
    words: Vec<u64>,
    /// The addresses last computed.
    kinds: BTreeSet<(AddrKind, Ipv4Addr)>,
    /// Whether each service is NAT, by id and VIP (as its keys are: a
    /// service set again on another VIP keeps the old keys until it is
    /// removed with them).
    pub(crate) services: BTreeMap<(u32, Ipv4Addr), bool>,
    /// Peers' FULLNAT local addresses, from their entries installed here
    /// (flow-state sync): replies to them come back through us. Kept
    /// while the daemon runs (a stale bit only costs speed).
    peer_local: BTreeSet<Ipv4Addr>,
    /// The globals flags XDP reads the map by (kept by set_globals).
    pub(crate) flags: u32,
    /// The early exit turned off (`set_early_exit`): flags stay 0.
    off: bool,
}

impl Addresses {
    pub(crate) fn new(map: Array<MapData, u64>) -> Addresses {
        Addresses {
            map,
            words: Vec::new(),
            kinds: BTreeSet::new(),
            services: BTreeMap::new(),
            peer_local: BTreeSet::new(),
            flags: 0,
            off: false,
        }
    }
}

impl Dataplane {
    /// At load: what the (maybe pinned) maps hold, then the bits made to
    /// match and the early exit turned on.
    pub(crate) fn recover_addresses(&mut self) -> Result<(), DataplaneError> {
        for item in self.services.iter() {
            let (k, v) = item.map_err(map_err("services"))?;
            let vip = Ipv4Addr::from(k.vip);
            self.addrs
                .services
                .insert((v.id, vip), v.forward == FWD_NAT);
        }
        let mut words = Vec::with_capacity(ADDR_WORDS as usize);
        for i in 0..ADDR_WORDS {
            words.push(self.addrs.map.get(&i, 0).map_err(map_err("addr_bits"))?);
        }
        self.addrs.words = words;
        // Peers' entries in a pinned table (a fresh one is empty).
        for e in self.sync_entries()? {
            if e.conn.is_peer() && e.forward == Forward::Fullnat {
                self.addrs
                    .peer_local
                    .insert(Ipv4Addr::from(e.conn.nat_addr));
            }
        }
        self.sync_addresses(true)
    }

    /// A peer's FULLNAT local address, before its way back is installed.
    pub(crate) fn note_peer_local(&mut self, addr: Ipv4Addr) -> Result<(), DataplaneError> {
        if self.addrs.peer_local.insert(addr) {
            self.sync_addresses(false)?;
        }
        Ok(())
    }

    /// Sets the bits the addresses in use lack; with `prune`, also clears
    /// those no address in use has (without: a service's bits going in
    /// before its keys). Then sets the flags to match.
    pub(crate) fn sync_addresses(&mut self, prune: bool) -> Result<(), DataplaneError> {
        let count = (self.globals()?.laddr_count as usize).min(MAX_LOCAL_ADDRS);
        let mut local = Vec::with_capacity(count);
        for i in 0..count as u32 {
            let a = self
                .local_addrs
                .get(&i, 0)
                .map_err(map_err("local_addrs"))?;
            local.push(Ipv4Addr::from(a));
        }
        local.extend(self.addrs.peer_local.iter().copied());
        let mut kinds = address_kinds(&self.addrs.services, self.slots.in_use(), &local);
        let a = &mut self.addrs;
        if !prune {
            kinds.extend(a.kinds.iter().copied());
        }
        let want = words_for(&kinds);
        for (i, (&w, have)) in want.iter().zip(a.words.iter_mut()).enumerate() {
            if w != *have {
                a.map.set(i as u32, w, 0).map_err(map_err("addr_bits"))?;
                *have = w;
            }
        }
        let flags = if a.off { 0 } else { flags_for(&kinds) };
        a.kinds = kinds;
        if flags != a.flags {
            a.flags = flags;
            let g = self.globals()?;
            self.set_globals(g)?;
        }
        Ok(())
    }

    /// Turns the early exit for traffic to no service on (the default)
    /// or off (every packet hashed and looked up as before it existed;
    /// for benchmarks). The bits are kept either way.
    pub fn set_early_exit(&mut self, on: bool) -> Result<(), DataplaneError> {
        self.addrs.off = !on;
        self.sync_addresses(true)
    }

    /// Whether `addr_bits` has the bit of `addr` as a destination (a VIP
    /// or local address), and as a NAT real.
    pub fn address_bits(&self, addr: Ipv4Addr) -> Result<(bool, bool), DataplaneError> {
        let has = |kind| -> Result<bool, DataplaneError> {
            let (w, b) = bit_of(kind, addr);
            let word = self.addrs.map.get(&w, 0).map_err(map_err("addr_bits"))?;
            Ok(word >> b & 1 == 1)
        };
        Ok((has(AddrKind::Destination)?, has(AddrKind::NatReal)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }

    #[test]
    fn a_vip_local_address_and_nat_real_are_listed_once() {
        // Service 1 (DR) and 2 (NAT) share VIP 9 and real 5; 9 is also a
        // local address.
        let services = [((1, a(9)), false), ((2, a(9)), true)].into();
        let reals = [(1, a(5)), (2, a(5)), (2, a(6))];
        let kinds = address_kinds(&services, reals.into_iter(), &[a(9)]);
        let want: BTreeSet<_> = [
            (AddrKind::Destination, a(9)),
            (AddrKind::NatReal, a(5)),
            (AddrKind::NatReal, a(6)),
        ]
        .into();
        assert_eq!(kinds, want);
        assert_eq!(flags_for(&kinds), G_F_ADDRS | G_F_NAT_REALS);
    }

    #[test]
    fn reals_of_other_services_are_not_listed() {
        let services = [((1, a(1)), false)].into();
        let kinds = address_kinds(&services, [(1, a(5)), (3, a(6))].into_iter(), &[]);
        assert_eq!(kinds, [(AddrKind::Destination, a(1))].into());
        assert_eq!(flags_for(&kinds), G_F_ADDRS);
    }

    #[test]
    fn each_address_sets_one_bit_in_its_half() {
        let kinds: BTreeSet<_> = [(AddrKind::Destination, a(1)), (AddrKind::NatReal, a(1))].into();
        let words = words_for(&kinds);
        let ones =
            |r: std::ops::Range<usize>| -> u32 { words[r].iter().map(|w| w.count_ones()).sum() };
        let half = ADDR_WORDS as usize / 2;
        assert_eq!((ones(0..half), ones(half..2 * half)), (1, 1));
        let (w, b) = bit_of(AddrKind::NatReal, a(1));
        assert!((ADDR_WORDS / 2..ADDR_WORDS).contains(&w) && b < 64);
        assert_eq!(words[w as usize], 1 << b);
    }
}
