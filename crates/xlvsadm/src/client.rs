//! Which xlvsd to ask: `--socket`, `--node`, or the only one running. The
//! requests themselves go through xlvs-api's client.

use serde_json::Value;
use std::path::{Path, PathBuf};
use xlvs_api::client::CallError;
use xlvs_api::Command;

const RUN_DIR: &str = "/run/xlvs";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no xlvsd control socket in {RUN_DIR} (is xlvsd running? see --socket, --node)")]
    NoSocket,
    #[error("several xlvsd sockets in {RUN_DIR} ({0}); choose one with --node NAME")]
    Several(String),
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The socket to use: --socket, else --node's, else the only one running.
pub fn socket_path(socket: Option<PathBuf>, node: Option<String>) -> Result<PathBuf, ClientError> {
    if let Some(s) = socket {
        return Ok(s);
    }
    if let Some(n) = node {
        return Ok(Path::new(RUN_DIR).join(format!("{n}.sock")));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(RUN_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        .collect();
    found.sort();
    match found.len() {
        0 => Err(ClientError::NoSocket),
        1 => Ok(found.remove(0)),
        _ => Err(ClientError::Several(
            found
                .iter()
                .filter_map(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Something that answers control-socket commands: the daemon, or a fake
/// in tests.
pub trait Daemon {
    fn call(&mut self, command: &Command) -> Result<Value, ClientError>;
}

/// The xlvsd behind `--socket`/`--node`, found on the first call (so that
/// `-h` works without a daemon) and kept for the next ones (`-R`).
pub struct Socket {
    socket: Option<PathBuf>,
    node: Option<String>,
    path: Option<PathBuf>,
}

impl Socket {
    pub fn new(socket: Option<PathBuf>, node: Option<String>) -> Socket {
        Socket {
            socket,
            node,
            path: None,
        }
    }
}

impl Daemon for Socket {
    fn call(&mut self, command: &Command) -> Result<Value, ClientError> {
        let path = match &self.path {
            Some(p) => p.clone(),
            None => {
                let p = socket_path(self.socket.clone(), self.node.clone())?;
                self.path = Some(p.clone());
                p
            }
        };
        Ok(xlvs_api::client::call(&path, command)?)
    }
}
