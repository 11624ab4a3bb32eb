//! The timer arithmetic of RFC 5880: what we advertise (6.8.3), how often
//! we send (6.8.2, 6.8.7) and how long we wait (6.8.4). Pure functions, so
//! the session only decides when to apply them.

use crate::config::SessionConfig;
use crate::rng::Rng;
use crate::wire::State;
use std::time::Duration;

/// 6.8.3: "When bfd.SessionState is not Up, the system MUST set
/// bfd.DesiredMinTxInterval to a value of not less than one second."
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval: the pair a
/// Poll Sequence changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    pub desired_min_tx: Duration,
    pub required_min_rx: Duration,
}

impl Intervals {
    /// What we want to advertise in `state`: the configured interval both
    /// ways, TX held at the slow rate until Up. RX is not slowed: it only
    /// lets the peer send faster once it may.
    pub fn target(config: &SessionConfig, state: State) -> Intervals {
        let desired_min_tx = match state {
            State::Up => config.interval(),
            _ => config.interval().max(SLOW_TX),
        };
        Intervals {
            desired_min_tx,
            required_min_rx: config.interval(),
        }
    }
}

/// 6.8.2/6.8.7: we send no faster than the slower of our wish and the
/// peer's limit; `None` when the peer's limit is 0 ("MUST NOT
/// periodically transmit").
pub fn tx_interval(our_desired_tx: Duration, their_required_rx: Duration) -> Option<Duration> {
    match their_required_rx.is_zero() {
        true => None,
        false => Some(our_desired_tx.max(their_required_rx)),
    }
}

/// 6.8.4, asynchronous mode: "the remote system's bfd.DetectMult
/// multiplied by the agreed transmit interval of the remote system (the
/// greater of bfd.RequiredMinRxInterval and the last received Desired Min
/// TX Interval)".
pub fn detection_time(
    their_mult: u8,
    our_required_rx: Duration,
    their_desired_tx: Duration,
) -> Duration {
    our_required_rx.max(their_desired_tx) * u32::from(their_mult)
}

/// 6.8.7: each interval is reduced by 0 to 25%; with a multiplier of 1 it
/// must be 75% to 90%, so one late packet does not expire the peer's
/// detection. Microsecond resolution, bounds inclusive.
pub fn jittered(interval: Duration, our_mult: u8, rng: &mut Rng) -> Duration {
    let full = interval.as_micros() as u64;
    let lo = (full * 75).div_ceil(100);
    let hi = match our_mult {
        1 => full * 90 / 100,
        _ => full,
    };
    Duration::from_micros(rng.between(lo, hi.max(lo)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn slow_until_up_then_configured() {
        let c = SessionConfig::new(MS(100), 3).unwrap();
        for s in [State::AdminDown, State::Down, State::Init] {
            assert_eq!(Intervals::target(&c, s).desired_min_tx, SLOW_TX);
            assert_eq!(Intervals::target(&c, s).required_min_rx, MS(100));
        }
        assert_eq!(Intervals::target(&c, State::Up).desired_min_tx, MS(100));
        // A configured interval above 1 s is not shortened.
        let slow = SessionConfig::new(MS(2500), 3).unwrap();
        assert_eq!(
            Intervals::target(&slow, State::Down).desired_min_tx,
            MS(2500)
        );
    }

    #[test]
    fn tx_is_the_slower_side_and_none_at_zero() {
        assert_eq!(tx_interval(MS(100), MS(300)), Some(MS(300)));
        assert_eq!(tx_interval(MS(300), MS(100)), Some(MS(300)));
        assert_eq!(tx_interval(MS(300), Duration::ZERO), None);
        assert_eq!(
            tx_interval(MS(300), Duration::from_micros(1)),
            Some(MS(300))
        );
    }

    #[test]
    fn detection_uses_their_multiplier_and_the_slower_side() {
        assert_eq!(detection_time(3, MS(100), MS(50)), MS(300));
        assert_eq!(detection_time(5, MS(100), MS(200)), MS(1000));
        assert_eq!(detection_time(1, MS(10), MS(10)), MS(10));
    }

    #[test]
    fn jitter_stays_in_the_rfc_bounds_and_uses_them() {
        let mut rng = Rng::new(42);
        for (mult, lo, hi) in [(3, 75_000, 100_000), (1, 75_000, 90_000)] {
            let (mut min, mut max) = (u64::MAX, 0);
            for _ in 0..10_000 {
                let j = jittered(MS(100), mult, &mut rng).as_micros() as u64;
                assert!((lo..=hi).contains(&j), "mult {mult}: {j} µs");
                min = min.min(j);
                max = max.max(j);
            }
            // The whole range is used, not a corner of it.
            assert!(
                min < lo + 1_000 && max > hi - 1_000,
                "mult {mult}: {min}..{max}"
            );
        }
    }
}
