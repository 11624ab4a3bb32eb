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
const MAC_REFRESH: Duration = Duration::from_secs(5);

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
    let mut forwarder = Forwarder::load(&config)?;
    forwarder.attach(&config)?;
    let forwarder = std::sync::Arc::new(tokio::sync::Mutex::new(forwarder));
    let refresher = {
        let forwarder = forwarder.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MAC_REFRESH);
            loop {
                tick.tick().await;
                if let Err(e) = forwarder.lock().await.refresh(false) {
                    tracing::error!(error = %e, "reprogramming the data plane failed");
                }
            }
        })
    };
    let speaker = Speaker::start(speaker_config(&config));
    for addr in addresses(&config) {
        speaker.announce(addr, ANNOUNCE_METRIC).await?;
    }
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
