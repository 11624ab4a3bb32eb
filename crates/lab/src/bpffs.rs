//! A bpf filesystem for the labs' pins (xlvsd's, and `xlvs-decap`'s on
//! TUN reals). `ip netns exec` mounts a fresh /sys for each process,
//! hiding /sys/fs/bpf, so labs pin under /run/xlvs/bpf, which xlvs-lab
//! mounts in the host's mount namespace (seen by every node) and unmounts
//! when the last lab goes. A node's pins there are named `<lab>-<node>`
//! or `<lab>-<node>-*`; `down` removes them.

use crate::error::LabError;
use crate::state::run_dir;
use std::path::Path;

pub const LAB_BPFFS: &str = "/run/xlvs/bpf";

fn marker() -> std::path::PathBuf {
    run_dir().join("bpffs-mounted")
}

fn mounted() -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(LAB_BPFFS))
}

/// Mounts the lab bpf filesystem unless something already is mounted.
pub fn ensure() -> Result<(), LabError> {
    if mounted() {
        return Ok(());
    }
    std::fs::create_dir_all(LAB_BPFFS).map_err(|e| LabError::io(Path::new(LAB_BPFFS), e))?;
    crate::sys::run("mount", &["-t", "bpf", "bpf", LAB_BPFFS])?;
    // Remember that we mounted it, so only we unmount it.
    std::fs::write(marker(), "").map_err(|e| LabError::io(&marker(), e))
}

/// Unmounts it if xlvs-lab mounted it (called by the last lab down).
pub fn release() -> Result<(), LabError> {
    if !marker().exists() {
        return Ok(());
    }
    if mounted() {
        crate::sys::run("umount", &[LAB_BPFFS])?;
    }
    let _ = std::fs::remove_dir(LAB_BPFFS);
    let _ = std::fs::remove_dir(Path::new(LAB_BPFFS).parent().expect("has a parent"));
    std::fs::remove_file(marker()).map_err(|e| LabError::io(&marker(), e))
}

/// The pins of a lab node under the lab bpf filesystem: entries named
/// `<lab>-<node>` or `<lab>-<node>-*` (e.g. an xlvs-decap pin directory
/// given in an `exec` line).
pub fn node_pins(lab: &str, node: &str) -> Vec<std::path::PathBuf> {
    let name = format!("{lab}-{node}");
    let prefix = format!("{name}-");
    std::fs::read_dir(LAB_BPFFS)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            f == name || f.starts_with(&prefix)
        })
        .map(|e| e.path())
        .collect()
}
