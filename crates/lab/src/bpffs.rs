//! A bpf filesystem for the labs' xlvsd pins. `ip netns exec` mounts a
//! fresh /sys for each process, hiding /sys/fs/bpf, so lab configs pin
//! under /run/xlvs/bpf, which xlvs-lab mounts in the host's mount
//! namespace (seen by every node) and unmounts when the last lab goes.

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
