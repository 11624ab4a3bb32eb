//! Running the director: start the OSPF speaker, announce, serve the
//! control socket, reload the config on SIGHUP, and on SIGTERM withdraw
//! everything before exiting (with `--cleanup`, after a grace period in
//! which the data plane forwards on). A graceful restart (graceful.rs)
//! exits without withdrawing anything.

use crate::control::{ControlError, ControlSocket};
use crate::forwarder::{Forwarder, ForwarderError, RealId};
use crate::host::{Host, HostError, HostView};
use crate::node::Node;
use crate::ospf::{addresses, speaker_config, ANNOUNCE_METRIC};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::sync::{watch, Mutex};
use xlvs_config::NodeConfig;
use xlvs_health::{config_targets, Checker, CheckerOptions, HealthEvent, Transition};
use xlvs_ospf_driver::{DriverError, Speaker};

/// How long shutdown waits for routers to acknowledge the flushed LSAs.
const FLUSH_LIMIT: Duration = Duration::from_secs(3);
/// How often slow start weights move on, announcements are re-checked
/// (a failed one tried again) and the listing's rates sampled: what no
/// event reports. The kernel's neighbours, interfaces and routes come as
/// events (host/).
const REFRESH: Duration = Duration::from_secs(1);
/// How long a starting daemon waits for its `[cluster]` interface's
/// address (the network may be set up after it starts).
const SYNC_ADDRESS_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("OSPF: {0}")]
    Ospf(#[from] DriverError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("data plane: {0}")]
    Forwarder(#[from] ForwarderError),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
}

/// How the daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Stopped by a signal: routes withdrawn.
    Stopped,
    /// Exited for a graceful restart: routes kept by the routers.
    GracefulRestart,
}

