//! Graceful restart across two processes (docs/ospf.md, "Graceful
//! restart"). `xlvsadm restart --graceful` has this xlvsd send grace-LSAs;
//! once every adjacency acknowledged them, it leaves a record next to its
//! control socket and exits with [`EXIT_CODE`] without withdrawing
//! anything, the pinned data plane forwarding on. The next xlvsd of the
//! node (systemd restarts on that code) finds the record and resumes the
//! restart: it originates nothing until its adjacencies and announcements
//! are back.
//!
//! A record is used once, and only within its grace period: past it the
//! routers have stopped keeping our routes, and a plain start fits.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use xlvs_config::NodeConfig;
use xlvs_ospf_driver::{GracePrepared, GracefulResume, Speaker};

/// The exit status of a process that restarts gracefully (EX_TEMPFAIL);
/// configs/xlvsd@.service restarts on it.
pub const EXIT_CODE: u8 = 75;
/// How long the routers get to acknowledge the grace-LSAs.
const ACK_LIMIT: Duration = Duration::from_secs(5);
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(60);
/// Long enough for a restart; RFC 3623 suggests at most 1800 s, FRR's
/// default helper limit.
const GRACE_PERIODS: std::ops::RangeInclusive<u64> = 5..=1800;

#[derive(Debug, thiserror::Error)]
pub enum GracefulError {
    #[error("grace period {0} s: must be 5 to 1800 s")]
    Period(u64),
    #[error("no OSPF adjacency is Full: there are no routes to keep (restart plainly)")]
    NoAdjacency,
    #[error(
        "not every router acknowledged the grace-LSA within {limit:?}, so not every router helps: \
         {routers} (FRR: `graceful-restart helper enable` and `capability opaque` under router ospf); \
         the grace-LSAs are flushed, nothing changed"
    )]
    NotHelped { routers: String, limit: Duration },
    #[error("the OSPF speaker has stopped")]
    Stopped,
    #[error("{path}: {source}; the grace-LSAs are flushed, nothing changed")]
    Record {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What one process leaves the next.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    router_id: Ipv4Addr,
    /// The end of the grace period, in milliseconds since the Unix epoch.
    until_ms: u64,
    grace_seq: i32,
}

/// The record's place: beside the control socket, in /run (so a reboot,
/// which must not look like a graceful restart, forgets it).
pub fn record_path(config: &NodeConfig) -> PathBuf {
    let name = format!("{}.graceful-restart.json", config.node.name);
    config.node.control_socket.with_file_name(name)
}

/// Reads a grace period given in seconds.
pub fn grace_period(seconds: u64) -> Result<Duration, GracefulError> {
    if GRACE_PERIODS.contains(&seconds) {
        Ok(Duration::from_secs(seconds))
    } else {
        Err(GracefulError::Period(seconds))
    }
}

/// Sends the grace-LSAs and leaves the record; on any failure the grace-
/// LSAs are flushed again and nothing else changed.
pub async fn prepare(
    speaker: &Speaker,
    config: &NodeConfig,
    period: Duration,
) -> Result<GracePrepared, GracefulError> {
    let stopped = |_| GracefulError::Stopped;
    let prepared = speaker
        .prepare_graceful_restart(period, ACK_LIMIT)
        .await
        .map_err(stopped)?;
    let refused = if prepared.adjacencies == 0 {
        Some(GracefulError::NoAdjacency)
    } else if !prepared.unacknowledged.is_empty() {
        let routers: Vec<String> = prepared
            .unacknowledged
            .iter()
            .map(|(iface, rid)| format!("{rid} on {iface}"))
            .collect();
        Some(GracefulError::NotHelped {
            routers: routers.join(", "),
            limit: ACK_LIMIT,
        })
    } else {
        let path = record_path(config);
        let record = Record {
            router_id: config.node.router_id,
            until_ms: unix_ms(SystemTime::now() + period),
            grace_seq: prepared.grace_seq,
        };
        write(&path, &record)
            .err()
            .map(|source| GracefulError::Record { path, source })
    };
    if let Some(e) = refused {
        speaker.abort_graceful_restart().await.map_err(stopped)?;
        return Err(e);
    }
    Ok(prepared)
}

fn write(path: &Path, record: &Record) -> std::io::Result<()> {
    let text = serde_json::to_string(record).expect("a record serializes");
    // Written whole or not at all: a torn record must not resume anything.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The restart this start resumes, if the previous process prepared one
/// that is still within its grace period. The record is removed either way.
pub fn take(config: &NodeConfig) -> Option<GracefulResume> {
    let path = record_path(config);
    let text = std::fs::read_to_string(&path).ok()?;
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the graceful-restart record");
    }
    let record: Record = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable graceful-restart record: starting plainly");
            return None;
        }
    };
    let now = unix_ms(SystemTime::now());
    if record.router_id != config.node.router_id {
        tracing::warn!(record = %record.router_id, ours = %config.node.router_id, "graceful-restart record of another router id: starting plainly");
        return None;
    }
    if record.until_ms <= now {
        tracing::warn!(
            over_for_s = (now - record.until_ms) / 1000,
            "the graceful restart's grace period is over (the routers dropped our routes): starting plainly"
        );
        return None;
    }
    tracing::info!(
        remaining_s = (record.until_ms - now) / 1000,
        "resuming a graceful restart: our routes stand while the adjacencies come back"
    );
    Some(GracefulResume {
        until: SystemTime::UNIX_EPOCH + Duration::from_millis(record.until_ms),
        grace_seq: record.grace_seq,
    })
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> NodeConfig {
        let text = xlvs_config::EXAMPLE_NODE.replace(
            "[node]\n",
            &format!(
                "[node]\ncontrol_socket = \"{}\"\n",
                dir.join("lb.sock").display()
            ),
        );
        xlvs_config::parse(&text, "test").expect("valid")
    }

    #[test]
    fn a_record_resumes_once_within_its_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let path = record_path(&c);
        assert_eq!(path.parent(), Some(dir.path()));
        let until = SystemTime::now() + Duration::from_secs(30);
        let record = Record {
            router_id: c.node.router_id,
            until_ms: unix_ms(until),
            grace_seq: 7,
        };
        write(&path, &record).unwrap();
        let resume = take(&c).expect("resumed");
        assert_eq!(resume.grace_seq, 7);
        assert_eq!(unix_ms(resume.until), record.until_ms);
        assert!(!path.exists(), "used once");
        assert_eq!(take(&c), None);
    }

    #[test]
    fn expired_foreign_and_torn_records_start_plainly_and_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let path = record_path(&c);
        let past = Record {
            router_id: c.node.router_id,
            until_ms: unix_ms(SystemTime::now()) - 1,
            grace_seq: 1,
        };
        let foreign = Record {
            router_id: Ipv4Addr::new(10, 9, 9, 9),
            until_ms: unix_ms(SystemTime::now()) + 60_000,
            grace_seq: 1,
        };
        for r in [past, foreign] {
            write(&path, &r).unwrap();
            assert_eq!(take(&c), None);
            assert!(!path.exists());
        }
        std::fs::write(&path, "{\"router_id\":").unwrap();
        assert_eq!(take(&c), None);
        assert!(!path.exists());
    }

    #[test]
    fn grace_periods_are_bounded() {
        assert!(grace_period(4).is_err());
        assert!(grace_period(1801).is_err());
        assert_eq!(grace_period(60).unwrap(), Duration::from_secs(60));
    }
}
