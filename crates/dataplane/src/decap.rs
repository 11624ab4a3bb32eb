//! IPIP decapsulation for TUN real servers (`bpf/decap.c`), for hosts
//! whose kernel has no ipip module (or that would rather not create a
//! tunnel device): the XDP program strips the outer IPv4 header of IPIP
//! frames sent to one of its addresses and passes the inner packet (for
//! the VIP on lo) to the kernel.
//!
//! Attached with a pin directory, the attachment and the maps are pinned
//! there (`link`, `decap_addrs`, `decap_stats`) and outlive the process;
//! [`detach`] removes the directory, which detaches the program.

use crate::loader::{on_bpffs, test_run, Run};
use aya::maps::{HashMap, Map, MapData, PerCpuArray};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::xdp::XdpLink;
use aya::programs::{Xdp, XdpMode};
use aya::Ebpf;
use std::borrow::Borrow;
use std::net::Ipv4Addr;
use std::path::Path;

/// The compiled decapsulation object.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/decap.o"));

/// Counter names, by index of `decap_stats` (enum decap_stat in decap.c).
pub const DECAP_STAT_NAMES: &[&str] = &["decap", "pass_not_ours", "pass_malformed"];

/// Capacity of `decap_addrs` (max_entries in decap.c).
pub const MAX_ADDRESSES: usize = 64;

const PROGRAM: &str = "decap";
const ADDRS: &str = "decap_addrs";
const STATS: &str = "decap_stats";
/// The attachment's pin inside the pin directory.
const LINK: &str = "link";

#[derive(Debug, thiserror::Error)]
pub enum DecapError {
    #[error("loading the decap program: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("decap program: {0}")]
    Program(#[from] aya::programs::ProgramError),
    #[error("map {map}: {source}")]
    Map {
        map: &'static str,
        source: aya::maps::MapError,
    },
    #[error("the decap object has no {0}")]
    Missing(&'static str),
    #[error("interface {interface}: {why}")]
    Interface { interface: String, why: String },
    #[error("{count} addresses to decapsulate for; the program holds at most {MAX_ADDRESSES}")]
    TooManyAddresses { count: usize },
    #[error("attaching decap to {interface}: {source}")]
    Attach {
        interface: String,
        source: aya::programs::ProgramError,
    },
    #[error("pin {path}: {why}")]
    Pin { path: String, why: String },
}

fn pin_err(path: &Path) -> impl Fn(String) -> DecapError + '_ {
    move |why| DecapError::Pin {
        path: path.display().to_string(),
        why,
    }
}

fn map_err(map: &'static str) -> impl Fn(aya::maps::MapError) -> DecapError {
    move |source| DecapError::Map { map, source }
}

/// The loaded decapsulation program and its maps.
pub struct Decap {
    ebpf: Ebpf,
}

impl Decap {
    /// Loads the program, decapsulating IPIP sent to `addrs`. Nothing is
    /// attached yet.
    pub fn load(addrs: &[Ipv4Addr]) -> Result<Decap, DecapError> {
        if addrs.len() > MAX_ADDRESSES {
            return Err(DecapError::TooManyAddresses { count: addrs.len() });
        }
        let mut ebpf = Ebpf::load(OBJECT)?;
        let prog: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or(DecapError::Missing("program"))?
            .try_into()?;
        prog.load()?;
        let mut map: HashMap<_, [u8; 4], u8> =
            HashMap::try_from(ebpf.map_mut(ADDRS).ok_or(DecapError::Missing(ADDRS))?)
                .map_err(map_err(ADDRS))?;
        for a in addrs {
            map.insert(a.octets(), 1, 0).map_err(map_err(ADDRS))?;
        }
        Ok(Decap { ebpf })
    }

    fn program(&self) -> Result<&Xdp, DecapError> {
        let p = self
            .ebpf
            .program(PROGRAM)
            .ok_or(DecapError::Missing("program"))?;
        Ok(p.try_into()?)
    }

    /// Runs one frame through the program (BPF_PROG_TEST_RUN).
    pub fn run(&self, packet: &[u8]) -> Result<Run, DecapError> {
        Ok(test_run(self.program()?, packet, 1)?)
    }

    /// The counters, summed over CPUs, by name.
    pub fn stats(&self) -> Result<Vec<(&'static str, u64)>, DecapError> {
        let map = self.ebpf.map(STATS).ok_or(DecapError::Missing(STATS))?;
        sum_stats(&PerCpuArray::try_from(map).map_err(map_err(STATS))?)
    }

    /// Attaches to `interface`. With `pin` (a directory on a bpf
    /// filesystem, created if missing) the attachment and the maps are
    /// pinned there and stay after this process exits; without it the
    /// program is detached when this value is dropped.
    pub fn attach(
        &mut self,
        interface: &str,
        mode: XdpMode,
        pin: Option<&Path>,
    ) -> Result<(), DecapError> {
        let Some(dir) = pin else {
            let prog = self.program_mut()?;
            prog.attach(interface, mode)
                .map_err(attach_err(interface))?;
            return Ok(());
        };
        let created = prepare_pin_dir(dir)?;
        let pinned = self.attach_pinned(interface, mode, dir);
        if pinned.is_err() {
            // The link is dropped (detached); what we pinned goes too.
            let _ = remove_pins(dir, created);
        }
        pinned
    }

