//! `xlvsadm realserver up|down|status`: sets up a DR or TUN real server in
//! one command (the VIP on lo, the ARP sysctls, TUN's decapsulation) and
//! undoes exactly what it did. The plan is pure (plan.rs), the host is
//! read in host.rs and changed in apply.rs, and what was changed is
//! recorded in state.rs.

pub mod apply;
pub mod host;
pub mod plan;
pub mod state;

use plan::{Decap, Mode, Request, XdpMode};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum RealserverError {
    #[error("{0:?} is not an IPv4 address: --vip takes one, e.g. 192.0.2.10")]
    NotIpv4(String),
    #[error("realserver {0} changes the host's network setup and must run as root")]
    NotRoot(&'static str),
    #[error("--decap goes with --mode tun only (DR needs no decapsulation)")]
    DecapWithoutTun,
    #[error("--decap xdp needs --interface: the interface the tunnelled packets arrive on")]
    NoInterface,
    #[error("--interface, --xdp-mode and --pin go with --mode tun --decap xdp")]
    XdpOptionsWithoutXdp,
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error("{what}: {why}")]
    Step { what: String, why: String },
    #[error(
        "could not make {change}: {source}; undid the {rolled_back} changes made before it{}",
        failed_undo_text(failed_undo)
    )]
    Halfway {
        change: String,
        source: Box<RealserverError>,
        rolled_back: usize,
        failed_undo: Vec<String>,
    },
    #[error("could not undo everything (down again retries these): {}", .0.join("; "))]
    Undo(Vec<String>),
    #[error("{path}: {source}")]
    State {
        path: String,
        source: std::io::Error,
    },
    #[error("bad state file {path}: {why}")]
    BadState { path: String, why: String },
}

fn failed_undo_text(failed: &[String]) -> String {
    if failed.is_empty() {
        String::new()
    } else {
        format!(", but these could not be undone: {}", failed.join("; "))
    }
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// Make this host a real server for VIP: what is missing is set up,
    /// what is already in place is left alone, and what was changed is
    /// recorded for `down`.
    Up(Options),
    /// Undo exactly what `up` changed for VIP (nothing else).
    Down {
        #[arg(long, value_name = "VIP")]
        vip: String,
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// What is in place and what is missing; exits 1 when not ready.
    Status(Options),
}

#[derive(clap::Args)]
pub struct Options {
    /// The virtual IPv4 address the directors forward to this host.
    #[arg(long, value_name = "VIP")]
    vip: String,
    /// How the directors forward (default dr; `status` defaults to what
    /// `up` recorded).
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// TUN only: who strips the outer IPv4 header: the kernel's ipip
    /// module (tunl0), or xlvs-decap's XDP program.
    #[arg(long, value_enum)]
    decap: Option<DecapKind>,
    /// --decap xdp: the interface the tunnelled packets arrive on.
    #[arg(long, value_name = "IFACE")]
    interface: Option<String>,
    /// --decap xdp: native needs a driver with XDP; generic works anywhere.
    #[arg(long, value_enum)]
    xdp_mode: Option<XdpMode>,
    /// --decap xdp: the bpf filesystem directory to pin it in (default
    /// /sys/fs/bpf/xlvs-decap-IFACE).
    #[arg(long, value_name = "DIR")]
    pin: Option<PathBuf>,
    /// Where the record of changes goes (default /run/xlvs/realserver,
    /// a directory of its own for each network namespace).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DecapKind {
    Kernel,
    Xdp,
}

pub fn parse_vip(text: &str) -> Result<Ipv4Addr, RealserverError> {
    text.parse()
        .map_err(|_| RealserverError::NotIpv4(text.to_string()))
}

/// The request the options describe, checked before anything changes.
pub fn request(o: &Options, mode: Mode) -> Result<Request, RealserverError> {
    let vip = parse_vip(&o.vip)?;
    let xdp_options = o.interface.is_some() || o.xdp_mode.is_some() || o.pin.is_some();
    let decap = match (mode, o.decap.unwrap_or(DecapKind::Kernel)) {
        (Mode::Dr, _) if o.decap.is_some() => return Err(RealserverError::DecapWithoutTun),
        (Mode::Dr, _) => None,
        (Mode::Tun, DecapKind::Kernel) => Some(Decap::Kernel),
        (Mode::Tun, DecapKind::Xdp) => {
            let interface = o.interface.clone().ok_or(RealserverError::NoInterface)?;
            Some(Decap::Xdp {
                pin: o.pin.clone().unwrap_or_else(|| {
                    PathBuf::from(format!("/sys/fs/bpf/xlvs-decap-{interface}"))
                }),
                mode: o.xdp_mode.unwrap_or(XdpMode::Native),
                interface,
            })
        }
    };
    if xdp_options && !matches!(decap, Some(Decap::Xdp { .. })) {
        return Err(RealserverError::XdpOptionsWithoutXdp);
    }
    Ok(Request { vip, mode, decap })
}

/// The effective user id from /proc/self/status's "Uid:" line (real,
/// effective, saved, filesystem).
fn euid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn require_root(what: &'static str) -> Result<(), RealserverError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match euid(&status) {
        Some(0) => Ok(()),
        _ => Err(RealserverError::NotRoot(what)),
    }
}

