//! `xlvs-lab down`: stop every process of the lab by pid, delete its
//! namespaces (which takes their veths and bridges with them) and remove
//! the FRR pathspaces and the state directory (which holds BIRD's control
//! sockets).

use crate::error::LabError;
use crate::frr::{self, FRR_ETC, FRR_RUN};
use crate::state::{frr_pathspace, lab_dir, netns_name, other_labs, run_dir, LabState};
use crate::sys::{self, ProcId};
use crate::topology::{Role, Topology};
use std::path::{Path, PathBuf};
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(3);

/// Where `xlvsadm realserver up` (run by a real's `exec` line) records its
/// changes, a directory per namespace: they go with the namespaces.
const REALSERVER_RECORDS: &str = "/run/xlvs/realserver/netns";

/// What `down` removed.
#[derive(Debug, Default)]
pub struct Teardown {
    pub processes: usize,
    pub netns: Vec<String>,
    pub dirs: Vec<PathBuf>,
}

fn netns_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

/// Pids of every process whose network namespace is `ns`. Everything in a
/// lab namespace was started by the lab (the namespace did not exist
/// before), including daemons that forked away from the pid we started.
fn pids_in(ns: &str) -> Vec<ProcId> {
    sys::ip(&["netns", "pids", ns])
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter_map(ProcId::of)
        .collect()
}

/// Removes everything the state record or the topology says belongs to the
/// lab. Works on a half-built lab, and on a lab whose state was lost (then
/// the topology gives the names). Goes on past failures and reports them.
pub fn teardown(lab: &str, topo: Option<&Topology>) -> Result<Teardown, LabError> {
    let state = LabState::load(lab)?.unwrap_or_default();
    let mut netns: Vec<String> = state.netns.clone();
    let mut dirs: Vec<PathBuf> = state.dirs.clone();
    // Control sockets of xlvs nodes: xlvsd removes its own on SIGTERM, but
    // not when it was killed.
    let mut sockets: Vec<PathBuf> = Vec::new();
    if let Some(t) = topo {
        for n in &t.nodes {
            if let Role::Xlvs { socket, pins, .. } = &n.role {
                sockets.push(socket.clone());
                dirs.push(pins.clone());
            }
            for pin in crate::bpffs::node_pins(lab, &n.name) {
                if !dirs.contains(&pin) {
                    dirs.push(pin);
                }
            }
            let ns = netns_name(lab, &n.name);
            if !netns.contains(&ns) {
                netns.push(ns);
            }
            if matches!(n.role, Role::Frr { .. }) {
                let ps = frr_pathspace(lab, &n.name);
                for base in [FRR_ETC, FRR_RUN] {
                    let d = Path::new(base).join(&ps);
                    if !dirs.contains(&d) {
                        dirs.push(d);
                    }
                }
            }
        }
    }
    for ns in &netns {
        let d = Path::new(REALSERVER_RECORDS).join(ns);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    netns.retain(|ns| netns_exists(ns));

    let mut procs: Vec<ProcId> = state.processes.iter().map(|p| p.id).collect();
    for ns in &netns {
        procs.extend(pids_in(ns));
    }
    procs.retain(|p| p.alive());
    procs.sort_by_key(|p| p.pid);
    procs.dedup();
    sys::stop(&procs, GRACE);

    let mut report = Teardown {
        processes: procs.len(),
        ..Default::default()
    };
    let mut failures = Vec::new();
    if let Some(p) = procs.iter().find(|p| p.alive()) {
        failures.push(format!("process {} did not exit", p.pid));
    }
    // Reverse creation order; deleting a namespace removes its interfaces.
    for ns in netns.iter().rev() {
        match sys::ip(&["netns", "del", ns]) {
            Ok(_) => report.netns.push(ns.clone()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    for f in sockets.iter().filter(|f| f.exists()) {
        if let Err(e) = std::fs::remove_file(f) {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    for d in dirs.iter().filter(|d| d.exists()) {
        // A pin may be a single file.
        let removed = if d.is_dir() {
            std::fs::remove_dir_all(d)
        } else {
            std::fs::remove_file(d)
        };
        match removed {
            Ok(()) => report.dirs.push(d.clone()),
            Err(e) => failures.push(format!("{}: {e}", d.display())),
        }
    }
    // Emptied above, unless another lab's reals still have records there.
    let records = Path::new(REALSERVER_RECORDS);
    let _ = std::fs::remove_dir(records);
    let _ = std::fs::remove_dir(records.parent().expect("has a parent"));
    let state_dir = lab_dir(lab);
    if state_dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&state_dir) {
            failures.push(format!("{}: {e}", state_dir.display()));
        }
    }
    // The last lab down removes what labs' routers created in FRR's
    // shared directories, and xlvs-lab's own directory.
    if other_labs(lab).is_empty() {
        if let Err(e) = frr::remove_shared_files() {
            failures.push(e.to_string());
        }
        if let Err(e) = crate::bpffs::release() {
            failures.push(e.to_string());
        }
        let _ = std::fs::remove_dir(run_dir());
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(LabError::Command {
            cmd: format!("xlvs-lab down {lab}"),
            status: "incomplete".into(),
            output: failures.join("; "),
        })
    }
}
