//! The handle on the running node that the control socket, the metrics
//! endpoint and SIGHUP share. Its methods live by what they do:
//! commands.rs answers control commands, reload.rs puts a config in
//! force.

use crate::announcer::Announcer;
use crate::forwarder::Forwarder;
use crate::listing::Samples;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex, Notify};
use xlvs_config::NodeConfig;
use xlvs_ospf_driver::Speaker;

#[derive(Clone)]
pub struct Node {
    pub name: String,
    pub router_id: Ipv4Addr,
    pub speaker: Speaker,
    pub forwarder: Arc<Mutex<Forwarder>>,
    /// What is announced, and announcements or withdrawals that failed.
    pub announcer: Arc<Mutex<Announcer>>,
    /// Wakes the supervisor to re-check announcements now.
    pub changed: Arc<Notify>,
    /// Counter samples for rates, taken by the supervisor every second.
    pub samples: Arc<Mutex<Samples>>,
    /// The config file, and the config in force.
    pub config_path: PathBuf,
    pub config: Arc<Mutex<NodeConfig>>,
    /// Hands a reloaded config to the supervisor (health checks).
    pub reloads: mpsc::UnboundedSender<NodeConfig>,
    /// Shutting down: routes withdrawn, the data plane still forwarding.
    pub stopping: Arc<AtomicBool>,
    /// A graceful restart is prepared: once the answer saying so is
    /// written, the daemon exits (`restart_now`).
    pub restart_prepared: Arc<AtomicBool>,
    pub restart_now: Arc<Notify>,
    /// Flow-state sync with the other directors, with `[cluster]`.
    pub sync: Option<crate::sync::SyncHandle>,
    /// How the last reload went (metrics).
    pub reload_status: Arc<std::sync::Mutex<ReloadStatus>>,
}

/// The outcome of the last `xlvsadm reload` or SIGHUP; the start counts
/// as the first success.
#[derive(Debug, Clone, Copy)]
pub struct ReloadStatus {
    pub last_ok: bool,
    pub last_success: std::time::SystemTime,
}

impl Default for ReloadStatus {
    fn default() -> ReloadStatus {
        ReloadStatus {
            last_ok: true,
            last_success: std::time::SystemTime::now(),
        }
    }
}