fn state_dir(given: &Option<PathBuf>) -> PathBuf {
    given.clone().unwrap_or_else(state::default_dir)
}

pub fn run(action: &Action) -> ExitCode {
    let result = match action {
        Action::Up(o) => up(o).map(|()| true),
        Action::Down { vip, state_dir } => down(vip, state_dir).map(|()| true),
        Action::Status(o) => status(o),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xlvsadm: realserver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn up(o: &Options) -> Result<(), RealserverError> {
    let req = request(o, o.mode.unwrap_or(Mode::Dr))?;
    require_root("up")?;
    let changes = plan::plan(&req, &host::read(&req)?)?;
    let path = state::path(&state_dir(&o.state_dir), req.vip);
    let earlier = state::load(&path)?;
    if changes.is_empty() {
        println!(
            "{} is ready ({}): nothing to change",
            req.vip,
            req.mode.as_str()
        );
        return Ok(());
    }
    apply::apply_all(&changes)?;
    let mut record = earlier.unwrap_or(state::Record {
        request: req.clone(),
        netns: state::current_netns(),
        changes: Vec::new(),
    });
    record.request = req;
    record.changes.extend(changes.iter().cloned());
    if let Err(e) = state::save(&path, &record) {
        // Without a record `down` could not undo them: take them back.
        let failed_undo = apply::undo_all(&changes)
            .into_iter()
            .map(|(_, why)| why)
            .collect();
        return Err(RealserverError::Halfway {
            change: format!("the record {}", path.display()),
            source: Box::new(e),
            rolled_back: changes.len(),
            failed_undo,
        });
    }
    println!("recorded in {}", path.display());
    Ok(())
}

fn down(vip: &str, dir: &Option<PathBuf>) -> Result<(), RealserverError> {
    let vip = parse_vip(vip)?;
    require_root("down")?;
    let dir = state_dir(dir);
    let path = state::path(&dir, vip);
    let Some(record) = state::load(&path)? else {
        println!(
            "nothing recorded for {vip} in this network namespace ({}): nothing to undo",
            path.display()
        );
        return Ok(());
    };
    let others = state::others(&dir, vip);
    let (now, hand_over) = plan::split_for_down(&record.changes, !others.is_empty());
    if let Some(other) = others.first().filter(|_| !hand_over.is_empty()) {
        let mut r = state::load(other)?.expect("listed as up");
        // Made before the other VIP's own changes: undone after them.
        r.changes.splice(0..0, hand_over.iter().cloned());
        state::save(other, &r)?;
        println!(
            "kept     {} change(s) {} still relies on",
            hand_over.len(),
            r.request.vip
        );
    }
    let failures = apply::undo_all(&now);
    if !failures.is_empty() {
        // Keep what is still in place, in the order it was made.
        let (mut left, why): (Vec<_>, Vec<_>) = failures.into_iter().unzip();
        left.reverse();
        state::save(
            &path,
            &state::Record {
                changes: left,
                ..record
            },
        )?;
        return Err(RealserverError::Undo(why));
    }
    state::remove(&path)?;
    // Directories go with their last record (remove_dir leaves one that
    // is not empty); only ours, under BASE.
    if dir.starts_with(state::BASE) {
        for d in dir.ancestors().take_while(|d| d.starts_with(state::BASE)) {
            let _ = std::fs::remove_dir(d);
        }
    }
    Ok(())
}

/// Prints each want as in place or missing; whether all are in place.
fn status(o: &Options) -> Result<bool, RealserverError> {
    let vip = parse_vip(&o.vip)?;
    let recorded = state::load(&state::path(&state_dir(&o.state_dir), vip))?;
    let req = match (o.mode, &recorded) {
        (None, Some(r)) => r.request.clone(),
        (mode, _) => request(o, mode.unwrap_or(Mode::Dr))?,
    };
    let host = host::read(&req)?;
    let mut ready = true;
    for want in plan::wants(&req) {
        let met = plan::is_met(&want, &host);
        ready &= met;
        let mark = if met { "ok" } else { "missing" };
        println!("{mark:<8} {}", want.describe(&host));
    }
    let by_us = recorded.map_or(0, |r| r.changes.len());
    println!(
        "{} {} real server: {} ({by_us} change(s) recorded by `realserver up`)",
        vip,
        req.mode.as_str(),
        if ready { "ready" } else { "NOT READY" }
    );
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(vip: &str) -> Options {
        Options {
            vip: vip.into(),
            mode: None,
            decap: None,
            interface: None,
            xdp_mode: None,
            pin: None,
            state_dir: None,
        }
    }

    #[test]
    fn bad_input_is_refused_with_what_is_wrong() {
        let e = request(&options("2001:db8::1"), Mode::Dr).unwrap_err();
        assert!(e.to_string().contains("not an IPv4 address"), "{e}");
        let e = request(&options("192.0.2.300"), Mode::Dr).unwrap_err();
        assert!(matches!(e, RealserverError::NotIpv4(_)));
        let mut o = options("192.0.2.10");
        o.decap = Some(DecapKind::Xdp);
        assert!(matches!(
            request(&o, Mode::Dr),
            Err(RealserverError::DecapWithoutTun)
        ));
        assert!(matches!(
            request(&o, Mode::Tun),
            Err(RealserverError::NoInterface)
        ));
        let mut o = options("192.0.2.10");
        o.interface = Some("eth0".into());
        assert!(matches!(
            request(&o, Mode::Tun),
            Err(RealserverError::XdpOptionsWithoutXdp)
        ));
    }

    #[test]
    fn tun_defaults_to_the_kernel_and_xdp_to_a_pin_per_interface() {
        let o = options("192.0.2.10");
        assert_eq!(request(&o, Mode::Tun).unwrap().decap, Some(Decap::Kernel));
        let mut o = options("192.0.2.10");
        o.decap = Some(DecapKind::Xdp);
        o.interface = Some("eth0".into());
        assert_eq!(
            request(&o, Mode::Tun).unwrap().decap,
            Some(Decap::Xdp {
                interface: "eth0".into(),
                mode: XdpMode::Native,
                pin: "/sys/fs/bpf/xlvs-decap-eth0".into()
            })
        );
    }

    #[test]
    fn effective_uid_is_the_second_of_four() {
        assert_eq!(euid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(0));
        assert_eq!(euid("Uid:\t0\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(euid(""), None);
    }
}
