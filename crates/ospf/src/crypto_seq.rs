//! The cryptographic sequence number we send (RFC 2328 D.3): "The
//! cryptographic sequence number is non-decreasing", and a receiver drops a
//! packet whose number is lower than the last one it accepted from us
//! (D.5.2). FRR and BIRD both do.
//!
//! So the number is taken when a packet is emitted, never stored with it: a
//! retransmission (DBD, LSR, LSU) or a repeated DBD is a new emission and
//! gets a number at least as high as every packet sent before it, Hellos
//! included.
//!
//! The number follows the wall clock in seconds, as BIRD's does: packets
//! sent within one second share a number (allowed: non-decreasing), and a
//! restarted speaker, seeded from the clock again, starts at or above
//! every number it sent before the restart, so its neighbors accept it at
//! once. A counter bumped per packet (FRR's) would run ahead of the clock
//! under load and make a restarted speaker's packets look like replays.

use std::time::Instant;

/// One interface's sending counter.
#[derive(Debug, Clone, Copy)]
pub struct CryptoSeq {
    last: u32,
}

impl CryptoSeq {
    /// A counter that has sent nothing yet.
    pub fn new() -> CryptoSeq {
        CryptoSeq { last: 0 }
    }

    /// The number for a packet emitted at `now`: the clock's (`seed`, the
    /// wall clock in seconds at `started`, plus the seconds since), but
    /// never below the last number sent.
    pub fn next(&mut self, seed: u32, started: Instant, now: Instant) -> u32 {
        let elapsed = now.saturating_duration_since(started).as_secs() as u32;
        self.last = self.last.max(seed.saturating_add(elapsed));
        self.last
    }
}

impl Default for CryptoSeq {
    fn default() -> CryptoSeq {
        CryptoSeq::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn follows_the_clock_in_seconds_and_never_goes_back() {
        let t0 = Instant::now();
        let mut c = CryptoSeq::new();
        assert_eq!(c.next(1000, t0, t0), 1000);
        assert_eq!(c.next(1000, t0, t0 + Duration::from_millis(999)), 1000);
        assert_eq!(c.next(1000, t0, t0 + Duration::from_secs(5)), 1005);
        // A time before the last emission (callers pass stale `now`s):
        // the number stays.
        assert_eq!(c.next(1000, t0, t0 + Duration::from_secs(2)), 1005);
        // A lower seed (the interface's config was replaced) cannot lower it.
        assert_eq!(c.next(10, t0, t0 + Duration::from_secs(6)), 1005);
    }

    #[test]
    fn saturates_at_the_top_instead_of_wrapping_to_zero() {
        let t0 = Instant::now();
        let mut c = CryptoSeq::new();
        assert_eq!(
            c.next(u32::MAX - 1, t0, t0 + Duration::from_secs(9)),
            u32::MAX
        );
    }
}
