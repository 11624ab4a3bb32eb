//! Script check (keepalived `MISC_CHECK`): runs a program, exit status 0
//! means up. No shell: the program path is absolute and its arguments are
//! passed as they are.
//!
//! The program runs in its own process group, so that on timeout everything
//! it started (a shell's children, say) is killed with one signal to the
//! group, addressed by its id.

use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{ChildStderr, ChildStdout, Command};
use tokio::time::Instant;

use crate::error::{CheckError, Phase, SetupError};

/// Output kept per stream, for the failure reason in the log.
const OUTPUT_CAP: usize = 4096;
/// Longest output excerpt put into a failure reason.
const REASON_CAP: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// Absolute path of the program.
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl fmt::Display for ScriptSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.program.display())?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

pub(crate) fn prepare(spec: &ScriptSpec) -> Result<ScriptSpec, SetupError> {
    if !spec.program.is_absolute() {
        return Err(SetupError::RelativeProgram(spec.program.clone()));
    }
    Ok(spec.clone())
}

/// Kills the process group when dropped while armed: covers the timeout and
/// also a check future dropped half-way (a target removed on reload).
struct GroupGuard {
    pgid: Option<libc::pid_t>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // SAFETY: kill(2) with a negative pid signals that process group;
            // no memory is involved.
            let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
            if rc != 0 {
                // ESRCH: the group is already gone, which is fine.
                tracing::trace!(pgid, error = %std::io::Error::last_os_error(), "kill process group");
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the script with its own timeout (the caller does not wrap it): on
/// timeout the group must be killed and the child reaped, not just dropped.
pub(crate) async fn run(spec: &ScriptSpec, timeout: Duration) -> Result<(), CheckError> {
    let deadline = Instant::now() + timeout;
    let mut child = Command::new(&spec.program)
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| CheckError::Spawn {
            program: spec.program.clone(),
            source,
        })?;
    // Declared after `child` so it is dropped (and kills the group) before
    // `child` is, while the leader's pid cannot have been reused yet.
    let mut group = GroupGuard {
        pgid: child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()),
    };
    // Drain the pipes while the script runs, so a chatty script never
    // blocks on a full pipe.
    let output = tokio::spawn(capture(child.stdout.take(), child.stderr.take()));

    let status = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(status) => status.map_err(|source| CheckError::Io {
            phase: Phase::Script,
            source,
        })?,
        Err(_) => {
            group.kill();
            // Reap the leader now rather than leave a zombie behind.
            let _ = child.wait().await;
            output.abort();
            return Err(CheckError::Timeout {
                after: timeout,
                phase: Phase::Script,
            });
        }
    };

    // The leader is gone; the pipes close once everything it started has
    // exited too. A background process still holding them when the
    // deadline comes is killed with the group.
    let (stdout, stderr) = match tokio::time::timeout_at(deadline, output).await {
        Ok(Ok(captured)) => {
            group.pgid = None;
            captured
        }
        _ => {
            group.kill();
            Default::default()
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(CheckError::Script {
        program: spec.program.clone(),
        status: status.to_string(),
        output: last_line(&stderr)
            .or_else(|| last_line(&stdout))
            .unwrap_or_default(),
    })
}

async fn capture(stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> (Vec<u8>, Vec<u8>) {
    tokio::join!(read_capped(stdout), read_capped(stderr))
}

/// Keeps the first [`OUTPUT_CAP`] bytes and discards the rest until EOF.
async fn read_capped<R: AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return kept;
    };
    let mut chunk = [0u8; 4096];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = OUTPUT_CAP - kept.len();
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

/// The last non-empty line, shortened: usually the error message.
fn last_line(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    Some(match line.char_indices().nth(REASON_CAP) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_picks_the_last_non_empty_line() {
        assert_eq!(last_line(b""), None);
        assert_eq!(last_line(b"\n \n"), None);
        assert_eq!(last_line(b"one\ntwo  \n\n").as_deref(), Some("two"));
        let long = "x".repeat(REASON_CAP + 5);
        assert_eq!(
            last_line(long.as_bytes()),
            Some(format!("{}...", "x".repeat(REASON_CAP)))
        );
    }

    #[test]
    fn relative_programs_are_refused() {
        let spec = ScriptSpec {
            program: "check.sh".into(),
            args: vec![],
        };
        assert!(matches!(
            prepare(&spec),
            Err(SetupError::RelativeProgram(_))
        ));
    }
}
