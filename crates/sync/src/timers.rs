//! Every timer of the core in one table: the driver asks for the earliest
//! (`poll_timeout`) and reports when it passed (`handle_timeout`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Our next Hello.
    Hello,
    /// The partly filled Entries batch leaves.
    Flush,
    /// The end of our table transfer, success or not.
    BulkDeadline,
    /// The current transfer request has made no progress for too long.
    BulkStalled,
    /// A peer's hold time runs out.
    Hold(Ipv4Addr),
}

#[derive(Debug, Default)]
pub(crate) struct Timers(BTreeMap<Timer, Instant>);

impl Timers {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.0.insert(timer, at);
    }

    pub fn clear(&mut self, timer: Timer) {
        self.0.remove(&timer);
    }

    pub fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.0.get(&timer).is_some_and(|at| *at <= now)
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.0.values().min().copied()
    }

    /// Removes and returns the timers due at `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<Timer> {
        let mut due: Vec<(Instant, Timer)> = self
            .0
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, at)| (*at, *t))
            .collect();
        due.sort();
        for (_, t) in &due {
            self.0.remove(t);
        }
        due.into_iter().map(|(_, t)| t).collect()
    }
}
