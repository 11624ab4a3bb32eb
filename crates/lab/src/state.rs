//! What a running lab is made of, on disk under /run/xlvs-lab/<lab>/, written
//! as each piece is built, so that `down` (or a failed `up`) removes exactly
//! what was made, even after a crash half-way.

use crate::error::LabError;
use crate::sys::ProcId;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const RUN_DIR: &str = "/run/xlvs-lab";

/// The namespace of a node: containerlab names its containers
/// clab-<lab>-<node>, and two labs can coexist.
pub fn netns_name(lab: &str, node: &str) -> String {
    format!("clab-{lab}-{node}")
}

/// The FRR pathspace (`-N`) of a router node; its files live in
/// /etc/frr/<pathspace> and /var/run/frr/<pathspace>.
pub fn frr_pathspace(lab: &str, node: &str) -> String {
    netns_name(lab, node)
}

/// The control socket of a BIRD node's daemon (`bird -s`, `birdc -s`), in
/// the node's directory so that `down` removes it with the lab.
pub fn bird_socket(lab: &str, node: &str) -> PathBuf {
    lab_dir(lab).join(node).join("bird.ctl")
}

pub fn lab_dir(lab: &str) -> PathBuf {
    Path::new(RUN_DIR).join(lab)
}

/// xlvs-lab's own directory, holding one directory per running lab.
pub fn run_dir() -> &'static Path {
    Path::new(RUN_DIR)
}

/// Names of the labs with a state record on this host, other than `lab`.
pub fn other_labs(lab: &str) -> Vec<String> {
    std::fs::read_dir(RUN_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != lab)
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub node: String,
    pub name: String,
    pub id: ProcId,
    pub log: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LabState {
    pub lab: String,
    pub file: PathBuf,
    /// Namespaces this lab created, in creation order.
    pub netns: Vec<String>,
    /// Directories created for FRR pathspaces.
    pub dirs: Vec<PathBuf>,
    pub processes: Vec<ProcessRecord>,
}

impl LabState {
    fn path(lab: &str) -> PathBuf {
        lab_dir(lab).join("state.json")
    }

    /// Starts a fresh record for a lab about to be built.
    pub fn create(lab: &str, file: &Path) -> Result<LabState, LabError> {
        let dir = lab_dir(lab);
        std::fs::create_dir_all(&dir).map_err(|e| LabError::io(&dir, e))?;
        let state = LabState {
            lab: lab.to_string(),
            file: file.to_path_buf(),
            ..Default::default()
        };
        state.save()?;
        Ok(state)
    }

    /// The record of a lab, or None when there is none.
    pub fn load(lab: &str) -> Result<Option<LabState>, LabError> {
        let path = Self::path(lab);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LabError::State {
                    path: path.display().to_string(),
                    why: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LabError::io(&path, e)),
        }
    }

    pub fn save(&self) -> Result<(), LabError> {
        let path = Self::path(&self.lab);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("state serializes");
        std::fs::write(&tmp, text).map_err(|e| LabError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| LabError::io(&path, e))
    }

    /// Directory for a node's logs and generated files.
    pub fn node_dir(&self, node: &str) -> Result<PathBuf, LabError> {
        let dir = lab_dir(&self.lab).join(node);
        std::fs::create_dir_all(&dir).map_err(|e| LabError::io(&dir, e))?;
        Ok(dir)
    }
}
