//! `xlvs-lab exec`: run a command inside a node, like `docker exec`.

use crate::error::LabError;
use crate::state::{bird_socket, frr_pathspace, netns_name};
use crate::topology::{Role, Topology};
use std::process::{Command, ExitStatus};

/// The command line as it runs in the node: container paths become the
/// bound host files, `vtysh` on an FRR node talks to that node's daemons
/// (its pathspace) and `birdc` on a BIRD node to that node's bird (its
/// control socket): every router on the host runs the same binaries.
pub fn node_argv(topo: &Topology, node: &str, argv: &[String]) -> Result<Vec<String>, LabError> {
    let n = topo.node(node).ok_or_else(|| LabError::UnknownNode {
        node: node.to_string(),
    })?;
    let mut out: Vec<String> = argv.iter().map(|a| n.host_paths(a)).collect();
    let program = out.first().map(String::as_str);
    match (&n.role, program) {
        (Role::Frr { .. }, Some("vtysh")) => {
            out.splice(1..1, ["-N".to_string(), frr_pathspace(&topo.name, node)]);
        }
        (Role::Bird { .. }, Some("birdc" | "birdcl")) => {
            let socket = bird_socket(&topo.name, node).display().to_string();
            out.splice(1..1, ["-s".to_string(), socket]);
        }
        _ => {}
    }
    Ok(out)
}

/// Runs `argv` in `node` with the caller's stdin/stdout/stderr.
pub fn exec(topo: &Topology, node: &str, argv: &[String]) -> Result<ExitStatus, LabError> {
    let argv = node_argv(topo, node, argv)?;
    let ns = netns_name(&topo.name, node);
    if !std::path::Path::new("/run/netns").join(&ns).exists() {
        return Err(LabError::NotUp {
            lab: topo.name.clone(),
        });
    }
    let env = crate::up::node_env(topo.node(node).expect("checked above"));
    Command::new("ip")
        .args(["netns", "exec", &ns])
        .args(&argv)
        .envs(env)
        .status()
        .map_err(|e| LabError::Spawn {
            what: argv.join(" "),
            source: e,
        })
}
