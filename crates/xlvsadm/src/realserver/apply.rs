//! Makes and undoes planned changes on the host: /proc/sys writes, and the
//! `ip`, `modprobe` and `xlvs-decap` commands.

use super::plan::Change;
use super::RealserverError;
use std::path::PathBuf;
use std::process::Command;

/// Runs a program; its stdout, or an error with its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, RealserverError> {
    let what = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| RealserverError::Step {
            what: what.clone(),
            why: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(RealserverError::Step {
            what,
            why: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write_sysctl(key: &str, value: &str) -> Result<(), RealserverError> {
    let path = super::host::sysctl_path(key);
    std::fs::write(&path, value).map_err(|e| RealserverError::Step {
        what: format!("writing {value} to {}", path.display()),
        why: e.to_string(),
    })
}

/// xlvs-decap ships next to xlvsadm; PATH otherwise.
fn xlvs_decap() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("xlvs-decap")))
        .filter(|p| p.is_file())
        .map(|p: PathBuf| p.display().to_string())
        .unwrap_or_else(|| "xlvs-decap".into())
}

pub fn apply(change: &Change) -> Result<(), RealserverError> {
    match change {
        Change::Sysctl { key, to, .. } => write_sysctl(key, to),
        Change::Address { address, device } => run(
            "ip",
            &["addr", "add", &format!("{address}/32"), "dev", device],
        )
        .map(drop),
        Change::Module { name } => run("modprobe", &[name]).map(drop),
        Change::LinkUp { device } => run("ip", &["link", "set", device, "up"]).map(drop),
        Change::XdpDecap {
            interface,
            mode,
            pin,
        } => run(
            &xlvs_decap(),
            &[
                "attach",
                interface,
                "--mode",
                mode.as_str(),
                "--pin",
                &pin.display().to_string(),
            ],
        )
        .map(drop),
    }
}

pub fn undo(change: &Change) -> Result<(), RealserverError> {
    match change {
        Change::Sysctl { key, from, .. } => {
            // A device's key goes with its device (tunl0's with ipip):
            // nothing left to restore.
            if !super::host::sysctl_path(key).exists() {
                return Ok(());
            }
            write_sysctl(key, from)
        }
        Change::Address { address, device } => run(
            "ip",
            &["addr", "del", &format!("{address}/32"), "dev", device],
        )
        .map(drop),
        Change::Module { name } => run("modprobe", &["-r", name]).map(drop),
        Change::LinkUp { device } => run("ip", &["link", "set", device, "down"]).map(drop),
        Change::XdpDecap { pin, .. } => run(
            &xlvs_decap(),
            &["detach", "--pin", &pin.display().to_string()],
        )
        .map(drop),
    }
}

/// Makes `changes` in order, printing each; if one fails, undoes the ones
/// made before it (in reverse) and reports both.
pub fn apply_all(changes: &[Change]) -> Result<(), RealserverError> {
    for (i, change) in changes.iter().enumerate() {
        if let Err(e) = apply(change) {
            let failed_undo = undo_all(&changes[..i])
                .into_iter()
                .map(|(_, why)| why)
                .collect();
            return Err(RealserverError::Halfway {
                change: change.describe(),
                source: Box::new(e),
                rolled_back: i,
                failed_undo,
            });
        }
        println!("set      {}", change.describe());
    }
    Ok(())
}

/// Undoes `changes` in reverse, going on past failures; the ones that
/// failed, each with why.
pub fn undo_all(changes: &[Change]) -> Vec<(Change, String)> {
    let mut failures = Vec::new();
    for change in changes.iter().rev() {
        match undo(change) {
            Ok(()) => println!("undone   {}", change.describe_undo()),
            Err(e) => failures.push((change.clone(), format!("{}: {e}", change.describe_undo()))),
        }
    }
    failures
}
