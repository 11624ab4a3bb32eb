//! The data plane's clock. Connection entries are stamped with jiffies
//! (`bpf_jiffies64`, which the verifier inlines; the nanosecond clocks are
//! a helper call per packet), so timeouts need the kernel's HZ, which no
//! interface exports: it is measured once per process by running the
//! program's `clock` section, which reports jiffies and CLOCK_MONOTONIC.

use crate::loader::{test_run, DataplaneError};
use aya::programs::Xdp;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The data plane's time now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Jiffies now.
    pub now: u64,
    /// Jiffies per second.
    pub hz: u32,
}

impl Clock {
    /// Time since a connection entry's `last` stamp (zero if in the future).
    pub fn since(&self, last: u64) -> Duration {
        let ticks = self.now.saturating_sub(last);
        Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / u64::from(self.hz.max(1)))
    }
}

/// (jiffies, CLOCK_MONOTONIC ns) from the `clock` program.
pub(crate) fn sample(prog: &Xdp) -> Result<(u64, u64), DataplaneError> {
    let run = test_run(prog, &[0u8; 64], 1)?;
    let word = |i: usize| {
        run.packet
            .get(i * 8..i * 8 + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
            .ok_or(DataplaneError::Clock("short clock sample"))
    };
    Ok((word(0)?, word(1)?))
}

/// The kernel's HZ, measured on first use.
pub(crate) fn hz(prog: &Xdp) -> Result<u32, DataplaneError> {
    static HZ: OnceLock<u32> = OnceLock::new();
    if let Some(&hz) = HZ.get() {
        return Ok(hz);
    }
    let hz = measure_hz(prog)?;
    tracing::debug!(hz, "measured the kernel's tick rate");
    Ok(*HZ.get_or_init(|| hz))
}

/// Jiffies counted between two tick edges at least 50 ms apart, over the
/// nanoseconds between them; snapped to the usual CONFIG_HZ values.
fn measure_hz(prog: &Xdp) -> Result<u32, DataplaneError> {
    let deadline = Instant::now() + Duration::from_secs(2);
    // The first sample at which jiffies pass `after`.
    let edge = |after: u64| loop {
        let (j, ns) = sample(prog)?;
        if j > after {
            return Ok((j, ns));
        }
        if Instant::now() > deadline {
            return Err(DataplaneError::Clock("jiffies did not advance in 2 s"));
        }
    };
    let (j1, t1) = edge(sample(prog)?.0)?;
    std::thread::sleep(Duration::from_millis(50));
    let (j2, t2) = edge(sample(prog)?.0)?;
    if t2 <= t1 {
        return Err(DataplaneError::Clock("CLOCK_MONOTONIC went backwards"));
    }
    let measured = (j2 - j1) as f64 * 1e9 / (t2 - t1) as f64;
    Ok(snap(measured))
}

fn snap(measured: f64) -> u32 {
    [100.0, 250.0, 300.0, 1000.0]
        .into_iter()
        .find(|c: &f64| (measured - c).abs() <= c * 0.05)
        .unwrap_or(measured.round()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snaps_to_usual_values_and_keeps_others() {
        assert_eq!(snap(248.7), 250);
        assert_eq!(snap(301.9), 300);
        assert_eq!(snap(1012.0), 1000);
        assert_eq!(snap(99.0), 100);
        assert_eq!(snap(64.2), 64);
    }

    #[test]
    fn since_converts_ticks_to_time() {
        let c = Clock { now: 1250, hz: 250 };
        assert_eq!(c.since(1000), Duration::from_secs(1));
        assert_eq!(c.since(2000), Duration::ZERO);
    }
}
