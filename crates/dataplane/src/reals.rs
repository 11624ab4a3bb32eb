//! Slots in the `reals` map. A real keeps its slot while its service
//! lists it, so connection-table entries (which name the slot) stay
//! valid across table updates. Freed slots are reused oldest first, to
//! make it unlikely that a stale connection entry finds a new real.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

#[derive(Debug)]
pub(crate) struct RealSlots {
    used: BTreeMap<(u32, Ipv4Addr, u16), u32>,
    free: VecDeque<u32>,
}

impl RealSlots {
    pub fn new(capacity: u32) -> RealSlots {
        RealSlots {
            used: BTreeMap::new(),
            free: (0..capacity).collect(),
        }
    }

    /// The slot of (service, address, port), if it has one.
    pub fn get(&self, svc: u32, addr: Ipv4Addr, port: u16) -> Option<u32> {
        self.used.get(&(svc, addr, port)).copied()
    }

    /// Slots as a previous daemon left them in pinned maps: `used` lists
    /// (slot, service, address, port) of the entries in use.
    pub fn recover(capacity: u32, used: &[(u32, u32, Ipv4Addr, u16)]) -> RealSlots {
        let mut s = RealSlots::new(capacity);
        for &(slot, svc, addr, port) in used {
            s.used.insert((svc, addr, port), slot);
            s.free.retain(|f| *f != slot);
        }
        s
    }

    /// The slots of service `svc`.
    pub fn of_service(&self, svc: u32) -> Vec<u32> {
        self.used
            .iter()
            .filter(|((s, ..), _)| *s == svc)
            .map(|(_, slot)| *slot)
            .collect()
    }

    /// The slots of real address `addr`, in any service.
    pub fn of_address(&self, addr: Ipv4Addr) -> Vec<u32> {
        self.used
            .iter()
            .filter(|((_, a, _), _)| *a == addr)
            .map(|(_, slot)| *slot)
            .collect()
    }

    /// (service, address) of every slot in use.
    pub fn in_use(&self) -> impl Iterator<Item = (u32, Ipv4Addr)> + '_ {
        self.used.keys().map(|&(svc, addr, _)| (svc, addr))
    }

    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    pub fn take(&mut self, svc: u32, addr: Ipv4Addr, port: u16) -> Option<u32> {
        if let Some(s) = self.get(svc, addr, port) {
            return Some(s);
        }
        let s = self.free.pop_front()?;
        self.used.insert((svc, addr, port), s);
        Some(s)
    }

    /// Slots of `svc` not in `keep`; they are freed and returned.
    pub fn release_others(&mut self, svc: u32, keep: &[(Ipv4Addr, u16)]) -> Vec<u32> {
        let gone: Vec<(u32, Ipv4Addr, u16)> = self
            .used
            .keys()
            .filter(|(s, a, p)| *s == svc && !keep.contains(&(*a, *p)))
            .copied()
            .collect();
        let mut freed = Vec::new();
        for k in gone {
            let slot = self.used.remove(&k).expect("listed");
            self.free.push_back(slot);
            freed.push(slot);
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_keeps_its_slot_and_freed_slots_are_reused_last() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let mut s = RealSlots::new(3);
        assert_eq!(s.take(0, a, 80), Some(0));
        assert_eq!(s.take(0, b, 80), Some(1));
        assert_eq!(s.take(0, a, 80), Some(0));
        assert_eq!(s.release_others(0, &[(b, 80)]), [0]);
        // slot 2 was free longer than slot 0
        assert_eq!(s.take(1, a, 80), Some(2));
        assert_eq!(s.take(1, b, 80), Some(0));
        assert_eq!(s.take(2, b, 80), None);
        assert_eq!(s.of_address(b), [1, 0]);
    }
}
