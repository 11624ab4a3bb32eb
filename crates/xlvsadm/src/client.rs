//! The client side of xlvsd's control socket (protocol in xlvsd's api.rs).

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const RUN_DIR: &str = "/run/xlvs";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no xlvsd control socket in {RUN_DIR} (is xlvsd running? see --socket, --node)")]
    NoSocket,
    #[error("several xlvsd sockets in {RUN_DIR} ({0}); choose one with --node NAME")]
    Several(String),
    #[error("{path}: {source} (is xlvsd running?)")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("talking to xlvsd: {0}")]
    Io(#[from] std::io::Error),
    #[error("xlvsd sent a malformed response: {0}")]
    Malformed(String),
    #[error("xlvsd: {0}")]
    Refused(String),
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

/// Sends one command and returns the response's data.
pub fn call(path: &Path, command: &str, args: &[String]) -> Result<Value, ClientError> {
    let mut stream = UnixStream::connect(path).map_err(|e| ClientError::Connect {
        path: path.to_path_buf(),
        source: e,
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = serde_json::json!({"version": 1, "command": command, "args": args});
    writeln!(stream, "{request}")?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    let v: Value =
        serde_json::from_str(&line).map_err(|e| ClientError::Malformed(e.to_string()))?;
    match v["ok"].as_bool() {
        Some(true) => Ok(v["data"].clone()),
        Some(false) => Err(ClientError::Refused(
            v["error"].as_str().unwrap_or("unknown error").to_string(),
        )),
        None => Err(ClientError::Malformed(line)),
    }
}

/// Something that answers control-socket commands: the daemon, or a fake
/// in tests.
pub trait Daemon {
    fn call(&mut self, command: &str, args: &[String]) -> Result<Value, ClientError>;
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
    fn call(&mut self, command: &str, args: &[String]) -> Result<Value, ClientError> {
        let path = match &self.path {
            Some(p) => p.clone(),
            None => {
                let p = socket_path(self.socket.clone(), self.node.clone())?;
                self.path = Some(p.clone());
                p
            }
        };
        call(&path, command, args)
    }
}
