//! Building and reading a Maglev lookup table.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::{Backend, MaglevError, TableSize};

/// The value of an empty slot in [`Table::slots`]: the table has no backend
/// with a positive weight.
pub const NO_BACKEND: u32 = u32::MAX;

/// A Maglev lookup table: `M` slots, each the index of a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    size: TableSize,
    /// Index into `backends` per slot, or [`NO_BACKEND`].
    slots: Vec<u32>,
    /// The backends with a positive weight, sorted by [`Backend::key`].
    backends: Vec<Backend>,
}

/// How a table differs from an older one, slot by slot. Backends are
/// compared by address and port, so a weight change alone is no move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    /// `M`.
    pub slots: usize,
    /// Slots whose backend differs (including slots that became or stopped
    /// being empty).
    pub changed: usize,
    /// Of `changed`, the slots that moved from one survivor (a backend with
    /// a positive weight in both tables) to another: the moves a strictly
    /// minimal scheme would not make. A removed backend's slots and the
    /// slots a new backend takes are not counted here.
    pub between_survivors: usize,
}

impl Table {
    /// Builds the table for `backends`, in any order.
    ///
    /// Backends of weight 0 get no slot and are left out of
    /// [`backends`](Self::backends): quiescing a backend gives the same table
    /// as removing it. With no positive weight at all every slot is
    /// [`NO_BACKEND`].
    ///
    /// Fill order (fixed: it decides which backend gets which slot): the
    /// backends with a positive weight, sorted by key, are numbered `i = 0..n`.
    /// With `W` the largest weight, backend `i` makes its `k`-th claim
    /// (`k = 0, 1, ...`) in round `ceil(k * W / w_i)`; claims are served in
    /// order of (round, i). A claim takes the first slot of the backend's
    /// permutation ([`Backend::permutation`]) that is still empty, and
    /// filling stops when no slot is empty. Equivalently: each backend starts
    /// with a credit of `W`; each round, every backend in turn whose credit
    /// is at least `W` claims one slot and pays `W`; then every backend adds
    /// its weight. A backend of weight `W` claims every round, one of weight
    /// `W/3` every third round, so small integer weights stay proportional
    /// (the crate docs give the bound) and scaling all weights changes
    /// nothing.
    pub fn build(size: TableSize, backends: &[Backend]) -> Result<Table, MaglevError> {
        let mut sorted = backends.to_vec();
        sorted.sort_unstable_by_key(Backend::key);
        if let Some(w) = sorted.windows(2).find(|w| w[0].key() == w[1].key()) {
            let (addr, port) = (w[0].addr, w[0].port);
            return Err(MaglevError::DuplicateBackend { addr, port });
        }
        sorted.retain(|b| b.weight > 0);
        let m = size.get();
        // Also keeps every index below NO_BACKEND.
        if sorted.len() > m as usize {
            let (backends, size) = (sorted.len(), m);
            return Err(MaglevError::TooManyBackends { backends, size });
        }
        let slots = fill(size, &sorted);
        Ok(Table {
            size,
            slots,
            backends: sorted,
        })
    }

    /// The smallest listed size with at least 100 slots per backend, which
    /// keeps every backend within 1% of its fair share (see the crate docs);
    /// `None` above 10485 backends, where no listed size is large enough.
    pub fn recommended_size(n_backends: usize) -> Option<TableSize> {
        let wanted = n_backends.saturating_mul(100);
        TableSize::ALL
            .into_iter()
            .find(|s| s.get() as usize >= wanted)
    }

    /// The backend for a flow: slot `hash % M`. `None` when the table has no
    /// backend. `hash` is [`flow_hash`](crate::flow_hash) or
    /// [`source_hash`](crate::source_hash).
    pub fn lookup(&self, hash: u32) -> Option<&Backend> {
        let index = self.slots[(hash % self.size.get()) as usize];
        self.backends.get(index as usize)
    }

    /// `M`.
    pub fn size(&self) -> TableSize {
        self.size
    }

    /// One backend index per slot, or [`NO_BACKEND`]: what the data plane
    /// loads into its BPF array map.
    pub fn slots(&self) -> &[u32] {
        &self.slots
    }

    /// The backends the slots point into: those with a positive weight,
    /// sorted by [`Backend::key`].
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// True when no backend has a positive weight: every lookup is `None`.
    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }

    /// How many slots each backend of [`backends`](Self::backends) holds.
    pub fn slot_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.backends.len()];
        for &i in self.slots.iter().filter(|&&i| i != NO_BACKEND) {
            counts[i as usize] += 1;
        }
        counts
    }

    /// What changes for flows when `newer` replaces this table (of the same
    /// size; a different size changes everything and `None` is returned).
    pub fn changes_to(&self, newer: &Table) -> Option<Changes> {
        if newer.size != self.size {
            return None;
        }
        let key = |t: &Table, i: u32| t.backends.get(i as usize).map(Backend::key);
        let holds = |t: &Table, k| t.backends.binary_search_by_key(&k, Backend::key).is_ok();
        let mut changes = Changes {
            slots: self.slots.len(),
            changed: 0,
            between_survivors: 0,
        };
        for (&old, &new) in self.slots.iter().zip(&newer.slots) {
            let (old, new) = (key(self, old), key(newer, new));
            if old == new {
                continue;
            }
            changes.changed += 1;
            if let (Some(old), Some(new)) = (old, new) {
                if holds(newer, old) && holds(self, new) {
                    changes.between_survivors += 1;
                }
            }
        }
        Some(changes)
    }
}

