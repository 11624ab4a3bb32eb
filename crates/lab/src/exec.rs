//! `xlvs-lab exec`: run a command inside a node, like `docker exec`.

use crate::error::LabError;
use crate::state::{frr_pathspace, netns_name};
use crate::topology::Topology;
use std::process::{Command, ExitStatus};

/// The command line as it runs in the node: container paths become the
/// bound host files, and `vtysh` on an FRR node talks to that node's
/// daemons (its pathspace).
pub fn node_argv(topo: &Topology, node: &str, argv: &[String]) -> Result<Vec<String>, LabError> {
    let n = topo.node(node).ok_or_else(|| LabError::UnknownNode {
        node: node.to_string(),
    })?;
    let mut out: Vec<String> = argv.iter().map(|a| n.host_paths(a)).collect();
    if n.role.is_router() && out.first().is_some_and(|c| c == "vtysh") {
        out.splice(1..1, ["-N".to_string(), frr_pathspace(&topo.name, node)]);
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
