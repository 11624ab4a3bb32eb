//! The link-state database: every LSA instance we hold, with the time it
//! was installed so its age advances without rewriting it (RFC 2328 14).

use crate::wire::lsa::MAX_AGE;
use crate::wire::{Lsa, LsaHeader, LsaKey};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Entry {
    /// The LSA as installed; its header's age is the age at `installed`.
    pub lsa: Lsa,
    pub installed: Instant,
    /// When a copy last arrived by flooding (for MinLSArrival).
    pub arrived: Option<Instant>,
    /// Reached (or arrived at) MaxAge and was flooded as such.
    pub max_age_flooded: bool,
}

impl Entry {
    /// The LS age now, capped at MaxAge.
    pub fn age(&self, now: Instant) -> u16 {
        let elapsed = now.saturating_duration_since(self.installed).as_secs();
        let age = u64::from(self.lsa.header.age()) + elapsed;
        age.min(u64::from(MAX_AGE)) as u16
    }

    /// The header with the current age, as we describe it to neighbors.
    pub fn header(&self, now: Instant) -> LsaHeader {
        let mut h = self.lsa.header;
        h.age = self.age(now);
        h
    }

    /// The LSA with its current age, as we send it.
    pub fn lsa(&self, now: Instant) -> Lsa {
        Lsa {
            header: self.header(now),
            body: self.lsa.body.clone(),
        }
    }

    pub fn is_max_age(&self, now: Instant) -> bool {
        self.age(now) >= MAX_AGE
    }
}

#[derive(Debug, Default)]
pub struct Lsdb {
    entries: BTreeMap<LsaKey, Entry>,
}

impl Lsdb {
    pub fn get(&self, key: &LsaKey) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn install(&mut self, lsa: Lsa, now: Instant, by_flooding: bool) {
        self.entries.insert(
            lsa.key(),
            Entry {
                max_age_flooded: lsa.header.is_max_age(),
                lsa,
                installed: now,
                arrived: by_flooding.then_some(now),
            },
        );
    }

    pub fn remove(&mut self, key: &LsaKey) -> Option<Entry> {
        self.entries.remove(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&LsaKey, &Entry)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys of the LSAs that reached MaxAge by `now`.
    pub fn max_aged(&self, now: Instant) -> Vec<LsaKey> {
        self.entries
            .iter()
            .filter(|(_, e)| e.is_max_age(now))
            .map(|(k, _)| *k)
            .collect()
    }

    /// LSAs that aged to MaxAge and have not been flooded as such yet.
    pub fn newly_max_aged(&self, now: Instant) -> Vec<LsaKey> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.max_age_flooded && e.is_max_age(now))
            .map(|(k, _)| *k)
            .collect()
    }

    pub fn mark_max_age_flooded(&mut self, key: &LsaKey) {
        if let Some(e) = self.entries.get_mut(key) {
            e.max_age_flooded = true;
        }
    }

    /// When the next LSA reaches MaxAge, for the driver's timer.
    pub fn next_max_age(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|e| !e.max_age_flooded)
            .map(|e| e.installed + Duration::from_secs(u64::from(MAX_AGE - e.lsa.header.age())))
            .min()
    }
}
