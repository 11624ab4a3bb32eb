//! Running host commands (iproute2, sysctl, FRR, lab processes) with errors
//! that say which command failed and what it printed.

use crate::error::LabError;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command to completion; a non-zero exit is an error carrying the
/// command line and its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Spawn {
            what: cmdline(program, args),
            source: e,
        })?;
    if !out.status.success() {
        return Err(LabError::Command {
            cmd: cmdline(program, args),
            status: out.status.to_string(),
            output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn ip(args: &[&str]) -> Result<String, LabError> {
    run("ip", args)
}

/// `ip` inside a namespace (`ip -n NS ...`).
pub fn ip_in(ns: &str, args: &[&str]) -> Result<String, LabError> {
    let mut full = vec!["-n", ns];
    full.extend_from_slice(args);
    run("ip", &full)
}

pub fn sysctl_in(ns: &str, key: &str, value: &str) -> Result<(), LabError> {
    let kv = format!("{key}={value}");
    run("ip", &["netns", "exec", ns, "sysctl", "-q", "-w", &kv]).map(|_| ())
}

/// `ethtool` inside a namespace.
pub fn ethtool_in(ns: &str, args: &[&str]) -> Result<(), LabError> {
    let mut full = vec!["netns", "exec", ns, "ethtool"];
    full.extend_from_slice(args);
    run("ip", &full).map(|_| ())
}

fn cmdline(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A process identified by pid and start time, so that a recycled pid is
/// never mistaken for ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcId {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcId {
    pub fn of(pid: i32) -> Option<ProcId> {
        start_time(pid).map(|start_time| ProcId { pid, start_time })
    }

    pub fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time) && !is_zombie(self.pid)
    }
}

/// Field 22 of /proc/PID/stat: start time in clock ticks since boot.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow
    // the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 2..].chars().next())
                .map(|c| c == 'Z')
        })
        .unwrap_or(true)
}

/// What to start inside a namespace.
pub struct Spawn<'a> {
    pub netns: &'a str,
    pub argv: &'a [String],
    pub env: &'a [(String, String)],
    pub log: &'a Path,
}

/// Starts a long-running process in a namespace, detached in its own
/// session so it outlives `xlvs-lab up`, with stdout and stderr in `log`.
pub fn spawn_in(s: &Spawn) -> Result<ProcId, LabError> {
    let log = File::create(s.log).map_err(|e| LabError::io(s.log, e))?;
    let log2 = log.try_clone().map_err(|e| LabError::io(s.log, e))?;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", s.netns])
        .args(s.argv)
        .envs(s.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| LabError::Spawn {
        what: s.argv.join(" "),
        source: e,
    })?;
    let pid = child.id() as i32;
    // The child is reaped by init once we exit; until then `alive` treats
    // a zombie as gone. Dropping `child` does not kill it.
    drop(child);
    ProcId::of(pid).ok_or_else(|| LabError::ProcessExited {
        process: s.argv.join(" "),
        log: tail(s.log, 20),
    })
}

/// Runs a command in a namespace to completion, with a time limit; output
/// goes to `log`. Used for containerlab `exec` lines.
pub fn run_in(s: &Spawn, limit: Duration) -> Result<(), LabError> {
    let log = File::create(s.log).map_err(|e| LabError::io(s.log, e))?;
    let log2 = log.try_clone().map_err(|e| LabError::io(s.log, e))?;
    let what = s.argv.join(" ");
    let mut child = Command::new("ip")
        .args(["netns", "exec", s.netns])
        .args(s.argv)
        .envs(s.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| LabError::Spawn {
            what: what.clone(),
            source: e,
        })?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(LabError::Command {
                    cmd: what,
                    status: status.to_string(),
                    output: tail(s.log, 20),
                })
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(LabError::Timeout {
                    what: format!("{what} (after {limit:?})"),
                });
            }
            Err(e) => return Err(LabError::Spawn { what, source: e }),
        }
    }
}

/// Sends SIGTERM, waits up to `grace`, then SIGKILLs what is left and waits
/// for it to be gone. Only the given processes are signalled.
pub fn stop(procs: &[ProcId], grace: Duration) {
    let signal_all = |sig| {
        for p in procs.iter().filter(|p| p.alive()) {
            // SAFETY: plain syscall on a pid we verified by start time.
            unsafe {
                libc::kill(p.pid, sig);
            }
        }
    };
    let wait_gone = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while procs.iter().any(|p| p.alive()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    signal_all(libc::SIGTERM);
    wait_gone(grace);
    signal_all(libc::SIGKILL);
    wait_gone(Duration::from_secs(5));
}

/// The last `n` lines of a log file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits until `ready` holds, polling every 20 ms, at most `limit`.
pub fn wait_for(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), LabError> {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() >= deadline {
            return Err(LabError::Timeout {
                what: format!("{what} (after {limit:?})"),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
