//! Running the director: start the OSPF speaker, announce, serve the
//! control socket, and on SIGTERM withdraw everything before exiting.

use crate::control::{ControlError, ControlSocket};
use crate::speaker::{addresses, speaker_config, Node, ANNOUNCE_METRIC};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use xlvs_config::NodeConfig;
use xlvs_ospf::driver::{DriverError, Speaker};

/// How long shutdown waits for routers to acknowledge the flushed LSAs.
const FLUSH_LIMIT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("OSPF: {0}")]
    Ospf(#[from] DriverError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
}

pub async fn run(config: NodeConfig) -> Result<(), DaemonError> {
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let control = ControlSocket::bind(&config.node.control_socket).await?;
    let speaker = Speaker::start(speaker_config(&config));
    for addr in addresses(&config) {
        speaker.announce(addr, ANNOUNCE_METRIC).await?;
    }
    let node = Node {
        name: config.node.name.clone(),
        router_id: config.node.router_id,
        speaker: speaker.clone(),
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
    // Dropping the server removes the socket file.
    server.abort();
    let _ = server.await;
    tracing::info!("xlvsd stopped");
    Ok(())
}
