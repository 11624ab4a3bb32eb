//! Starting a router daemon (FRR's, BIRD) in its node's namespace: it is
//! recorded in the lab's state before anything waits on it, so `down`
//! stops it by pid even if `up` fails right after.

use crate::error::LabError;
use crate::state::{netns_name, LabState, ProcessRecord};
use crate::sys::{self, Spawn};
use std::path::Path;
use std::time::Duration;

/// Longest a daemon may take to open its socket.
const START_LIMIT: Duration = Duration::from_secs(15);

/// What to start, and how to tell it is ready.
pub struct Process<'a> {
    pub node: &'a str,
    /// The name `status` shows, and the process's name in errors.
    pub name: &'a str,
    pub argv: &'a [String],
    pub log: &'a Path,
    /// A socket the daemon creates once it is ready to serve (its
    /// configuration has loaded).
    pub ready_socket: &'a Path,
}

/// Starts the daemon and waits until its socket exists; if it exits
/// first, the error carries the end of its log.
pub fn start(state: &mut LabState, d: &Process) -> Result<(), LabError> {
    let id = sys::spawn_in(&Spawn {
        netns: &netns_name(&state.lab, d.node),
        argv: d.argv,
        env: &[],
        log: d.log,
    })?;
    state.processes.push(ProcessRecord {
        node: d.node.to_string(),
        name: d.name.to_string(),
        id,
        log: d.log.to_path_buf(),
    });
    state.save()?;
    sys::wait_for(
        &format!("{} of {} to start", d.name, d.node),
        START_LIMIT,
        || d.ready_socket.exists() || !id.alive(),
    )?;
    if !id.alive() {
        return Err(LabError::ProcessExited {
            process: d.name.to_string(),
            log: sys::tail(d.log, 20),
        });
    }
    Ok(())
}
