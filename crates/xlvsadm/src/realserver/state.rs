//! The record of what `up` changed, one JSON file a VIP, so that `down`
//! undoes exactly that. Network namespaces share /run, so each has its own
//! directory: /run/xlvs/realserver for the host's own, and
//! /run/xlvs/realserver/netns/NAME under `ip netns exec NAME` (a lab
//! node). The record keeps the namespace's inode: a record left by a
//! namespace that is gone is not taken for this one's.

use super::plan::{Change, Request};
use super::RealserverError;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const BASE: &str = "/run/xlvs/realserver";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub request: Request,
    /// Inode of the network namespace it was made in.
    pub netns: u64,
    /// In the order they were made.
    pub changes: Vec<Change>,
}

/// A namespace's identity: device and inode of its nsfs file.
type NsId = (u64, u64);

fn ns_id(path: &Path) -> Option<NsId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

pub fn current_netns() -> u64 {
    ns_id(Path::new("/proc/self/ns/net")).map_or(0, |(_, ino)| ino)
}

/// The directory for the namespace `current`: `init` is the host's own;
/// `named` are /run/netns's entries (as `ip netns identify` matches them).
pub fn dir_for(
    base: &Path,
    current: NsId,
    init: Option<NsId>,
    named: &[(String, NsId)],
) -> PathBuf {
    if init == Some(current) {
        return base.to_path_buf();
    }
    match named.iter().find(|(_, id)| *id == current) {
        Some((name, _)) => base.join("netns").join(name),
        None => base.join("netns").join(format!("inode-{}", current.1)),
    }
}

/// This process's namespace directory under [`BASE`].
pub fn default_dir() -> PathBuf {
    let named: Vec<(String, NsId)> = std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, ns_id(&e.path())?)))
        .collect();
    let current = ns_id(Path::new("/proc/self/ns/net")).unwrap_or_default();
    dir_for(
        Path::new(BASE),
        current,
        ns_id(Path::new("/proc/1/ns/net")),
        &named,
    )
}

pub fn path(dir: &Path, vip: Ipv4Addr) -> PathBuf {
    dir.join(format!("{vip}.json"))
}

fn io(path: &Path, e: std::io::Error) -> RealserverError {
    RealserverError::State {
        path: path.display().to_string(),
        source: e,
    }
}

/// The record at `path` if one was made in this namespace. A record of
/// another namespace (one deleted and made again under the same name) is
/// removed: what it lists is gone with that namespace.
pub fn load(path: &Path) -> Result<Option<Record>, RealserverError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, e)),
    };
    let record: Record = serde_json::from_str(&text).map_err(|e| RealserverError::BadState {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    if record.netns != current_netns() {
        remove(path)?;
        return Ok(None);
    }
    Ok(Some(record))
}

/// Writes the record whole (a temporary file renamed), so a crash never
/// leaves half a record.
pub fn save(path: &Path, record: &Record) -> Result<(), RealserverError> {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(record).expect("a record is JSON");
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

pub fn remove(path: &Path) -> Result<(), RealserverError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path, e)),
        _ => Ok(()),
    }
}

/// Records of the other VIPs up in this namespace, sorted.
pub fn others(dir: &Path, vip: Ipv4Addr) -> Vec<PathBuf> {
    let own = path(dir, vip);
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && *p != own)
        .filter(|p| load(p).ok().flatten().is_some())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_namespace_has_its_own_directory() {
        let base = Path::new(BASE);
        let named = vec![
            ("lab-web1".to_string(), (4, 100)),
            ("lab-web2".to_string(), (4, 101)),
        ];
        assert_eq!(dir_for(base, (4, 1), Some((4, 1)), &named), base);
        assert_eq!(
            dir_for(base, (4, 101), Some((4, 1)), &named),
            base.join("netns/lab-web2")
        );
        assert_eq!(
            dir_for(base, (4, 7), Some((4, 1)), &named),
            base.join("netns/inode-7")
        );
    }

    #[test]
    fn a_record_round_trips_and_one_of_another_namespace_is_dropped() {
        let dir = tempfile_dir();
        let vip = Ipv4Addr::new(192, 0, 2, 10);
        let p = path(&dir, vip);
        let mut record = Record {
            request: super::super::plan::Request {
                vip,
                mode: super::super::plan::Mode::Dr,
                decap: None,
            },
            netns: current_netns(),
            changes: vec![Change::Address {
                address: vip,
                device: "lo".into(),
            }],
        };
        save(&p, &record).unwrap();
        assert_eq!(load(&p).unwrap(), Some(record.clone()));
        assert_eq!(others(&dir, Ipv4Addr::new(192, 0, 2, 11)), vec![p.clone()]);
        assert_eq!(others(&dir, vip), Vec::<PathBuf>::new());
        record.netns += 1;
        save(&p, &record).unwrap();
        assert_eq!(load(&p).unwrap(), None);
        assert!(!p.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("xlvsadm-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