pub async fn run(
    config: NodeConfig,
    config_path: std::path::PathBuf,
    cleanup: bool,
) -> Result<Exit, DaemonError> {
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let control = ControlSocket::bind(&config.node.control_socket).await?;
    // Bound before anything is announced: a bad address fails the start.
    let metrics = match config.metrics.listen {
        Some(addr) => Some(crate::metrics::Endpoint::bind(addr).await?),
        None => None,
    };
    // VIPs are announced only once the data plane forwards them.
    let vips: Vec<Ipv4Addr> = config.services.iter().map(|s| s.vip).collect();
    // The data plane is programmed from the kernel's first dump (DR MACs).
    let host = Host::follow().await?;
    let host_events = host.view.clone();
    let mut forwarder = Forwarder::load(&config, host)?;
    forwarder.attach(&config)?;
    let forwarder = Arc::new(Mutex::new(forwarder));
    let mut ospf = speaker_config(&config);
    ospf.graceful = crate::graceful::take(&config);
    let speaker = Speaker::start(ospf)?;
    // FULLNAT local addresses are announced as long as we run; a VIP only
    // while the data plane can forward it.
    for addr in addresses(&config).into_iter().filter(|a| !vips.contains(a)) {
        speaker.announce(addr, ANNOUNCE_METRIC).await?;
    }
    let changed = Arc::new(tokio::sync::Notify::new());
    let sync = match &config.cluster {
        Some(cluster) => {
            let addr = sync_address(host_events.clone(), &cluster.interface).await?;
            let s = crate::sync::start(
                &config,
                cluster,
                addr,
                forwarder.clone(),
                speaker.clone(),
                host_events.clone(),
                changed.clone(),
            )?;
            Some(s)
        }
        None => None,
    };
    let checks = start_checks(&config);
    let (reloads, reload_rx) = mpsc::unbounded_channel();
    let node = Node {
        name: config.node.name.clone(),
        router_id: config.node.router_id,
        speaker: speaker.clone(),
        forwarder: forwarder.clone(),
        announcer: Arc::default(),
        changed,
        samples: Arc::default(),
        config_path,
        // The config in force: a reload may change shutdown_grace.
        config: Arc::new(Mutex::new(config.clone())),
        reloads,
        stopping: Arc::default(),
        restart_prepared: Arc::default(),
        restart_now: Arc::default(),
        sync,
        reload_status: Arc::default(),
    };
    let heartbeat = crate::watchdog::Heartbeat::new();
    let supervisor = tokio::spawn(supervise(
        node.clone(),
        checks,
        reload_rx,
        host_events,
        heartbeat.clone(),
    ));
    tracing::info!(
        node = %config.node.name,
        router_id = %config.node.router_id,
        socket = %control.path.display(),
        "xlvsd running"
    );
    let metrics = metrics.map(|m| {
        tracing::info!(listen = %m.addr, "metrics endpoint: GET /metrics");
        tokio::spawn(m.serve(node.clone()))
    });
    let server = tokio::spawn(control.serve(node.clone()));
    crate::notify::ready("running");
    // Pings only while the parts answer (watchdog.rs).
    let watchdog = crate::notify::watchdog_interval().map(|interval| {
        let parts = crate::watchdog::Daemon {
            speaker: speaker.clone(),
            forwarder: forwarder.clone(),
            heartbeat,
        };
        tokio::spawn(crate::watchdog::run(
            parts,
            interval,
            crate::notify::watchdog,
        ))
    });
    let signal = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = node.restart_now.notified() => break "graceful restart",
            // Like `xlvsadm reload`; the answer can only go to the log.
            _ = hup.recv() => {
                if let Err(e) = node.reload().await {
                    tracing::error!(error = %e, "SIGHUP: reload refused");
                }
            }
        }
    };
    crate::notify::stopping();
    // Stopping is systemd's to time now (TimeoutStopSec), not the
    // watchdog's: the speaker is about to go.
    if let Some(w) = watchdog {
        w.abort();
    }
    // From now on the supervisor keeps the data plane in line with the
    // health checks, but announces nothing.
    node.stopping.store(true, Ordering::Relaxed);
    if node.restart_prepared.load(Ordering::Relaxed) {
        supervisor.abort();
        server.abort();
        let _ = server.await;
        if let Some(m) = metrics {
            m.abort();
        }
        if cleanup {
            tracing::warn!("--cleanup ignored: a graceful restart keeps the data plane");
        }
        forwarder.lock().await.leave_attached();
        // BFD AdminDown: the routers keep the adjacencies through the
        // restart (RFC 5882 section 3.2), as the grace-LSAs asked.
        if let Err(e) = speaker.stop_bfd().await {
            tracing::warn!(error = %e, "BFD sessions not put AdminDown");
        }
        tracing::info!(
            exit_code = crate::graceful::EXIT_CODE,
            "xlvsd exits for a graceful restart: routes kept by the routers, XDP forwarding on"
        );
        return Ok(Exit::GracefulRestart);
    }
    let (grace, own_local) = {
        let c = node.config.lock().await;
        let own_local = c.fullnat.as_ref().map(|f| f.local_addresses.clone());
        (c.node.shutdown_grace, own_local.unwrap_or_default())
    };
    // With sync the peers hold our translations: our local addresses stay
    // ours until the grace period ends, answers still come here while the
    // routers move the clients' flows away.
    let keep_local = node.sync.is_some() && !own_local.is_empty();
    let leave = crate::leave::plan(grace, cleanup, keep_local);
    if let Some(s) = &node.sync {
        // The peers hear that we leave; their local addresses go now.
        s.leaving().await;
    }
    if let Some(wait) = leave.vips_first {
        tracing::info!(signal, "withdrawing the VIPs first");
        node.announcer
            .lock()
            .await
            .withdraw_all(&format!("{signal}: leaving"), &speaker)
            .await;
        keep_forwarding(wait, &own_local, &mut term, &mut int).await;
    }
    tracing::info!(signal, "withdrawing every route");
    speaker.shutdown(FLUSH_LIMIT).await?;
    if let Some(wait) = leave.after_flush {
        keep_forwarding(wait, &[], &mut term, &mut int).await;
    }
    supervisor.abort();
    if cleanup {
        if let Err(e) = forwarder.lock().await.cleanup() {
            tracing::error!(error = %e, "removing the pins failed");
        } else {
            tracing::info!("pins removed: XDP detaches as we exit");
        }
    } else {
        forwarder.lock().await.leave_attached();
        tracing::info!(pins = %config.dataplane.pin_dir.display(), "XDP stays attached with its pinned maps (restart keeps connections; --cleanup removes them)");
    }
    // Dropping the server removes the socket file.
    server.abort();
    let _ = server.await;
    if let Some(m) = metrics {
        m.abort();
    }
    tracing::info!("xlvsd stopped");
    Ok(Exit::Stopped)
}

/// Forwards on for `wait` (leave.rs), the addresses in `kept` still
/// announced. A second SIGTERM, or a SIGINT, ends the wait.
async fn keep_forwarding(wait: Duration, kept: &[Ipv4Addr], term: &mut Signal, int: &mut Signal) {
    if kept.is_empty() {
        tracing::info!(?wait, "routes withdrawn; the data plane forwards on for the grace period (SIGTERM or SIGINT again: stop now)");
    } else {
        tracing::info!(?wait, local_addresses = ?kept, "VIPs withdrawn; the local addresses stay announced for the grace period (SIGTERM or SIGINT again: stop now)");
    }
    tokio::select! {
        _ = tokio::time::sleep(wait) => tracing::info!(?wait, "grace period over"),
        _ = term.recv() => tracing::warn!(signal = "SIGTERM", "grace period cut short"),
        _ = int.recv() => tracing::warn!(signal = "SIGINT", "grace period cut short"),
    }
}

