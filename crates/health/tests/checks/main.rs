//! Checks and the scheduler against real servers on 127.0.0.1: tokio
//! listeners, a small HTTP(S) server, a UDP DNS responder, real nginx and
//! real processes. One test binary (modules below) to keep link time down.

mod dns;
mod http;
mod https;
mod nginx;
mod scheduler;
mod script;
mod servers;
mod tcp;

use std::time::{Duration, Instant};

use xlvs_health::{CheckError, CheckSpec, Probe};

/// Runs `spec` once with `timeout`, asserting it took no longer than the
/// timeout plus some slack.
pub async fn run(spec: &CheckSpec, timeout: Duration) -> Result<(), CheckError> {
    let probe = Probe::new(spec).unwrap();
    let start = Instant::now();
    let result = probe.run(timeout).await;
    let took = start.elapsed();
    assert!(
        took < timeout + Duration::from_millis(500),
        "{spec} took {took:?} with a {timeout:?} timeout"
    );
    result
}

/// A timeout long enough for any local server that answers at all.
pub const GENEROUS: Duration = Duration::from_secs(3);
/// A timeout for tests that expect it to expire.
pub const SHORT: Duration = Duration::from_millis(300);
