//! FRR routers: Debian's daemons run inside the node's namespace with their
//! own pathspace (`-N`), so many routers coexist on one host and `vtysh -N`
//! reaches each of them.

use crate::daemon;
use crate::error::LabError;
use crate::state::{frr_pathspace, netns_name, run_dir, LabState};
use crate::sys;
use std::path::{Path, PathBuf};

pub const FRR_LIB: &str = "/usr/lib/frr";
pub const FRR_ETC: &str = "/etc/frr";
pub const FRR_RUN: &str = "/var/run/frr";
/// zebra first (the others connect to it), staticd always (frrinit starts
/// it regardless of the daemons file), then what the daemons file enables.
const ALWAYS: &[&str] = &["zebra", "staticd"];
/// The daemons an FRR 8 daemons file can enable.
const DAEMONS: &[&str] = &[
    "bgpd", "ospfd", "ospf6d", "ripd", "ripngd", "isisd", "pimd", "ldpd", "nhrpd", "eigrpd",
    "babeld", "sharpd", "pbrd", "bfdd", "fabricd", "vrrpd", "pathd",
];

/// A daemon to start and the options the daemons file gives it.
#[derive(Debug, PartialEq, Eq)]
pub struct Daemon {
    pub name: String,
    pub options: Vec<String>,
}

/// Reads an FRR daemons file (`ospfd=yes`, `ospfd_options="-A 127.0.0.1"`).
pub fn parse_daemons(text: &str) -> Result<Vec<Daemon>, String> {
    let mut enabled: Vec<String> = ALWAYS.iter().map(|s| s.to_string()).collect();
    let mut options = std::collections::BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected key=value", n + 1));
        };
        let value = value.trim().trim_matches('"');
        if let Some(daemon) = key.strip_suffix("_options") {
            let words =
                shlex::split(value).ok_or_else(|| format!("line {}: unbalanced quotes", n + 1))?;
            options.insert(daemon.to_string(), words);
        } else if value == "yes" && DAEMONS.contains(&key) && !enabled.iter().any(|d| d == key) {
            enabled.push(key.to_string());
        }
        // Anything else is a setting (vtysh_enable, MAX_FDS, ...) or a
        // daemon left off.
    }
    Ok(enabled
        .into_iter()
        .map(|name| Daemon {
            options: options.remove(&name).unwrap_or_default(),
            name,
        })
        .collect())
}

/// Files FRR daemons write to /var/run/frr whatever their pathspace
/// (graceful-restart state), shared by every router on the host.
const SHARED_FILES: &[&str] = &["ospfd-gr.json", "ospf6d-gr.json", "isisd-gr.json"];

/// Lists, in xlvs-lab's run directory, the shared files that do not exist
/// yet: labs' routers will create them, and the last lab down removes them.
fn note_shared_files() -> Result<(), LabError> {
    let marker = run_dir().join("frr-shared-files");
    let mut noted: Vec<String> = std::fs::read_to_string(&marker)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    for f in SHARED_FILES {
        let path = Path::new(FRR_RUN).join(f).display().to_string();
        if !Path::new(&path).exists() && !noted.contains(&path) {
            noted.push(path);
        }
    }
    let text: String = noted.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(&marker, text).map_err(|e| LabError::io(&marker, e))
}

/// Removes the shared files labs created (see `note_shared_files`).
pub fn remove_shared_files() -> Result<(), LabError> {
    let marker = run_dir().join("frr-shared-files");
    let Ok(text) = std::fs::read_to_string(&marker) else {
        return Ok(());
    };
    for path in text.lines().map(Path::new).filter(|p| p.exists()) {
        std::fs::remove_file(path).map_err(|e| LabError::io(path, e))?;
    }
    std::fs::remove_file(&marker).map_err(|e| LabError::io(&marker, e))
}