/// Where a backend's next claim looks, and when it may claim.
struct Cursor {
    /// The next slot of its permutation to try.
    next: u32,
    skip: u32,
    weight: u64,
    /// Claims made so far (`k`).
    claims: u64,
}

/// The slots for `backends` (sorted, positive weights, at most `M`).
fn fill(size: TableSize, backends: &[Backend]) -> Vec<u32> {
    let m = size.get();
    let mut slots = vec![NO_BACKEND; m as usize];
    let Some(max_weight) = backends.iter().map(|b| u64::from(b.weight)).max() else {
        return slots;
    };
    let mut cursors: Vec<Cursor> = backends
        .iter()
        .map(|b| {
            let (offset, skip) = b.permutation(size);
            let weight = u64::from(b.weight);
            Cursor {
                next: offset,
                skip,
                weight,
                claims: 0,
            }
        })
        .collect();
    // (round of the next claim, backend index); the smallest pair claims
    // next. A heap rather than visiting every backend every round: with one
    // heavy backend among many light ones, most rounds would check N
    // backends for a single claim. Rounds stay below 2^53: claims <= M <
    // 2^21, weights < 2^32.
    let mut turns: BinaryHeap<Reverse<(u64, u32)>> = (0..backends.len() as u32)
        .map(|i| Reverse((0, i)))
        .collect();
    for _ in 0..m {
        let Reverse((_, i)) = turns.pop().expect("every backend is always queued");
        let c = &mut cursors[i as usize];
        // The permutation (offset + j * skip) % M, one addition at a time;
        // it visits every slot since M is prime, so an empty one is found.
        while slots[c.next as usize] != NO_BACKEND {
            c.next = step(c.next, c.skip, m);
        }
        slots[c.next as usize] = i;
        c.next = step(c.next, c.skip, m);
        c.claims += 1;
        turns.push(Reverse(((c.claims * max_weight).div_ceil(c.weight), i)));
    }
    slots
}

