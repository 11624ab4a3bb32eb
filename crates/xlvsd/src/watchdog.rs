//! systemd's watchdog (`WatchdogSec=`): `WATCHDOG=1` goes out only while
//! the parts that forward and announce answer, so a hung daemon stops
//! the pings and systemd restarts it (the pinned data plane forwards on
//! meanwhile, and the new process takes its routes over).
//!
//! Each look, every third of the watchdog interval, asks in turn, each
//! within a bound:
//! - the event loop: this task runs on it, so a blocked loop sends
//!   nothing;
//! - the OSPF speaker (its own thread): a statistics query, answered
//!   from its loop;
//! - the data plane: its lock (held by whoever programs it), then a read
//!   of its globals map;
//! - the supervisor, which applies health results and the kernel's
//!   events: it turns at least every second (its tick), so a long silence
//!   means it is stuck.
//!
//! One failed look costs one ping; systemd acts only after a whole
//! interval without any, so a slow moment (a big reload holding the data
//! plane's lock) is not a restart, a hang is.

use crate::forwarder::Forwarder;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::{timeout, Instant, MissedTickBehavior};
use xlvs_ospf_driver::Speaker;

/// Why a look found the daemon unhealthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unhealthy {
    #[error("the OSPF speaker did not answer within {0:?}")]
    SpeakerSilent(Duration),
    #[error("the OSPF speaker has stopped")]
    SpeakerStopped,
    #[error("the data plane's lock was not free within {0:?}")]
    DataPlaneBusy(Duration),
    #[error("the data plane's maps cannot be read: {0}")]
    DataPlane(String),
    #[error("the supervisor has not turned for {0:?}")]
    SupervisorStalled(Duration),
}

/// When the supervisor last turned; it beats once a turn.
#[derive(Clone)]
pub struct Heartbeat(Arc<std::sync::Mutex<Instant>>);

impl Heartbeat {
    pub fn new() -> Heartbeat {
        Heartbeat(Arc::new(std::sync::Mutex::new(Instant::now())))
    }

    pub fn beat(&self) {
        *self.0.lock().expect("heartbeat lock") = Instant::now();
    }

    fn idle(&self) -> Duration {
        self.0.lock().expect("heartbeat lock").elapsed()
    }
}

/// What a look asks; the daemon's parts, or a test's.
pub trait Parts {
    /// Answers once the speaker has (unbounded: the look bounds it).
    fn speaker(&self) -> impl Future<Output = Result<(), Unhealthy>>;
    /// Answers once the data plane has (unbounded too).
    fn data_plane(&self) -> impl Future<Output = Result<(), Unhealthy>>;
    /// How long since the supervisor last turned.
    fn supervisor_idle(&self) -> Duration;
}

/// The daemon's parts.
pub struct Daemon {
    pub speaker: Speaker,
    pub forwarder: Arc<Mutex<Forwarder>>,
    pub heartbeat: Heartbeat,
}

impl Parts for Daemon {
    async fn speaker(&self) -> Result<(), Unhealthy> {
        self.speaker
            .stats()
            .await
            .map(drop)
            .map_err(|_| Unhealthy::SpeakerStopped)
    }

    async fn data_plane(&self) -> Result<(), Unhealthy> {
        let f = self.forwarder.lock().await;
        f.alive().map_err(|e| Unhealthy::DataPlane(e.to_string()))
    }

    fn supervisor_idle(&self) -> Duration {
        self.heartbeat.idle()
    }
}

/// The supervisor's tick is one second; past this much more than the
/// bound of a look it is not slow but stuck.
const SUPERVISOR_SLACK: Duration = Duration::from_secs(2);

/// One look at every part, each within `bound`.
pub async fn look(parts: &impl Parts, bound: Duration) -> Result<(), Unhealthy> {
    timeout(bound, parts.speaker())
        .await
        .map_err(|_| Unhealthy::SpeakerSilent(bound))??;
    timeout(bound, parts.data_plane())
        .await
        .map_err(|_| Unhealthy::DataPlaneBusy(bound))??;
    let idle = parts.supervisor_idle();
    if idle > bound + SUPERVISOR_SLACK {
        return Err(Unhealthy::SupervisorStalled(idle));
    }
    Ok(())
}

