//! The up/down state of one real, from its check results (keepalived and
//! haproxy semantics): `rise` passes in a row bring a down real up, `fall`
//! failures in a row take an up real down. Pure and clock-free so that it is
//! trivially testable; the scheduler feeds it.

use std::fmt;

/// A change of a real's state. What to do about it (remove the real, or set
/// its weight to 0 as with keepalived's `inhibit_on_failure`) is the
/// daemon's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Up,
    /// `reason` is the error of the last failed check.
    Down {
        reason: String,
    },
}

impl Transition {
    pub fn is_up(&self) -> bool {
        matches!(self, Transition::Up)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealHealth {
    rise: u32,
    fall: u32,
    up: bool,
    /// Consecutive results that disagree with `up`.
    streak: u32,
    /// keepalived's `alpha`: down since start and never passed yet, so the
    /// first pass is enough (there is no flapping to damp yet).
    awaiting_first_pass: bool,
}

impl RealHealth {
    /// With `alpha` the real starts down and its first passing check brings
    /// it up; without, it starts up. `rise` and `fall` below 1 count as 1.
    pub fn new(rise: u32, fall: u32, alpha: bool) -> Self {
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            up: !alpha,
            streak: 0,
            awaiting_first_pass: alpha,
        }
    }

    /// Continues from a known state with fresh counters, e.g. when a config
    /// reload changes a real's check: the real keeps its state, and the new
    /// check has to earn a change.
    pub fn resume(rise: u32, fall: u32, up: bool) -> Self {
        Self {
            up,
            ..Self::new(rise, fall, false)
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Consecutive results so far against the current state.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Feeds one check result; returns the transition it causes, if any.
    pub fn record<E: fmt::Display>(&mut self, result: Result<(), E>) -> Option<Transition> {
        match (self.up, result) {
            (true, Ok(())) | (false, Err(_)) => {
                self.streak = 0;
                None
            }
            (false, Ok(())) => {
                self.streak += 1;
                if self.awaiting_first_pass || self.streak >= self.rise {
                    self.awaiting_first_pass = false;
                    self.up = true;
                    self.streak = 0;
                    Some(Transition::Up)
                } else {
                    None
                }
            }
            (true, Err(e)) => {
                self.streak += 1;
                if self.streak >= self.fall {
                    self.up = false;
                    self.streak = 0;
                    Some(Transition::Down {
                        reason: e.to_string(),
                    })
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: Result<(), &str> = Ok(());

    fn fail(why: &str) -> Result<(), &str> {
        Err(why)
    }

    fn down(why: &str) -> Option<Transition> {
        Some(Transition::Down {
            reason: why.to_string(),
        })
    }

    #[test]
    fn starts_up_without_alpha_and_falls_after_fall_failures() {
        let mut h = RealHealth::new(2, 3, false);
        assert!(h.is_up());
        assert_eq!(h.record(fail("a")), None);
        assert_eq!(h.record(fail("b")), None);
        assert_eq!(h.streak(), 2);
        // The reason is the last failure, not the first.
        assert_eq!(h.record(fail("c")), down("c"));
        assert!(!h.is_up());
        assert_eq!(h.streak(), 0);
    }

    #[test]
    fn a_pass_resets_the_failure_count() {
        let mut h = RealHealth::new(2, 3, false);
        for _ in 0..5 {
            assert_eq!(h.record(fail("x")), None);
            assert_eq!(h.record(fail("x")), None);
            assert_eq!(h.record(PASS), None);
        }
        assert!(h.is_up());
        assert_eq!(h.streak(), 0);
    }

    #[test]
    fn rises_after_rise_passes_and_a_failure_resets_them() {
        let mut h = RealHealth::new(3, 1, false);
        assert_eq!(h.record(fail("x")), down("x"));
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(fail("y")), None);
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(PASS), Some(Transition::Up));
        assert!(h.is_up());
        // No repeated transitions while the state holds.
        assert_eq!(h.record(PASS), None);
    }

    #[test]
    fn alpha_starts_down_and_the_first_pass_brings_it_up() {
        let mut h = RealHealth::new(3, 2, true);
        assert!(!h.is_up());
        assert_eq!(h.record(fail("x")), None);
        assert_eq!(h.record(fail("x")), None);
        assert_eq!(h.record(PASS), Some(Transition::Up));
        // From now on the normal rules apply.
        assert_eq!(h.record(fail("x")), None);
        assert_eq!(h.record(fail("z")), down("z"));
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(PASS), Some(Transition::Up));
    }

    #[test]
    fn rise_and_fall_of_one_flip_on_every_change() {
        let mut h = RealHealth::new(1, 1, false);
        assert_eq!(h.record(fail("x")), down("x"));
        assert_eq!(h.record(fail("x")), None);
        assert_eq!(h.record(PASS), Some(Transition::Up));
        assert_eq!(h.record(fail("x")), down("x"));
    }

    #[test]
    fn zero_counts_behave_like_one() {
        let mut h = RealHealth::new(0, 0, false);
        assert_eq!(h.record(fail("x")), down("x"));
        assert_eq!(h.record(PASS), Some(Transition::Up));
    }

    #[test]
    fn resume_keeps_the_state_and_needs_full_counts() {
        let mut h = RealHealth::resume(2, 2, false);
        assert!(!h.is_up());
        // Unlike alpha, one pass is not enough.
        assert_eq!(h.record(PASS), None);
        assert_eq!(h.record(PASS), Some(Transition::Up));

        let mut h = RealHealth::resume(2, 2, true);
        assert_eq!(h.record(fail("x")), None);
        assert_eq!(h.record(fail("x")), down("x"));
    }
}
