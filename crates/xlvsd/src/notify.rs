//! systemd's service protocol (sd_notify(3), through the sd-notify
//! crate): `READY=1` once XDP is attached and the speaker runs,
//! `RELOADING=1` with `MONOTONIC_USEC` when a reload starts and `READY=1`
//! when it is over (put in force or refused), `WATCHDOG=1` from the
//! watchdog (watchdog.rs), `STOPPING=1` on shutdown, and a `STATUS=` line
//! for `systemctl status`. Without $NOTIFY_SOCKET (not under systemd)
//! nothing is sent.

use sd_notify::NotifyState;
use std::time::Duration;

/// Sends `states` in one datagram; a failure is logged, never fatal (the
/// director forwards whether systemd hears it or not).
fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// Started, or a reload is over: systemd counts the service (again) as
/// running.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload starts. MONOTONIC_USEC tells systemd when, so that (from
/// systemd 253, `Type=notify-reload`) it matches this message to the
/// reload it asked for; systemd 252 ignores the field.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(e) => {
            tracing::warn!(error = %e, "reading CLOCK_MONOTONIC for sd_notify");
            send(&[NotifyState::Reloading]);
        }
    }
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// All is well (the watchdog decided so).
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

/// systemd's `WatchdogSec=` for this process, if any: WATCHDOG=1 must
/// come more often than that.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}