/// Looks every third of `interval` (systemd's WatchdogSec) and calls
/// `ping` after each healthy look; never returns (the daemon aborts it
/// on shutdown). Two bounded questions take at most a period, so a
/// healthy daemon pings on every tick.
pub async fn run(parts: impl Parts, interval: Duration, mut ping: impl FnMut()) {
    let period = interval / 3;
    let bound = period / 2;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(?interval, ?period, "systemd watchdog on");
    let mut was_healthy = true;
    loop {
        tick.tick().await;
        match look(&parts, bound).await {
            Ok(()) => {
                ping();
                if !was_healthy {
                    tracing::info!("watchdog: every part answers again");
                    crate::notify::status("running");
                }
                was_healthy = true;
            }
            Err(why) => {
                tracing::error!(error = %why, ?interval, "watchdog: not pinging systemd, which restarts xlvsd after a whole interval without a ping");
                crate::notify::status(&format!("unhealthy: {why}"));
                was_healthy = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// Parts a test hangs at will: a hung part never answers.
    #[derive(Default)]
    struct Fake {
        speaker_hung: AtomicBool,
        data_plane_hung: AtomicBool,
        supervisor_idle: std::sync::Mutex<Duration>,
    }

    async fn answer(hung: &AtomicBool) -> Result<(), Unhealthy> {
        if hung.load(Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    impl Parts for Arc<Fake> {
        async fn speaker(&self) -> Result<(), Unhealthy> {
            answer(&self.speaker_hung).await
        }
        async fn data_plane(&self) -> Result<(), Unhealthy> {
            answer(&self.data_plane_hung).await
        }
        fn supervisor_idle(&self) -> Duration {
            *self.supervisor_idle.lock().unwrap()
        }
    }

    const BOUND: Duration = Duration::from_secs(5);

    // Paused time: the clock moves only when every task waits, so these
    // run at once and never race a real clock.
    #[tokio::test(start_paused = true)]
    async fn a_look_names_the_part_that_hangs() {
        let parts = Arc::new(Fake::default());
        assert_eq!(look(&parts, BOUND).await, Ok(()));
        parts.data_plane_hung.store(true, Ordering::Relaxed);
        assert_eq!(
            look(&parts, BOUND).await,
            Err(Unhealthy::DataPlaneBusy(BOUND))
        );
        parts.speaker_hung.store(true, Ordering::Relaxed);
        assert_eq!(
            look(&parts, BOUND).await,
            Err(Unhealthy::SpeakerSilent(BOUND))
        );
        parts.speaker_hung.store(false, Ordering::Relaxed);
        parts.data_plane_hung.store(false, Ordering::Relaxed);
        *parts.supervisor_idle.lock().unwrap() = Duration::from_secs(60);
        assert_eq!(
            look(&parts, BOUND).await,
            Err(Unhealthy::SupervisorStalled(Duration::from_secs(60)))
        );
        // A supervisor busy for a few ticks is slow, not stuck.
        *parts.supervisor_idle.lock().unwrap() = Duration::from_secs(3);
        assert_eq!(look(&parts, BOUND).await, Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn pings_stop_while_a_part_hangs_and_resume_after() {
        let parts = Arc::new(Fake::default());
        let pings = Arc::new(AtomicU32::new(0));
        let counted = pings.clone();
        let interval = Duration::from_secs(30);
        let task = tokio::spawn(run(parts.clone(), interval, move || {
            counted.fetch_add(1, Ordering::Relaxed);
        }));
        let count = || pings.load(Ordering::Relaxed);
        // Healthy: one ping a period (10 s), the first at once.
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(count(), 3);
        // The speaker hangs: no ping for as long as it does.
        parts.speaker_hung.store(true, Ordering::Relaxed);
        tokio::time::sleep(interval * 2).await;
        assert_eq!(count(), 3);
        parts.speaker_hung.store(false, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(count() > 3, "pings resumed: {}", count());
        task.abort();
    }
}
