//! A session's configuration: one interval, used both as our desired
//! minimum TX and our required minimum RX (as FRR's profiles default to),
//! and the detect multiplier. Valid by construction.

use std::time::Duration;

/// The fastest interval accepted: FRR's minimum.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The slowest interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("BFD interval {0:?} is outside 10ms..=10s")]
    Interval(Duration),
    #[error("BFD multiplier 0: it must be 1 to 255")]
    Multiplier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    interval: Duration,
    multiplier: u8,
}

impl SessionConfig {
    /// Intervals are kept to whole microseconds, the wire's unit.
    pub fn new(interval: Duration, multiplier: u8) -> Result<SessionConfig, ConfigError> {
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
            return Err(ConfigError::Interval(interval));
        }
        if multiplier == 0 {
            return Err(ConfigError::Multiplier);
        }
        let interval = Duration::from_micros(interval.as_micros() as u64);
        Ok(SessionConfig {
            interval,
            multiplier,
        })
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub fn multiplier(&self) -> u8 {
        self.multiplier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_typed() {
        let ms = Duration::from_millis;
        assert!(SessionConfig::new(ms(10), 1).is_ok());
        assert!(SessionConfig::new(ms(10_000), 255).is_ok());
        assert_eq!(
            SessionConfig::new(ms(9), 3),
            Err(ConfigError::Interval(ms(9)))
        );
        assert_eq!(
            SessionConfig::new(ms(10_001), 3),
            Err(ConfigError::Interval(ms(10_001)))
        );
        assert_eq!(SessionConfig::new(ms(100), 0), Err(ConfigError::Multiplier));
    }

    #[test]
    fn sub_microsecond_parts_are_dropped() {
        let c = SessionConfig::new(Duration::from_nanos(100_000_999), 3).unwrap();
        assert_eq!(c.interval(), Duration::from_micros(100_000));
    }
}
