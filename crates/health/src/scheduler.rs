//! Runs the checks of many targets: one task per target, each on its own
//! interval (with jitter, so checks spread out instead of firing in step),
//! at most `max_parallel` checks at a time, and an event on every up/down
//! transition.
//!
//! Since every check is bounded by its timeout, a hung real holds one
//! permit for at most that long and never delays the other targets' tasks.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use crate::check::{CheckSpec, Probe};
use crate::error::{CheckError, SetupError};
use crate::rng::SplitMix64;
use crate::state::{RealHealth, Transition};

/// Identifies a checked real: a service's real is unique by address and
/// port (see the config's `[[service.real]]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId {
    pub service: String,
    pub address: IpAddr,
    /// `None`: the real has no port of its own.
    pub port: Option<u16>,
}

/// `service/address[:port]`, e.g. `web/10.0.1.11:80`.
impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", self.service)?;
        match (self.address, self.port) {
            (IpAddr::V6(a), Some(p)) => write!(f, "[{a}]:{p}"),
            (a, Some(p)) => write!(f, "{a}:{p}"),
            (a, None) => write!(f, "{a}"),
        }
    }
}

/// How one target is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub check: CheckSpec,
    /// Longest time between two checks (keepalived `delay_loop`); the
    /// jitter only ever shortens it.
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    /// Start down until the first check passes (keepalived `alpha`).
    pub alpha: bool,
}

impl TargetSpec {
    /// With the config file's defaults: every 2 s, 1 s timeout, rise 2,
    /// fall 3, no alpha.
    pub fn new(check: CheckSpec) -> Self {
        Self {
            check,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            alpha: false,
        }
    }

    fn validate(&self) -> Result<(), SetupError> {
        for (is_zero, what) in [
            (self.interval.is_zero(), "interval"),
            (self.timeout.is_zero(), "timeout"),
            (self.rise == 0, "rise"),
            (self.fall == 0, "fall"),
        ] {
            if is_zero {
                return Err(SetupError::Zero { what });
            }
        }
        Ok(())
    }
}

/// A real went up or down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub target: TargetId,
    pub transition: Transition,
    pub at: Instant,
    /// For the log: the check and, for a down, why it failed.
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct CheckerOptions {
    /// Checks running at the same time, across all targets; at least 1.
    pub max_parallel: usize,
    /// Seeds the jitter; `None` seeds from the OS. Set in tests.
    pub seed: Option<u64>,
}

impl Default for CheckerOptions {
    fn default() -> Self {
        Self {
            max_parallel: 32,
            seed: None,
        }
    }
}

/// What [`Checker::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Added,
    /// The spec changed: the check restarted, the real kept its state.
    Replaced,
    /// Same spec: nothing was touched.
    Unchanged,
}

/// Health checks for a changing set of targets. Must be used inside a tokio
/// runtime (it spawns a task per target); dropping it stops every check.
pub struct Checker {
    targets: HashMap<TargetId, Running>,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<HealthEvent>,
    rng: SplitMix64,
}

/// A target's state, shared by its task and the [`Checker`]. `epoch` grows
/// whenever the target is replaced or removed: a task whose epoch is stale
/// must not record or report anything, even if its abort has not landed
/// yet (it may be running on another thread right now).
struct Shared {
    health: RealHealth,
    epoch: u64,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Nothing under this lock can panic halfway through an update.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

struct Running {
    spec: TargetSpec,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        lock(&self.shared).epoch += 1;
        self.task.abort();
    }
}

impl Checker {
    /// The receiver gets every transition. It is unbounded so that a
    /// transition is never lost or held up by a slow consumer; there is at
    /// most one per check, so its size stays small.
    pub fn new(options: CheckerOptions) -> (Self, mpsc::UnboundedReceiver<HealthEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let checker = Self {
            targets: HashMap::new(),
            permits: Arc::new(Semaphore::new(options.max_parallel.max(1))),
            events,
            rng: match options.seed {
                Some(seed) => SplitMix64::new(seed),
                None => SplitMix64::from_entropy(),
            },
        };
        (checker, rx)
    }

