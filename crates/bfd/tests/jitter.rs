//! RFC 5880 6.8.7 jitter, measured on the wire over many transmissions:
//! 75-100% of the interval, 75-90% with a multiplier of 1.

mod sim;

use sim::{config, ms, periodic_gaps, Sim};
use std::time::Duration;

/// Gaps between node 0's periodic packets over a minute of fast rate.
fn gaps(multiplier: u8) -> Vec<Duration> {
    let (mut sim, a, b) = Sim::pair(config(100, multiplier), config(100, multiplier));
    sim.settle(a, b);
    let from = sim.now;
    sim.run_for(ms(60_000));
    assert!(sim.both_up(a, b));
    periodic_gaps(&sim.sent_by(0, from))
}

fn check(gaps: &[Duration], lo: Duration, hi: Duration, mean_in: (u64, u64)) {
    assert!(gaps.len() > 600, "{} gaps", gaps.len());
    for g in gaps {
        assert!(*g >= lo && *g <= hi, "{g:?} outside {lo:?}..={hi:?}");
    }
    let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    assert!(
        mean >= ms(mean_in.0) && mean <= ms(mean_in.1),
        "mean {mean:?}: the jitter is not spread over its range"
    );
    // The extremes are reached, within a millisecond.
    assert!(*gaps.iter().min().unwrap() < lo + ms(1));
    assert!(*gaps.iter().max().unwrap() > hi - ms(1));
}

#[test]
fn jitter_is_75_to_100_percent() {
    check(&gaps(3), ms(75), ms(100), (86, 89));
}

#[test]
fn jitter_with_multiplier_1_is_75_to_90_percent() {
    check(&gaps(1), ms(75), ms(90), (81, 84));
}
