//! Whether a service has its quorum of usable reals, with keepalived's
//! hysteresis: a state, because with hysteresis the answer for a count
//! depends on where the service comes from.

/// Whether a service has its quorum of usable reals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quorum {
    /// Not met since the service was set up: `quorum` usable reals meet it
    /// (no hysteresis yet, there is no flapping to damp).
    #[default]
    Starting,
    Met,
    /// Lost once: it takes `quorum + hysteresis` usable reals to come back.
    Lost,
}

impl Quorum {
    /// The state once `usable` reals are counted. A met quorum is lost
    /// below `quorum - hysteresis`; a lost one comes back at `quorum +
    /// hysteresis` (keepalived's rule; the config keeps hysteresis below
    /// quorum).
    pub fn next(self, usable: u32, quorum: u32, hysteresis: u32) -> Quorum {
        match self {
            Quorum::Starting | Quorum::Lost => {
                let needed = match self {
                    Quorum::Starting => quorum,
                    _ => quorum.saturating_add(hysteresis),
                };
                if usable >= needed {
                    Quorum::Met
                } else {
                    self
                }
            }
            Quorum::Met if usable.saturating_add(hysteresis) < quorum => Quorum::Lost,
            Quorum::Met => Quorum::Met,
        }
    }

    pub fn met(self) -> bool {
        self == Quorum::Met
    }

    /// For status lines: "" when met.
    pub fn text(self) -> &'static str {
        match self {
            Quorum::Met => "",
            Quorum::Starting => "quorum not met yet",
            Quorum::Lost => "quorum lost",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_without_hysteresis_follows_the_count() {
        let mut q = Quorum::default();
        assert_eq!(q.next(0, 1, 0), Quorum::Starting);
        q = q.next(1, 1, 0);
        assert_eq!(q, Quorum::Met);
        q = q.next(0, 1, 0);
        assert_eq!(q, Quorum::Lost);
        assert_eq!(q.next(1, 1, 0), Quorum::Met);
    }

    #[test]
    fn hysteresis_delays_both_the_loss_and_the_return() {
        // quorum 2, hysteresis 1, three reals: lost below 1, back at 3.
        let (quorum, h) = (2, 1);
        let mut q = Quorum::Starting.next(2, quorum, h);
        assert!(q.met(), "a starting service needs only the quorum");
        for usable in [3, 2, 1] {
            q = q.next(usable, quorum, h);
            assert!(q.met(), "{usable} usable: still met");
        }
        q = q.next(0, quorum, h);
        assert_eq!(q, Quorum::Lost);
        for usable in [1, 2] {
            q = q.next(usable, quorum, h);
            assert_eq!(q, Quorum::Lost, "{usable} usable: not back yet");
        }
        q = q.next(3, quorum, h);
        assert!(q.met());
    }

    #[test]
    fn starting_waits_for_the_quorum_without_hysteresis() {
        let q = Quorum::Starting.next(1, 2, 1);
        assert_eq!(q, Quorum::Starting);
        assert!(!q.met());
        assert_eq!(q.next(2, 2, 1), Quorum::Met);
    }
}