/// The `[cluster]` interface's address. At boot it may come after us:
/// waited for (the kernel's events say when), within [`SYNC_ADDRESS_WAIT`].
async fn sync_address(
    mut host: watch::Receiver<Option<HostView>>,
    interface: &str,
) -> Result<Ipv4Addr, crate::sync::SyncError> {
    let address = |host: &watch::Receiver<Option<HostView>>| {
        let view = host.borrow();
        let v = view.as_ref()?;
        let (index, _) = v.links().by_name(interface)?;
        v.links().primary(index).map(|a| a.address)
    };
    let wait = async {
        loop {
            if let Some(a) = address(&host) {
                return Some(a);
            }
            tracing::info!(
                interface,
                "waiting for an IPv4 address on the [cluster] interface"
            );
            host.changed().await.ok()?;
        }
    };
    match tokio::time::timeout(SYNC_ADDRESS_WAIT, wait).await {
        Ok(Some(a)) => Ok(a),
        _ => Err(crate::sync::SyncError::NoAddress(interface.to_owned())),
    }
}

/// Starts a health check for every real of every service.
fn start_checks(config: &NodeConfig) -> (Checker, UnboundedReceiver<HealthEvent>) {
    let (mut checker, events) = Checker::new(CheckerOptions::default());
    for (id, spec) in config_targets(config) {
        match spec.and_then(|spec| checker.upsert(id.clone(), spec)) {
            Ok(_) => {}
            Err(e) => tracing::error!(target = %id, error = %e, "cannot check this real"),
        }
    }
    (checker, events)
}

/// Keeps the data plane and the announcements in line with the reals and
/// the kernel: health transitions and the kernel's events (a real's MAC,
/// an interface, a route) are applied at once (a VIP that loses its
/// quorum is withdrawn within one check result); slow start weights move
/// on and failed announcements are tried again every second.
/// Once `stopping`, nothing is announced or withdrawn any more (the
/// speaker has flushed everything).
async fn supervise(
    node: Node,
    checks: (Checker, UnboundedReceiver<HealthEvent>),
    mut reloads: UnboundedReceiver<NodeConfig>,
    mut host: watch::Receiver<Option<HostView>>,
    heartbeat: crate::watchdog::Heartbeat,
) {
    // The checker runs while this task holds it.
    let (mut checker, mut events) = checks;
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tokio::select! {
            // drain/undrain/reload: re-check the announcements below at once
            _ = node.changed.notified() => {}
            Some(config) = reloads.recv() => {
                // Validated by the reload before it got here.
                let targets = config_targets(&config).filter_map(|(id, spec)| Some((id, spec.ok()?)));
                for (id, e) in checker.sync(targets) {
                    tracing::error!(target = %id, error = %e, "cannot check this real");
                }
            }
            // The follower never stops while we hold the receiver: no Err.
            Ok(()) = host.changed() => {
                if let Err(e) = node.forwarder.lock().await.host_changed() {
                    tracing::error!(error = %e, "reprogramming the data plane failed");
                }
            }
            _ = tick.tick() => {
                let mut f = node.forwarder.lock().await;
                if let Err(e) = f.tick() {
                    tracing::error!(error = %e, "reprogramming the data plane failed");
                }
                node.samples.lock().await.take(&f);
            }
            Some(ev) = events.recv() => health_event(&node, ev).await,
        }
        // A turn done: the watchdog knows we are not stuck.
        heartbeat.beat();
        if node.stopping.load(Ordering::Relaxed) {
            continue;
        }
        let ready = crate::readiness::of(&*node.forwarder.lock().await, node.sync.as_ref());
        node.announcer
            .lock()
            .await
            .apply(&ready, &node.speaker)
            .await;
    }
}

/// A real's health check changed its verdict: logged, and applied to the
/// data plane at once.
async fn health_event(node: &Node, ev: HealthEvent) {
    let up = ev.transition.is_up();
    match &ev.transition {
        Transition::Up => tracing::info!(real = %ev.target, detail = %ev.detail, "real server up"),
        Transition::Down { reason } => {
            tracing::warn!(real = %ev.target, %reason, "real server down")
        }
    }
    let IpAddr::V4(addr) = ev.target.address else {
        return;
    };
    let id = RealId::new(&ev.target.service, addr, ev.target.port.unwrap_or(0));
    if let Err(e) = node.forwarder.lock().await.set_health(id, up) {
        tracing::error!(error = %e, "reprogramming the data plane failed");
    }
}