    /// Adds a target, or replaces its spec. A replaced target keeps its
    /// up/down state with fresh counters, so a reload that only tweaks a
    /// check does not flap the real. On error nothing changes.
    pub fn upsert(&mut self, id: TargetId, spec: TargetSpec) -> Result<Upsert, SetupError> {
        if self.targets.get(&id).is_some_and(|r| r.spec == spec) {
            return Ok(Upsert::Unchanged);
        }
        spec.validate()?;
        let probe = Probe::new(&spec.check)?;
        let rng = SplitMix64::new(self.rng.next_u64());
        if let Some(mut running) = self.targets.remove(&id) {
            let epoch = {
                let mut shared = lock(&running.shared);
                shared.epoch += 1;
                shared.health = RealHealth::resume(spec.rise, spec.fall, shared.health.is_up());
                shared.epoch
            };
            running.task.abort();
            running.task = self.spawn_task(&id, probe, &spec, running.shared.clone(), epoch, rng);
            tracing::debug!(real = %id, check = %spec.check, "health check replaced");
            running.spec = spec;
            self.targets.insert(id, running);
            return Ok(Upsert::Replaced);
        }
        let shared = Arc::new(Mutex::new(Shared {
            health: RealHealth::new(spec.rise, spec.fall, spec.alpha),
            epoch: 0,
        }));
        let task = self.spawn_task(&id, probe, &spec, shared.clone(), 0, rng);
        tracing::debug!(real = %id, check = %spec.check, "health check added");
        self.targets.insert(id, Running { spec, shared, task });
        Ok(Upsert::Added)
    }

    /// Stops checking a target; no event follows. False if it was unknown.
    pub fn remove(&mut self, id: &TargetId) -> bool {
        self.targets.remove(id).is_some()
    }

    /// Makes the target set exactly `targets` (a config reload): upserts
    /// each, removes the rest. Returns the targets that could not be set
    /// up; those keep their previous check, if they had one.
    pub fn sync(
        &mut self,
        targets: impl IntoIterator<Item = (TargetId, TargetSpec)>,
    ) -> Vec<(TargetId, SetupError)> {
        let mut wanted = HashSet::new();
        let mut errors = Vec::new();
        for (id, spec) in targets {
            wanted.insert(id.clone());
            if let Err(e) = self.upsert(id.clone(), spec) {
                errors.push((id, e));
            }
        }
        self.targets.retain(|id, _| wanted.contains(id));
        errors
    }

    /// Whether a target is currently up; `None` if unknown.
    pub fn is_up(&self, id: &TargetId) -> Option<bool> {
        self.targets.get(id).map(|r| lock(&r.shared).health.is_up())
    }

    pub fn targets(&self) -> impl Iterator<Item = (&TargetId, &TargetSpec)> {
        self.targets.iter().map(|(id, r)| (id, &r.spec))
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    fn spawn_task(
        &self,
        id: &TargetId,
        probe: Probe,
        spec: &TargetSpec,
        shared: Arc<Mutex<Shared>>,
        epoch: u64,
        rng: SplitMix64,
    ) -> JoinHandle<()> {
        let task = Task {
            id: id.clone(),
            probe,
            check: spec.check.to_string(),
            interval: spec.interval,
            timeout: spec.timeout,
            shared,
            epoch,
            permits: self.permits.clone(),
            events: self.events.clone(),
            rng,
        };
        tokio::spawn(task.run())
    }
}

/// The loop checking one target.
struct Task {
    id: TargetId,
    probe: Probe,
    /// The check as text, for logs and events.
    check: String,
    interval: Duration,
    timeout: Duration,
    shared: Arc<Mutex<Shared>>,
    epoch: u64,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<HealthEvent>,
    rng: SplitMix64,
}

impl Task {
    async fn run(mut self) {
        let mut next = Instant::now() + jitter(self.interval, &mut self.rng);
        loop {
            tokio::time::sleep_until(next.into()).await;
            let result = {
                let Ok(_permit) = self.permits.acquire().await else {
                    return; // never closed; stopping would be the answer
                };
                self.probe.run(self.timeout).await
            };
            if !self.record(result) || self.probe.is_none() {
                // Replaced or removed; or a check that never changes.
                return;
            }
            next += self.interval - jitter(self.interval, &mut self.rng);
            // Behind schedule (a long wait for a permit): no catch-up burst.
            next = next.max(Instant::now());
        }
    }

