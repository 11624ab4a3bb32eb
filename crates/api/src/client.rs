//! A blocking client of xlvsd's control socket: connect, send one request
//! line, read one response line. xlvsd answers one request per connection.

use crate::{Command, Request, Response};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long to wait for an answer. A graceful restart waits for the
/// routers' acknowledgements (5 s at most); most answers are immediate.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a change of the config in force: a reload or an
/// ipvsadm change reprograms the data plane, which takes seconds for a
/// thousand services.
pub const CHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long to wait for the answer to `command`.
pub fn timeout_for(command: &Command) -> Duration {
    match command {
        Command::Reload | Command::Ipvs(_) => CHANGE_TIMEOUT,
        _ => READ_TIMEOUT,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{path}: {source} (is xlvsd running?)")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("talking to xlvsd: {0}")]
    Io(#[from] std::io::Error),
    #[error("xlvsd sent a malformed response: {0}")]
    Malformed(String),
    /// The daemon's error message.
    #[error("xlvsd: {0}")]
    Refused(String),
}

/// Asks the xlvsd listening on `socket`; returns the response's data.
pub fn call(socket: &Path, command: &Command) -> Result<serde_json::Value, CallError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| CallError::Connect {
        path: socket.to_path_buf(),
        source,
    })?;
    stream.set_read_timeout(Some(timeout_for(command)))?;
    let request = serde_json::to_string(&Request::new(command)).expect("requests serialize");
    writeln!(stream, "{request}")?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    let response: Response =
        serde_json::from_str(&line).map_err(|e| CallError::Malformed(e.to_string()))?;
    response.into_result().map_err(CallError::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// Serves one connection with `answer`, returning the request line.
    fn daemon(answer: &'static str) -> (tempfile::TempDir, std::thread::JoinHandle<String>) {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("lb.sock")).unwrap();
        let served = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            stream.write_all(answer.as_bytes()).unwrap();
            line
        });
        (dir, served)
    }

    #[test]
    fn one_line_each_way() {
        let (dir, served) = daemon("{\"ok\":true,\"data\":{\"services\":[\"web\"]}}\n");
        let data = call(
            &dir.path().join("lb.sock"),
            &Command::Drain {
                service: Some("web".into()),
            },
        )
        .unwrap();
        assert_eq!(data, serde_json::json!({"services": ["web"]}));
        assert_eq!(
            served.join().unwrap(),
            "{\"version\":1,\"command\":\"drain\",\"args\":[\"web\"]}\n"
        );
    }

    #[test]
    fn refusals_and_garbage_are_errors() {
        let (dir, _) = daemon("{\"ok\":false,\"error\":\"no service named \\\"x\\\"\"}\n");
        let err = call(&dir.path().join("lb.sock"), &Command::Reload).unwrap_err();
        assert_eq!(err.to_string(), "xlvsd: no service named \"x\"");
        let (dir, _) = daemon("hello\n");
        let err = call(&dir.path().join("lb.sock"), &Command::Reload).unwrap_err();
        assert!(matches!(err, CallError::Malformed(_)), "{err}");
        let err = call(Path::new("/nonexistent/lb.sock"), &Command::Status).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/lb.sock: No such file or directory"),
            "{err}"
        );
    }
}
