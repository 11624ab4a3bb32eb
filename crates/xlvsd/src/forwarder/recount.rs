//! The reals' connection counts for the connection-count and locality
//! schedulers (lc, wlc, sed, nq, ovf, twos, lblc, lblcr): XDP moves them
//! as it makes and closes entries but never sees one expire, so they are
//! recounted from the connection table on the forwarder's tick
//! (`Dataplane::recount`, docs/dataplane.md "Schedulers").

use super::Forwarder;
use std::time::{Duration, Instant};

/// How often the counts are recounted, at most. A recount reads the
/// whole connection table in batches: 7 ms for 65,536 entries, a third
/// of a second for a full table of a million on a 2-core test VM
/// (docs/benchmarks.md), under the forwarder's lock. So the interval is
/// a second or ten times the last recount's time, whichever is longer:
/// a recount never takes more than a tenth of the forwarder's time, and
/// counts of expired entries are at most a few seconds stale.
pub const RECOUNT_EVERY: Duration = Duration::from_secs(1);

/// Whether a recount is due at `now`, the last one having been at `last`
/// and taken `took`.
pub fn due(last: Option<(Instant, Duration)>, now: Instant) -> bool {
    last.is_none_or(|(at, took)| now.duration_since(at) >= RECOUNT_EVERY.max(took * 10))
}

impl Forwarder {
    /// Recounts when due and some service uses counts (the data plane
    /// reads nothing otherwise). A failure is logged: the counts stay as
    /// XDP moved them until the next try.
    pub(super) fn recount_when_due(&mut self, now: Instant) {
        if !self.entries.iter().any(|e| e.spec.scheduler.uses_counts()) || !due(self.recounted, now)
        {
            return;
        }
        let took = match self.dp.recount() {
            Ok(r) => {
                tracing::debug!(
                    read = r.read,
                    counted = r.counted,
                    reals = r.reals,
                    took_ms = r.took.as_millis() as u64,
                    "connection counts recounted"
                );
                r.took
            }
            Err(e) => {
                tracing::warn!(error = %e, "recounting connections for the schedulers");
                Duration::ZERO
            }
        };
        self.recounted = Some((now, took));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recount_is_due_first_then_every_second_or_ten_times_its_time() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        assert!(due(None, t));
        assert!(!due(Some((t, ms(7))), t + ms(500)));
        assert!(due(Some((t, ms(7))), t + RECOUNT_EVERY));
        // a full table's third of a second: every 3.3 s
        assert!(!due(Some((t, ms(330))), t + ms(3000)));
        assert!(due(Some((t, ms(330))), t + ms(3300)));
    }
}
