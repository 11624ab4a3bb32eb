//! TCP connect check (keepalived `TCP_CHECK`), and the connect step that the
//! HTTP and HTTPS checks share.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::check::Progress;
use crate::error::{CheckError, Phase};

/// Up when the connect succeeds.
pub(crate) async fn check(addr: SocketAddr, progress: &Progress) -> Result<(), CheckError> {
    connect(addr, progress).await.map(drop)
}

pub(crate) async fn connect(
    addr: SocketAddr,
    progress: &Progress,
) -> Result<TcpStream, CheckError> {
    progress.set(Phase::Connect);
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| CheckError::Io {
            phase: Phase::Connect,
            source,
        })?;
    // Close with a reset: the checker is the side that closes first, and with
    // many reals checked every few seconds its TIME_WAIT sockets would pile
    // up on the director (haproxy's checks do the same). Failing to set an
    // option only costs that, so it is not a check failure.
    let _ = stream.set_zero_linger();
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
