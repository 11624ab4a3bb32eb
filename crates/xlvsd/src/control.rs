//! The control socket: a Unix socket only root can use, serving the
//! protocol of xlvs-api. Bad requests get an error response, never a
//! crash.

use crate::node::Node;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use xlvs_api::{Request, Response, MAX_REQUEST};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {path}: another xlvsd is answering on it")]
    InUse { path: PathBuf },
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct ControlSocket {
    listener: UnixListener,
    pub path: PathBuf,
}

impl ControlSocket {
    pub async fn bind(path: &Path) -> Result<ControlSocket, ControlError> {
        let io = |source| ControlError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        if path.exists() {
            // A live daemon answers; a stale file from a crash does not.
            if UnixStream::connect(path).await.is_ok() {
                return Err(ControlError::InUse {
                    path: path.to_path_buf(),
                });
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Serves connections until the task is dropped.
    pub async fn serve(self, node: Node) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let node = node.clone();
                    tokio::spawn(async move { connection(stream, node).await });
                }
                Err(e) => tracing::warn!(error = %e, "control socket accept failed"),
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One request per connection: read a line, answer, close.
async fn connection(stream: UnixStream, node: Node) {
    let (read, mut write) = stream.into_split();
    // One byte more than allowed, to tell "too long" from "just fits".
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST as u64 + 1));
    let response = match reader.read_line(&mut line).await {
        Ok(_) if line.len() > MAX_REQUEST => {
            Response::error(format!("request longer than {MAX_REQUEST} bytes"))
        }
        Ok(0) => return,
        Ok(_) => answer(line.trim_end(), &node).await,
        Err(e) => Response::error(format!("unreadable request: {e}")),
    };
    let mut text = serde_json::to_string(&response).expect("responses serialize");
    text.push('\n');
    let _ = write.write_all(text.as_bytes()).await;
    let _ = write.shutdown().await;
    // The answer to `restart --graceful` is out: now the daemon may exit.
    if node
        .restart_prepared
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        node.restart_now.notify_one();
    }
}

async fn answer(line: &str, node: &Node) -> Response {
    let command = match Request::parse(line) {
        Ok(c) => c,
        Err(e) => return Response::error(e.to_string()),
    };
    match node.command(command).await {
        Ok(data) => Response::data(data),
        Err(e) => Response::error(e.to_string()),
    }
}