/// `(pos + skip) % m` for `pos, skip < m`, without a division.
fn step(pos: u32, skip: u32, m: u32) -> u32 {
    // pos + skip < 2m <= 2^21: no overflow.
    let next = pos + skip;
    if next >= m {
        next - m
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn backend(last: u8, weight: u32) -> Backend {
        Backend::new(Ipv4Addr::new(10, 0, 0, last), 80, weight)
    }

    fn small() -> TableSize {
        TableSize::new(251).unwrap()
    }

    /// The fill order exactly as the docs of [`Table::build`] describe it:
    /// rounds with credits, and permutation entries computed with a
    /// multiplication. An independent check of the heap and the
    /// incremental permutation in [`fill`].
    fn reference_fill(size: TableSize, backends: &[Backend]) -> Vec<u32> {
        let m = u64::from(size.get());
        let mut slots = vec![NO_BACKEND; m as usize];
        let w_max = backends.iter().map(|b| u64::from(b.weight)).max().unwrap();
        let mut credit = vec![w_max; backends.len()];
        let mut next_j = vec![0u64; backends.len()];
        let mut filled = 0;
        while filled < m {
            for (i, b) in backends.iter().enumerate() {
                if credit[i] >= w_max && filled < m {
                    credit[i] -= w_max;
                    let (offset, skip) = b.permutation(size);
                    loop {
                        let slot = (u64::from(offset) + next_j[i] * u64::from(skip)) % m;
                        next_j[i] += 1;
                        if slots[slot as usize] == NO_BACKEND {
                            slots[slot as usize] = i as u32;
                            filled += 1;
                            break;
                        }
                    }
                }
            }
            for (i, b) in backends.iter().enumerate() {
                credit[i] += u64::from(b.weight);
            }
        }
        slots
    }

    #[test]
    fn fill_matches_the_documented_scheme() {
        let weights: [&[u32]; 5] = [
            &[1],
            &[1, 1, 1],
            &[1, 2, 3, 4],
            &[100, 50, 7],
            &[5, 1, 1, 9, 2, 2],
        ];
        for size in [small(), TableSize::new(1021).unwrap(), TableSize::DEFAULT] {
            for ws in weights {
                let set: Vec<Backend> = ws
                    .iter()
                    .enumerate()
                    .map(|(i, &w)| backend(i as u8 + 1, w))
                    .collect();
                let table = Table::build(size, &set).unwrap();
                assert!(
                    table.slots() == reference_fill(size, &set),
                    "M={size} {ws:?}"
                );
            }
        }
    }

    #[test]
    fn no_positive_weight_gives_an_empty_table() {
        for set in [vec![], vec![backend(1, 0), backend(2, 0)]] {
            let table = Table::build(small(), &set).unwrap();
            assert!(table.is_empty());
            assert!(table.backends().is_empty());
            assert_eq!(table.slots().len(), 251);
            assert!(table.slots().iter().all(|&s| s == NO_BACKEND));
            assert_eq!(table.lookup(0), None);
            assert_eq!(table.lookup(u32::MAX), None);
            assert_eq!(table.slot_counts(), Vec::<usize>::new());
        }
    }

    #[test]
    fn one_backend_takes_every_slot() {
        let table = Table::build(small(), &[backend(1, 5), backend(2, 0)]).unwrap();
        assert_eq!(table.backends(), [backend(1, 5)]);
        assert!(table.slots().iter().all(|&s| s == 0));
    }

    #[test]
    fn lookup_uses_hash_mod_m() {
        let table = Table::build(small(), &[backend(1, 1), backend(2, 1), backend(3, 1)]).unwrap();
        for hash in [0, 1, 250, 251, 252, 1_000_000, u32::MAX] {
            let index = table.slots()[(hash % 251) as usize];
            assert_eq!(table.lookup(hash), Some(&table.backends()[index as usize]));
        }
    }

    #[test]
    fn duplicates_are_rejected() {
        let err = Table::build(small(), &[backend(1, 1), backend(2, 1), backend(1, 0)]);
        let addr = Ipv4Addr::new(10, 0, 0, 1);
        assert_eq!(err, Err(MaglevError::DuplicateBackend { addr, port: 80 }));
        assert_eq!(
            err.unwrap_err().to_string(),
            "backend 10.0.0.1:80 is listed more than once"
        );
        // Same address, other port: a different backend.
        let other_port = Backend {
            port: 81,
            ..backend(1, 1)
        };
        assert!(Table::build(small(), &[backend(1, 1), other_port]).is_ok());
    }

    #[test]
    fn more_backends_than_slots_is_an_error() {
        let set: Vec<Backend> = (0..252)
            .map(|i| Backend::new(Ipv4Addr::from(0x0a00_0000 + i), 80, 1))
            .collect();
        let err = Table::build(small(), &set).unwrap_err();
        assert_eq!(
            err,
            MaglevError::TooManyBackends {
                backends: 252,
                size: 251
            }
        );
        // Quiescent backends do not count.
        let mut set = set;
        set[0].weight = 0;
        let table = Table::build(small(), &set).unwrap();
        assert!(table.slot_counts().iter().all(|&c| c == 1));
    }

    #[test]
    fn recommended_size_gives_100_slots_per_backend() {
        let rec = |n| Table::recommended_size(n).map(TableSize::get);
        assert_eq!(rec(0), Some(251));
        assert_eq!(rec(2), Some(251));
        assert_eq!(rec(3), Some(509));
        assert_eq!(rec(100), Some(16381));
        assert_eq!(rec(655), Some(65537));
        assert_eq!(rec(656), Some(131071));
        assert_eq!(rec(10485), Some(1048573));
        assert_eq!(rec(10486), None);
        assert_eq!(rec(usize::MAX), None);
    }

    #[test]
    fn changes_compare_backends_not_indices() {
        let old = Table::build(small(), &[backend(2, 1), backend(3, 1)]).unwrap();
        // A new lowest backend shifts every index by one.
        let new = Table::build(small(), &[backend(1, 1), backend(2, 1), backend(3, 1)]).unwrap();
        let c = old.changes_to(&new).unwrap();
        assert_eq!(c.slots, 251);
        assert_eq!(c.changed, new.slot_counts()[0] + c.between_survivors);
        // And back: the same slots change.
        let back = new.changes_to(&old).unwrap();
        assert_eq!(back, c);
        // A weight change: every change is between survivors.
        let heavier = Table::build(small(), &[backend(2, 2), backend(3, 1)]).unwrap();
        let c = old.changes_to(&heavier).unwrap();
        assert_eq!(c.changed, c.between_survivors);
        assert!(c.changed > 0);
        let same = old.changes_to(&old).unwrap();
        assert_eq!((same.changed, same.between_survivors), (0, 0));
        // To or from an empty table: every slot changes, none between survivors.
        let empty = Table::build(small(), &[]).unwrap();
        let c = old.changes_to(&empty).unwrap();
        assert_eq!((c.changed, c.between_survivors), (251, 0));
        assert_eq!(empty.changes_to(&old), Some(c));
        let other = Table::build(TableSize::new(509).unwrap(), &[backend(2, 1)]).unwrap();
        assert_eq!(old.changes_to(&other), None);
    }
}
