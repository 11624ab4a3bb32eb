//! Running the director: start the OSPF speaker, announce, serve the
//! control socket, and on SIGTERM withdraw everything before exiting.

use crate::control::{ControlError, ControlSocket};
use crate::forwarder::{Forwarder, ForwarderError};
use crate::speaker::{addresses, speaker_config, Node, ANNOUNCE_METRIC};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use xlvs_config::NodeConfig;
use xlvs_ospf::driver::{DriverError, Speaker};

/// How long shutdown waits for routers to acknowledge the flushed LSAs.
const FLUSH_LIMIT: Duration = Duration::from_secs(3);
/// How often the reals' MACs are read again from the neighbour table.
const MAC_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("OSPF: {0}")]
    Ospf(#[from] DriverError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("data plane: {0}")]
    Forwarder(#[from] ForwarderError),
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
}

pub async fn run(config: NodeConfig) -> Result<(), DaemonError> {
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let control = ControlSocket::bind(&config.node.control_socket).await?;
    // VIPs are announced only once the data plane forwards them.
    let vips: Vec<std::net::Ipv4Addr> = config.services.iter().map(|s| s.vip).collect();
    let mut forwarder = Forwarder::load(&config)?;
    forwarder.attach(&config)?;
    let forwarder = std::sync::Arc::new(tokio::sync::Mutex::new(forwarder));
    let speaker = Speaker::start(speaker_config(&config));
    // FULLNAT local addresses are announced as long as we run; a VIP only
    // while the data plane can forward it.
    for addr in addresses(&config).into_iter().filter(|a| !vips.contains(a)) {
        speaker.announce(addr, ANNOUNCE_METRIC).await?;
    }
    let refresher = {
        let forwarder = forwarder.clone();
        let speaker = speaker.clone();
        tokio::spawn(async move {
            let mut announced = std::collections::BTreeSet::new();
            let mut tick = tokio::time::interval(MAC_REFRESH);
            loop {
                tick.tick().await;
                let ready = {
                    let mut f = forwarder.lock().await;
                    if let Err(e) = f.refresh(false) {
                        tracing::error!(error = %e, "reprogramming the data plane failed");
                    }
                    f.ready_vips()
                };
                for vip in ready.difference(&announced) {
                    let _ = speaker.announce(*vip, ANNOUNCE_METRIC).await;
                }
                for vip in announced.difference(&ready) {
                    tracing::warn!(vip = %vip, "no usable real server: withdrawing");
                    let _ = speaker.withdraw(*vip).await;
                }
                announced = ready;
            }
        })
    };
    let node = Node {
        name: config.node.name.clone(),
        router_id: config.node.router_id,
        speaker: speaker.clone(),
        forwarder: forwarder.clone(),
    };
    tracing::info!(
        node = %config.node.name,
        router_id = %config.node.router_id,
        socket = %control.path.display(),
        "xlvsd running"
    );
    let server = tokio::spawn(control.serve(node));
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: withdrawing routes"),
        _ = int.recv() => tracing::info!("SIGINT: withdrawing routes"),
    }
    speaker.shutdown(FLUSH_LIMIT).await?;
    refresher.abort();
    // Dropping the server removes the socket file.
    server.abort();
    let _ = server.await;
    tracing::info!("xlvsd stopped");
    Ok(())
}
