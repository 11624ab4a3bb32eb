//! Every timer of the core in one table, ordered by deadline: the driver
//! asks for the earliest (`poll_timeout`) and reports when it passed
//! (`handle_timeout`).

use crate::session::SessionId;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// The session's next periodic Control packet.
    Tx(SessionId),
    /// The session's Detection Time runs out.
    Detect(SessionId),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: BTreeSet<(Instant, Timer)>,
    armed: BTreeMap<Timer, Instant>,
}

impl Timers {
    /// Arms `timer` at `at`, replacing its previous deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(old) = self.armed.insert(timer, at) {
            self.queue.remove(&(old, timer));
        }
        self.queue.insert((at, timer));
    }

    pub fn clear(&mut self, timer: Timer) {
        if let Some(old) = self.armed.remove(&timer) {
            self.queue.remove(&(old, timer));
        }
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.armed.get(&timer).copied()
    }

    pub fn next(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let (at, timer) = *self.queue.first()?;
        if at > now {
            return None;
        }
        self.queue.pop_first();
        self.armed.remove(&timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rearming_moves_a_timer_and_due_ones_pop_in_order() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let (a, b) = (SessionId(1), SessionId(2));
        let mut t = Timers::default();
        t.set(Timer::Detect(a), t0 + ms(300));
        t.set(Timer::Tx(b), t0 + ms(100));
        t.set(Timer::Tx(b), t0 + ms(400));
        assert_eq!(t.next(), Some(t0 + ms(300)));
        assert_eq!(t.pop_due(t0 + ms(299)), None);
        assert_eq!(t.pop_due(t0 + ms(500)), Some(Timer::Detect(a)));
        assert_eq!(t.pop_due(t0 + ms(500)), Some(Timer::Tx(b)));
        assert_eq!(t.pop_due(t0 + ms(500)), None);
        t.set(Timer::Tx(a), t0);
        t.clear(Timer::Tx(a));
        assert_eq!((t.next(), t.get(Timer::Tx(a))), (None, None));
    }
}
