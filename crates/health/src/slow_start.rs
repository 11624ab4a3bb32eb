//! Slow start: a real that just came up gets a weight that ramps up
//! linearly, so it is not flooded with new connections while its caches are
//! cold (the daemon calls this while the ramp lasts).

use std::time::Duration;

/// The weight to use `since_up` after a real came up: 1 at first, rising
/// linearly to `full_weight` at `ramp`. A weight of 0 (quiescent) stays 0,
/// and a zero `ramp` means no slow start.
pub fn slow_start_weight(full_weight: u32, since_up: Duration, ramp: Duration) -> u32 {
    if full_weight == 0 || since_up >= ramp {
        return full_weight;
    }
    // Integer maths in nanoseconds: exact, and no float rounding at the ends.
    let extra = u128::from(full_weight - 1) * since_up.as_nanos() / ramp.as_nanos();
    // extra < full_weight - 1 because since_up < ramp.
    1 + extra as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn ramps_linearly_from_one_to_full() {
        let ramp = secs(10.0);
        assert_eq!(slow_start_weight(101, secs(0.0), ramp), 1);
        assert_eq!(slow_start_weight(101, secs(2.5), ramp), 26);
        assert_eq!(slow_start_weight(101, secs(5.0), ramp), 51);
        assert_eq!(slow_start_weight(101, secs(9.999), ramp), 100);
        assert_eq!(slow_start_weight(101, ramp, ramp), 101);
        assert_eq!(slow_start_weight(101, secs(3600.0), ramp), 101);
    }

    #[test]
    fn never_decreases_and_stays_in_bounds() {
        let ramp = Duration::from_millis(1000);
        let mut last = 0;
        for ms in 0..=1100 {
            let w = slow_start_weight(7, Duration::from_millis(ms), ramp);
            assert!((1..=7).contains(&w));
            assert!(w >= last);
            last = w;
        }
        assert_eq!(last, 7);
    }

    #[test]
    fn edge_weights_and_ramps() {
        // Quiescent stays quiescent; weight 1 has nowhere to ramp.
        assert_eq!(slow_start_weight(0, secs(0.0), secs(10.0)), 0);
        assert_eq!(slow_start_weight(1, secs(0.0), secs(10.0)), 1);
        // No ramp: full weight at once.
        assert_eq!(slow_start_weight(50, Duration::ZERO, Duration::ZERO), 50);
        // Largest values do not overflow.
        assert_eq!(
            slow_start_weight(
                u32::MAX,
                Duration::from_secs(u64::MAX / 2),
                Duration::from_secs(u64::MAX - 1)
            ),
            u32::MAX / 2 + 1
        );
    }
}
