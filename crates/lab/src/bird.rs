//! BIRD routers: Debian's `bird` (BIRD 2) runs inside the node's namespace
//! with the bound bird.conf and a control socket of its own, so many
//! routers coexist on one host and `birdc -s` reaches each of them.

use crate::error::LabError;
use crate::state::{bird_socket, netns_name, LabState, ProcessRecord};
use crate::sys::{self, Spawn};
use std::path::Path;
use std::time::Duration;

pub const BIRD: &str = "/usr/sbin/bird";
const START_LIMIT: Duration = Duration::from_secs(15);

/// Starts bird in the foreground (`-f`), so the pid we record is bird's
/// own and `down` stops it by that pid, as it stops FRR's daemons.
pub fn start(state: &mut LabState, node: &str, bird_conf: &Path) -> Result<(), LabError> {
    if !Path::new(BIRD).is_file() {
        return Err(LabError::MissingTool {
            tool: BIRD.into(),
            hint: "install bird2 (scripts/install-deps.sh does)".into(),
        });
    }
    let log = state.node_dir(node)?.join("bird.log");
    let socket = bird_socket(&state.lab, node);
    let argv = [
        BIRD.to_string(),
        "-f".into(),
        "-c".into(),
        bird_conf.display().to_string(),
        "-s".into(),
        socket.display().to_string(),
    ];
    let id = sys::spawn_in(&Spawn {
        netns: &netns_name(&state.lab, node),
        argv: &argv,
        env: &[],
        log: &log,
    })?;
    state.processes.push(ProcessRecord {
        node: node.to_string(),
        name: "bird".into(),
        id,
        log: log.clone(),
    });
    state.save()?;
    // bird opens its control socket once the configuration has parsed; a
    // configuration error makes it exit with the line at fault.
    sys::wait_for(&format!("bird of {node} to start"), START_LIMIT, || {
        socket.exists() || !id.alive()
    })?;
    if !id.alive() {
        return Err(LabError::ProcessExited {
            process: "bird".into(),
            log: sys::tail(&log, 20),
        });
    }
    Ok(())
}
