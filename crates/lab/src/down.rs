//! `xlvs-lab down`: stop every process of the lab by pid, delete its
//! namespaces (which takes their veths and bridges with them) and remove
//! the FRR pathspaces and the state directory.

use crate::error::LabError;
use crate::frr::{FRR_ETC, FRR_RUN};
use crate::state::{frr_pathspace, lab_dir, netns_name, LabState};
use crate::sys::{self, ProcId};
use crate::topology::Topology;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(3);

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

/// Plain files directly in FRR's run directory (not pathspace folders).
fn frr_run_files() -> BTreeSet<PathBuf> {
    std::fs::read_dir(FRR_RUN)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect()
}

/// Names of the other labs with a state record on this host.
pub fn other_labs_up(lab: &str) -> Vec<String> {
    std::fs::read_dir(lab_dir(lab).parent().expect("lab dir has a parent"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != lab)
        .collect()
}

/// Removes everything the state record or the topology says belongs to the
/// lab. Works on a half-built lab, and on a lab whose state was lost (then
/// the topology gives the names). Goes on past failures and reports them.
pub fn teardown(lab: &str, topo: Option<&Topology>) -> Result<Teardown, LabError> {
    let state = LabState::load(lab)?.unwrap_or_default();
    let mut netns: Vec<String> = state.netns.clone();
    let mut dirs: Vec<PathBuf> = state.dirs.clone();
    if let Some(t) = topo {
        for n in &t.nodes {
            let ns = netns_name(lab, &n.name);
            if !netns.contains(&ns) {
                netns.push(ns);
            }
            if n.role.is_router() {
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
    netns.retain(|ns| netns_exists(ns));

    let mut procs: Vec<ProcId> = state.processes.iter().map(|p| p.id).collect();
    for ns in &netns {
        procs.extend(pids_in(ns));
    }
    procs.retain(|p| p.alive());
    procs.sort_by_key(|p| p.pid);
    procs.dedup();
    let frr_run_before = frr_run_files();
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
    for d in dirs.iter().filter(|d| d.exists()) {
        match std::fs::remove_dir_all(d) {
            Ok(()) => report.dirs.push(d.clone()),
            Err(e) => failures.push(format!("{}: {e}", d.display())),
        }
    }
    // ospfd writes its graceful-restart file to /var/run/frr whatever the
    // pathspace, as it exits. Remove what our routers left there, unless
    // another lab's routers still run and may own it.
    if other_labs_up(lab).is_empty() {
        for f in frr_run_files().difference(&frr_run_before) {
            let _ = std::fs::remove_file(f);
        }
    }
    let state_dir = lab_dir(lab);
    if state_dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&state_dir) {
            failures.push(format!("{}: {e}", state_dir.display()));
        }
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
