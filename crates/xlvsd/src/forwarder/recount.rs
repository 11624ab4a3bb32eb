//! The reals' connection counts for the connection-count and locality
//! schedulers (lc, wlc, sed, nq, ovf, twos, lblc, lblcr): XDP moves them
//! as it makes and closes entries but never sees one expire, so they are
//! recounted from the connection table on the forwarder's tick
//! (`Dataplane::recount`, docs/dataplane.md "Schedulers").

use super::Forwarder;
use std::time::{Duration, Instant};

/// How often the counts are recounted. A batch read of a full table of a
/// million entries takes about a tenth of a second on a test VM
/// (docs/benchmarks.md), under the forwarder's lock: every second keeps
/// the counts of expired entries at most a second stale at a tenth of
/// one core.
pub const RECOUNT_EVERY: Duration = Duration::from_secs(1);

/// Whether a recount is due at `now`, the last one having been at `last`.
pub fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|l| now.duration_since(l) >= RECOUNT_EVERY)
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
        self.recounted = Some(now);
        match self.dp.recount() {
            Ok(r) => tracing::debug!(
                read = r.read,
                counted = r.counted,
                reals = r.reals,
                took_ms = r.took.as_millis() as u64,
                "connection counts recounted"
            ),
            Err(e) => tracing::warn!(error = %e, "recounting connections for the schedulers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recount_is_due_first_and_then_every_interval() {
        let t = Instant::now();
        assert!(due(None, t));
        assert!(!due(Some(t), t + RECOUNT_EVERY / 2));
        assert!(due(Some(t), t + RECOUNT_EVERY));
    }
}