    /// Feeds the result to the state machine and reports a transition.
    /// Returns false if this task is stale and must stop.
    fn record(&self, result: Result<(), CheckError>) -> bool {
        let mut shared = lock(&self.shared);
        if shared.epoch != self.epoch {
            return false;
        }
        if let Err(e) = &result {
            tracing::debug!(real = %self.id, check = %self.check, error = %e, "health check failed");
        }
        let Some(transition) = shared.health.record(result) else {
            return true;
        };
        let detail = match &transition {
            Transition::Up => {
                tracing::info!(real = %self.id, check = %self.check, "real is up");
                format!("{}: passed", self.check)
            }
            Transition::Down { reason } => {
                tracing::warn!(real = %self.id, check = %self.check, %reason, "real is down");
                format!("{}: {reason}", self.check)
            }
        };
        // Sent under the lock, so events leave in the order of the state
        // changes. A closed receiver only means nobody listens any more.
        let _ = self.events.send(HealthEvent {
            target: self.id.clone(),
            transition,
            at: Instant::now(),
            detail,
        });
        true
    }
}

/// Random in `0..=interval/10`.
fn jitter(interval: Duration, rng: &mut SplitMix64) -> Duration {
    let max = u64::try_from(interval.as_nanos() / 10).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.up_to(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_bounded_and_seeded() {
        let interval = Duration::from_secs(2);
        let mut a = SplitMix64::new(9);
        let mut b = SplitMix64::new(9);
        let mut spread = (Duration::MAX, Duration::ZERO);
        for _ in 0..1000 {
            let j = jitter(interval, &mut a);
            assert_eq!(j, jitter(interval, &mut b));
            assert!(j <= interval / 10);
            spread = (spread.0.min(j), spread.1.max(j));
        }
        // It does spread over the range.
        assert!(spread.0 < Duration::from_millis(20), "{spread:?}");
        assert!(spread.1 > Duration::from_millis(180), "{spread:?}");
        assert_eq!(jitter(Duration::ZERO, &mut a), Duration::ZERO);
        assert!(jitter(Duration::MAX, &mut a) <= Duration::MAX / 10);
    }

    #[test]
    fn target_ids_display_like_ipvsadm_addresses() {
        let mut id = TargetId {
            service: "web".to_string(),
            address: "10.0.1.11".parse().unwrap(),
            port: Some(80),
        };
        assert_eq!(id.to_string(), "web/10.0.1.11:80");
        id.port = None;
        assert_eq!(id.to_string(), "web/10.0.1.11");
        id.address = "2001:db8::1".parse().unwrap();
        id.port = Some(443);
        assert_eq!(id.to_string(), "web/[2001:db8::1]:443");
    }

    #[test]
    fn target_specs_with_zero_values_are_refused() {
        let ok = TargetSpec::new(CheckSpec::None);
        assert!(ok.validate().is_ok());
        for (spec, what) in [
            (
                TargetSpec {
                    interval: Duration::ZERO,
                    ..ok.clone()
                },
                "interval",
            ),
            (
                TargetSpec {
                    timeout: Duration::ZERO,
                    ..ok.clone()
                },
                "timeout",
            ),
            (
                TargetSpec {
                    rise: 0,
                    ..ok.clone()
                },
                "rise",
            ),
            (
                TargetSpec {
                    fall: 0,
                    ..ok.clone()
                },
                "fall",
            ),
        ] {
            match spec.validate() {
                Err(SetupError::Zero { what: got }) => assert_eq!(got, what),
                other => panic!("{what}: {other:?}"),
            }
        }
    }
}