/// Lays out the pathspace, starts the daemons and loads frr.conf with
/// `vtysh -b`, as frrinit.sh would.
pub fn start(
    state: &mut LabState,
    node: &str,
    frr_conf: &Path,
    daemons_file: Option<&Path>,
) -> Result<(), LabError> {
    if !Path::new(FRR_LIB).join("zebra").is_file() {
        return Err(LabError::MissingTool {
            tool: format!("{FRR_LIB}/zebra"),
            hint: "install FRR (scripts/install-deps.sh does)".into(),
        });
    }
    let daemons = match daemons_file {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| LabError::io(f, e))?;
            parse_daemons(&text).map_err(|why| LabError::State {
                path: f.display().to_string(),
                why,
            })?
        }
        None => parse_daemons("").expect("empty daemons file parses"),
    };
    for d in &daemons {
        if !Path::new(FRR_LIB).join(&d.name).is_file() {
            return Err(LabError::MissingTool {
                tool: format!("{FRR_LIB}/{}", d.name),
                hint: "the daemons file enables it but this FRR build lacks it".into(),
            });
        }
    }
    let ps = frr_pathspace(&state.lab, node);
    let etc = PathBuf::from(FRR_ETC).join(&ps);
    let run = PathBuf::from(FRR_RUN).join(&ps);
    for dir in [&etc, &run] {
        if dir.exists() {
            return Err(LabError::State {
                path: dir.display().to_string(),
                why: "already exists: another lab or a leftover holds this pathspace".into(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
        state.dirs.push(dir.clone());
        state.save()?;
    }
    let copy = |from: &Path, name: &str| {
        let to = etc.join(name);
        std::fs::copy(from, &to)
            .map(|_| ())
            .map_err(|e| LabError::io(&to, e))
    };
    copy(frr_conf, "frr.conf")?;
    if let Some(d) = daemons_file {
        copy(d, "daemons")?;
    }
    let vtysh_conf = etc.join("vtysh.conf");
    std::fs::write(&vtysh_conf, "").map_err(|e| LabError::io(&vtysh_conf, e))?;
    for dir in [&etc, &run] {
        sys::run("chown", &["-R", "frr:frr", &dir.to_string_lossy()])?;
    }

    let netns = netns_name(&state.lab, node);
    let node_dir = state.node_dir(node)?;
    note_shared_files()?;
    for d in &daemons {
        let mut argv = vec![
            Path::new(FRR_LIB).join(&d.name).display().to_string(),
            "-N".to_string(),
            ps.clone(),
            "--log".to_string(),
            "stdout".to_string(),
        ];
        argv.extend(d.options.iter().cloned());
        let log = node_dir.join(format!("{}.log", d.name));
        // Each daemon is ready once its vty socket exists; the others need
        // zebra's API socket before they start.
        daemon::start(
            state,
            &daemon::Process {
                node,
                name: &d.name,
                argv: &argv,
                log: &log,
                ready_socket: &run.join(format!("{}.vty", d.name)),
            },
        )?;
    }
    sys::run("ip", &["netns", "exec", &netns, "vtysh", "-N", &ps, "-b"])
        .map_err(|e| match e {
            LabError::Command { cmd, status, .. } => LabError::Command {
                cmd,
                status,
                output: "frr.conf did not load cleanly; check it with vtysh -C".into(),
            },
            other => other,
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zebra_and_staticd_always_run() {
        let d = parse_daemons("").unwrap();
        let names: Vec<_> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["zebra", "staticd"]);
    }

    #[test]
    fn options_are_split_like_a_shell() {
        let d = parse_daemons("zebra_options=\"  -A 127.0.0.1 -s 90000000\"\n").unwrap();
        assert_eq!(d[0].options, ["-A", "127.0.0.1", "-s", "90000000"]);
    }

    #[test]
    fn settings_and_disabled_daemons_are_not_started() {
        let d = parse_daemons("vtysh_enable=yes\nbgpd=no\n# ripd=yes\nospfd=yes\n").unwrap();
        let names: Vec<_> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["zebra", "staticd", "ospfd"]);
    }

    #[test]
    fn garbage_line_is_an_error() {
        assert!(parse_daemons("ospfd yes\n").unwrap_err().contains("line 1"));
    }
}
