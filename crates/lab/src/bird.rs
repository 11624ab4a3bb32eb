//! BIRD routers: Debian's `bird` (BIRD 2) runs inside the node's namespace
//! with the bound bird.conf and a control socket of its own, so many
//! routers coexist on one host and `birdc -s` reaches each of them.

use crate::daemon;
use crate::error::LabError;
use crate::state::{bird_socket, LabState};
use std::path::Path;

pub const BIRD: &str = "/usr/sbin/bird";

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
    // bird opens its control socket once the configuration has parsed; a
    // configuration error makes it exit with the line at fault.
    daemon::start(
        state,
        &daemon::Process {
            node,
            name: "bird",
            argv: &argv,
            log: &log,
            ready_socket: &socket,
        },
    )
}