    fn program_mut(&mut self) -> Result<&mut Xdp, DecapError> {
        let p = self
            .ebpf
            .program_mut(PROGRAM)
            .ok_or(DecapError::Missing("program"))?;
        Ok(p.try_into()?)
    }

    fn attach_pinned(
        &mut self,
        interface: &str,
        mode: XdpMode,
        dir: &Path,
    ) -> Result<(), DecapError> {
        let prog = self.program_mut()?;
        let id = prog
            .attach(interface, mode)
            .map_err(attach_err(interface))?;
        let link = prog.take_link(id).map_err(attach_err(interface))?;
        let fd = FdLink::try_from(link).map_err(|e| {
            pin_err(dir)(format!(
                "this kernel attaches XDP without a link that can be pinned ({e})"
            ))
        })?;
        let at = dir.join(LINK);
        fd.pin(&at).map_err(|e| pin_err(&at)(e.to_string()))?;
        for name in [ADDRS, STATS] {
            let at = dir.join(name);
            let map = self.ebpf.map(name).ok_or(DecapError::Missing(name))?;
            map.pin(&at).map_err(|e| pin_err(&at)(e.to_string()))?;
        }
        Ok(())
    }
}

fn attach_err(interface: &str) -> impl Fn(aya::programs::ProgramError) -> DecapError + '_ {
    move |source| DecapError::Attach {
        interface: interface.to_string(),
        source,
    }
}

/// Checks the pin directory (it must not hold an attachment already) and
/// creates it if needed; true if it did.
fn prepare_pin_dir(dir: &Path) -> Result<bool, DecapError> {
    let bad = pin_err(dir);
    if dir.join(LINK).exists() {
        return Err(bad(
            "already holds an attachment (xlvs-decap detach --pin it first)".into(),
        ));
    }
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    if !on_bpffs(dir) {
        if created {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(bad("not on a bpf filesystem (mount -t bpf bpf DIR)".into()));
    }
    Ok(created)
}

/// Removes our pins from `dir`, and `dir` itself when asked and empty.
fn remove_pins(dir: &Path, remove_dir: bool) -> std::io::Result<()> {
    for name in [LINK, ADDRS, STATS] {
        let at = dir.join(name);
        if at.exists() {
            std::fs::remove_file(at)?;
        }
    }
    if remove_dir && std::fs::read_dir(dir)?.next().is_none() {
        std::fs::remove_dir(dir)?;
    }
    Ok(())
}

/// Detaches the program pinned in `dir`: removes its pins, then the
/// directory if nothing else is in it. Refuses a directory without a
/// pinned XDP attachment (another program's pins).
pub fn detach(dir: &Path) -> Result<(), DecapError> {
    let link_path = dir.join(LINK);
    let bad = pin_err(&link_path);
    if !link_path.exists() {
        return Err(bad("no attachment pinned here".into()));
    }
    let pinned = PinnedLink::from_pin(&link_path).map_err(|e| bad(e.to_string()))?;
    // Checks that it is an XDP link; held until the pins are gone.
    let _link = XdpLink::try_from(FdLink::from(pinned))
        .map_err(|e| bad(format!("not an XDP attachment: {e}")))?;
    remove_pins(dir, true).map_err(|e| pin_err(dir)(e.to_string()))
}

/// The counters of the program pinned in `dir`.
pub fn pinned_stats(dir: &Path) -> Result<Vec<(&'static str, u64)>, DecapError> {
    let path = dir.join(STATS);
    if !path.exists() {
        return Err(pin_err(&path)("no decap counters pinned here".into()));
    }
    let data = MapData::from_pin(&path).map_err(map_err(STATS))?;
    let map = Map::from_map_data(data).map_err(map_err(STATS))?;
    sum_stats(&PerCpuArray::try_from(map).map_err(map_err(STATS))?)
}

fn sum_stats<T: Borrow<MapData>>(
    map: &PerCpuArray<T, u64>,
) -> Result<Vec<(&'static str, u64)>, DecapError> {
    let mut out = Vec::with_capacity(DECAP_STAT_NAMES.len());
    for (i, name) in DECAP_STAT_NAMES.iter().enumerate() {
        let per_cpu = map.get(&(i as u32), 0).map_err(map_err(STATS))?;
        out.push((*name, per_cpu.iter().sum()));
    }
    Ok(out)
}

/// The IPv4 addresses of an interface: what a real server receives IPIP
/// on by default.
pub fn interface_addresses(interface: &str) -> Result<Vec<Ipv4Addr>, DecapError> {
    let bad = |why: String| DecapError::Interface {
        interface: interface.to_string(),
        why,
    };
    nix::net::if_::if_nametoindex(interface).map_err(|_| bad("no such interface".into()))?;
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| bad(e.to_string()))?;
    Ok(addrs
        .filter(|a| a.interface_name == interface)
        .filter_map(|a| a.address.and_then(|s| s.as_sockaddr_in().map(|s| s.ip())))
        .collect())
}
