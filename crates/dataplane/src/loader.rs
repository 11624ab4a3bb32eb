//! Loading the program with the daemon's limits, attaching it, and the
//! handles on its maps.

use crate::abi::{
    Conn, DstKey, DstReals, FlowKey, Globals, IfMac, IfSlot, NatBack, RealLoad, RealNextHop,
    SchedDests, SvcKey, SvcVal, Tmpl, TmplKey, Traffic, G_F_ADDRS, G_F_FLOW_CACHE, G_F_NAT_REALS,
    G_F_SYNC, IF_SLOTS, MAX_LOCAL_ADDRS, STAT_NAMES,
};
use crate::clock::Clock;
use crate::reals::RealSlots;
use aya::maps::{Array, ArrayOfMaps, HashMap, MapData, PerCpuArray};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::xdp::XdpLink;
use aya::programs::{TestRun, TestRunOptions, Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use xlvs_maglev::TableSize;

/// Capacity of the maps, fixed when the program is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub services: u32,
    pub reals: u32,
    pub conntrack: u32,
    /// Entries of the NAT/FULLNAT way back (one per NAT or FULLNAT flow):
    /// LRU maps are allocated in full when loaded, so a node without such
    /// services keeps this small.
    pub nat: u32,
    /// Maglev table size M of every service.
    pub table_size: TableSize,
    /// Flow cache entries per CPU: a power of two, or 0 for no cache
    /// (bpf/flowcache.h).
    pub flow_cache: u32,
    /// Bytes of the `sync_events` ring (flow-state sync, bpf/sync.h): a
    /// power of two, at least a page. Allocated whether sync is on or not.
    pub sync_ring: u32,
}

/// Flow cache entries per CPU unless configured (72 bytes each).
pub const DEFAULT_FLOW_CACHE: u32 = 16384;
/// The largest flow cache, per CPU.
pub const MAX_FLOW_CACHE: u32 = 1 << 20;
/// The `sync_events` ring unless configured: 4 MiB, about 87,000 events
/// (48 bytes each with the ring's header).
pub const DEFAULT_SYNC_RING: u32 = 4 << 20;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            services: 256,
            reals: 4096,
            conntrack: 1 << 20,
            nat: 1 << 20,
            table_size: TableSize::DEFAULT,
            flow_cache: DEFAULT_FLOW_CACHE,
            sync_ring: DEFAULT_SYNC_RING,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error("loading the XDP program: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("XDP program: {0}")]
    Program(#[from] aya::programs::ProgramError),
    #[error("map {map}: reading in batches: {source}")]
    Batch {
        map: &'static str,
        source: std::io::Error,
    },
    #[error("map {map}: {source}")]
    Map {
        map: &'static str,
        source: aya::maps::MapError,
    },
    #[error("the XDP object has no {0}")]
    Missing(&'static str),
    #[error("service id {id} is beyond the limit of {limit} services")]
    TooManyServices { id: u32, limit: u32 },
    #[error("{count} FULLNAT local addresses but the limit is {limit}")]
    TooManyLocalAddresses { count: usize, limit: usize },
    #[error("{needed} real servers needed but the limit is {limit}")]
    TooManyReals { needed: usize, limit: u32 },
    #[error("flow cache of {0} entries: a power of two up to {MAX_FLOW_CACHE}, or 0 for none")]
    FlowCacheSize(u32),
    #[error("sync ring of {0} bytes: a power of two of at least a page ({1} bytes)")]
    SyncRingSize(u32, usize),
    #[error("the sync_events ring was taken already (take_sync_events is called once)")]
    SyncEventsTaken,
    #[error("peer entry {flow}: {why}")]
    PeerEntry { flow: String, why: &'static str },
    #[error("service {id}: {why}")]
    ServiceSpec { id: u32, why: &'static str },
    #[error("Maglev: {0}")]
    Maglev(#[from] xlvs_maglev::MaglevError),
    #[error("sequence: {0}")]
    Sequence(#[from] crate::sched_model::TooLong),
    #[error("{count} reals with a weight, but a connection-count or locality scheduler takes at most {limit}")]
    TooManyDests { count: usize, limit: usize },
    #[error("pin directory {path}: {why}")]
    Pins { path: String, why: String },
    #[error(
        "the XDP program does not fit the maps pinned in {path} (pinned by an older xlvsd? \
         stop it with --cleanup, or remove {path}, then start again): {source}"
    )]
    PinnedLayout {
        path: String,
        source: aya::programs::ProgramError,
    },
    #[error("the data plane's clock: {0}")]
    Clock(&'static str),
    #[error("attaching XDP to {interface}: {source}")]
    Attach {
        interface: String,
        source: aya::programs::ProgramError,
    },
}

pub(crate) fn map_err(map: &'static str) -> impl Fn(aya::maps::MapError) -> DataplaneError {
    move |source| DataplaneError::Map { map, source }
}

pub struct Dataplane {
    pub(crate) ebpf: Ebpf,
    pub(crate) limits: Limits,
    pub(crate) services: HashMap<MapData, SvcKey, SvcVal>,
    pub(crate) reals: Array<MapData, crate::abi::Real>,
    pub(crate) maglev: ArrayOfMaps<MapData, Array<MapData, u32>>,
    globals: Array<MapData, Globals>,
    pub(crate) conntrack: HashMap<MapData, FlowKey, Conn>,
    pub(crate) nat_reverse: HashMap<MapData, FlowKey, NatBack>,
    pub(crate) sched_dests: Array<MapData, SchedDests>,
    pub(crate) real_load: Array<MapData, RealLoad>,
    pub(crate) templates: HashMap<MapData, TmplKey, Tmpl>,
    pub(crate) locality: HashMap<MapData, DstKey, DstReals>,
    pub(crate) next_hops: Array<MapData, RealNextHop>,
    /// The next hops set, by real address (slots taken later get theirs).
    pub(crate) hops: std::collections::BTreeMap<std::net::Ipv4Addr, crate::NextHop>,
    /// Services whose reals' connections XDP counts (`SVC_F_COUNTS`).
    pub(crate) counted: BTreeSet<u32>,
    pub(crate) local_addrs: Array<MapData, [u8; 4]>,
    /// What each address is to us (src/addrs.rs).
    pub(crate) addrs: crate::addrs::Addresses,
    if_macs: HashMap<MapData, u32, IfMac>,
    if_slots: Array<MapData, IfSlot>,
    /// The kernel's HZ (connection entries are stamped in jiffies).
    pub(crate) hz: u32,
    /// The flow cache generation last written to globals.
    gen: u32,
    stats: PerCpuArray<MapData, u64>,
    svc_stats: PerCpuArray<MapData, Traffic>,
    real_stats: PerCpuArray<MapData, Traffic>,
    pub(crate) slots: RealSlots,
    /// Where maps and links are pinned, if they are.
    pins: Option<PathBuf>,
}

/// The shortest timeout in jiffies (a second if none is set).
fn shortest_timeout_ticks(g: &Globals, hz: u32) -> u64 {
    let shortest = [g.tcp_timeout_s, g.tcpfin_timeout_s, g.udp_timeout_s]
        .into_iter()
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(1);
    u64::from(shortest) * u64::from(hz)
}

/// How long a flow cache entry is used: a second, or less than half the
/// shortest timeout, so a live flow refreshes its connection entry (on the
/// slow path) well before it could expire.
fn flow_cache_ticks(g: &Globals, hz: u32) -> u32 {
    (shortest_timeout_ticks(g, hz) / 2)
        .min(u64::from(hz))
        .max(1) as u32
}

/// Until the daemon sets `sync_refresh_ticks`: a third of the shortest
/// timeout, so an idle flow's copies on other directors are refreshed
/// about three times before they could expire.
fn default_sync_refresh_ticks(g: &Globals, hz: u32) -> u32 {
    (shortest_timeout_ticks(g, hz) / 3).clamp(1, u64::from(u32::MAX)) as u32
}

/// The smallest NAT table (an LRU map wants room on every CPU).
pub const MIN_NAT_ENTRIES: u32 = 256;

/// Persistence templates: one per client (masked) and service, and a
/// client usually has several connections, so a quarter of the
/// connection table (at least 256): 262,144 for a million connections,
/// about 24 MB. When full, the least recently used go first: those of
/// idle clients.
pub fn template_entries(conntrack: u32) -> u32 {
    (conntrack / 4).max(256)
}

/// lblc and lblcr: one entry per destination address and service; a
/// sixteenth of the connection table (at least 256).
pub fn locality_entries(conntrack: u32) -> u32 {
    (conntrack / 16).max(256)
}

/// Every map of the program but the flow cache, the SYN window, the sync
/// ring, the rr/wrr/fo cursors and the schedulers' scratch room, pinned
/// under the pin directory by name. Each program load
/// starts with an empty flow cache of its own size: entries are a
/// moment's shortcut, not state. The sync ring is not pinned either: it
/// holds events on their way to the daemon that reads it, and a new
/// daemon starts its peers over with a bulk transfer of the connection
/// table (`Dataplane::sync_entries`) rather than with what an old one left
/// unread.
const MAPS: &[&str] = &[
    "services",
    "if_macs",
    "if_slots",
    "reals",
    "maglev",
    "conntrack",
    "nat_reverse",
    "sched_dests",
    "real_load",
    "templates",
    "locality",
    "local_addrs",
    "addr_bits",
    "globals",
    "stats",
    "svc_stats",
    "real_stats",
    // Shared by the program still attached and the one that replaces it,
    // so that a restarted daemon's clearing reaches both (next_hops.rs).
    "next_hops",
];

/// The magic number of a bpf filesystem (statfs f_type).
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096)
}

pub(crate) fn on_bpffs(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills the struct we own; the path is NUL-terminated.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == BPF_FS_MAGIC
    }
}

fn take<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, DataplaneError>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or(DataplaneError::Missing(name))?;
    T::try_from(map).map_err(map_err(name))
}

impl Dataplane {
    /// Loads the program and creates its maps with `limits`. Nothing is
    /// attached yet.
    pub fn load(limits: Limits) -> Result<Dataplane, DataplaneError> {
        Self::load_pinned(limits, None)
    }

    /// Like `load`, with the maps pinned in `pins` (a directory on a bpf
    /// filesystem): maps a previous daemon pinned there are reused with
    /// their contents (connections, tables, counters), so a restart keeps
    /// every flow on its real.
    pub fn load_pinned(limits: Limits, pins: Option<&Path>) -> Result<Dataplane, DataplaneError> {
        if limits.services > u32::from(u16::MAX) + 1 {
            return Err(DataplaneError::TooManyServices {
                id: limits.services,
                limit: u32::from(u16::MAX) + 1,
            });
        }
        let fc = limits.flow_cache;
        if fc > MAX_FLOW_CACHE || (fc != 0 && !fc.is_power_of_two()) {
            return Err(DataplaneError::FlowCacheSize(fc));
        }
        let page = page_size();
        let ring = limits.sync_ring;
        if !ring.is_power_of_two() || (ring as usize) < page {
            return Err(DataplaneError::SyncRingSize(ring, page));
        }
        let mut loader = EbpfLoader::new();
        let mut reused = false;
        if let Some(dir) = pins {
            let bad = |why: String| DataplaneError::Pins {
                path: dir.display().to_string(),
                why,
            };
            std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
            if !on_bpffs(dir) {
                return Err(bad("not on a bpf filesystem (mount -t bpf bpf DIR)".into()));
            }
            for name in MAPS {
                let path = dir.join(name);
                reused |= path.exists();
                loader.map_pin_path(name, path);
            }
        }
        let mut ebpf = loader
            .map_max_entries("services", limits.services)
            .map_max_entries("maglev", limits.services)
            .map_max_entries("svc_stats", limits.services)
            .map_max_entries("reals", limits.reals)
            .map_max_entries("real_stats", limits.reals)
            .map_max_entries("conntrack", limits.conntrack)
            .map_max_entries("nat_reverse", limits.nat.max(MIN_NAT_ENTRIES))
            .map_max_entries("sched_cursor", limits.services)
            .map_max_entries("sched_dests", limits.services)
            .map_max_entries("real_load", limits.reals)
            .map_max_entries("next_hops", limits.reals)
            .map_max_entries("templates", template_entries(limits.conntrack))
            .map_max_entries("locality", locality_entries(limits.conntrack))
            .map_max_entries("flow_cache", fc.max(1))
            .map_max_entries("sync_events", ring)
            .load(crate::OBJECT)?;
        for name in ["xlvs", "baseline", "ct_insert", "pass", "clock"] {
            let prog: &mut Xdp = ebpf
                .program_mut(name)
                .ok_or(DataplaneError::Missing("program"))?
                .try_into()?;
            prog.load().map_err(|e| match pins {
                // The verifier checks the program against the pinned maps:
                // ones an older xlvsd pinned may have another layout.
                Some(dir) if reused => DataplaneError::PinnedLayout {
                    path: dir.display().to_string(),
                    source: e,
                },
                _ => e.into(),
            })?;
        }
        let mut dp = Dataplane {
            services: take(&mut ebpf, "services")?,
            reals: take(&mut ebpf, "reals")?,
            maglev: take(&mut ebpf, "maglev")?,
            globals: take(&mut ebpf, "globals")?,
            conntrack: take(&mut ebpf, "conntrack")?,
            nat_reverse: take(&mut ebpf, "nat_reverse")?,
            sched_dests: take(&mut ebpf, "sched_dests")?,
            real_load: take(&mut ebpf, "real_load")?,
            templates: take(&mut ebpf, "templates")?,
            locality: take(&mut ebpf, "locality")?,
            next_hops: take(&mut ebpf, "next_hops")?,
            hops: Default::default(),
            counted: BTreeSet::new(),
            local_addrs: take(&mut ebpf, "local_addrs")?,
            addrs: crate::addrs::Addresses::new(take(&mut ebpf, "addr_bits")?),
            if_macs: take(&mut ebpf, "if_macs")?,
            if_slots: take(&mut ebpf, "if_slots")?,
            hz: 0,
            gen: 0,
            stats: take(&mut ebpf, "stats")?,
            svc_stats: take(&mut ebpf, "svc_stats")?,
            real_stats: take(&mut ebpf, "real_stats")?,
            slots: RealSlots::new(limits.reals),
            ebpf,
            limits,
            pins: pins.map(Path::to_path_buf),
        };
        let clock: &Xdp = dp
            .ebpf
            .program("clock")
            .ok_or(DataplaneError::Missing("program"))?
            .try_into()?;
        dp.hz = crate::clock::hz(clock)?;
        if reused {
            dp.recover_slots()?;
            dp.clear_next_hops()?;
            // Pins of an earlier run on this kernel: the same HZ. Its
            // flow cache entries are stale from here on.
            let g = dp.globals()?;
            dp.gen = g.gen;
            dp.set_globals(g)?;
            tracing::info!(pins = %pins.unwrap_or(Path::new("")).display(), "reusing pinned maps: connections and counters kept");
        } else {
            dp.set_globals(Globals {
                tun_src: [0; 4],
                // ipvsadm --set defaults: tcp 900 s, tcpfin 120 s, udp 300 s.
                tcp_timeout_s: 900,
                tcpfin_timeout_s: 120,
                udp_timeout_s: 300,
                ..Globals::default()
            })?;
        }
        // From the (maybe pinned) services, reals and local addresses.
        dp.recover_addresses()?;
        Ok(dp)
    }

    /// Rebuilds the real-slot allocation from a pinned `reals` map, so
    /// connection entries keep naming the same reals.
    fn recover_slots(&mut self) -> Result<(), DataplaneError> {
        let mut used = Vec::new();
        for slot in 0..self.limits.reals {
            let r = self.reals.get(&slot, 0).map_err(map_err("reals"))?;
            if r.flags != 0 {
                let addr = std::net::Ipv4Addr::from(r.addr);
                used.push((slot, u32::from(r.svc), addr, u16::from_be_bytes(r.port)));
            }
        }
        self.slots = RealSlots::recover(self.limits.reals, &used);
        Ok(())
    }

    /// Removes the pins (maps and links): the program detaches once this
    /// process lets go of it. For `xlvsd --cleanup`.
    pub fn unpin(&mut self) -> Result<(), DataplaneError> {
        let Some(dir) = &self.pins else {
            return Ok(());
        };
        let bad = |e: std::io::Error| DataplaneError::Pins {
            path: dir.display().to_string(),
            why: e.to_string(),
        };
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(bad)?;
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sets the program's settings; `hz` is always the measured one and
    /// the flow cache settings are the loader's; with G_F_SYNC, a
    /// `sync_refresh_ticks` of 0 becomes a third of the shortest timeout.
    /// Every call makes the flow cache's entries stale.
    pub fn set_globals(&mut self, g: Globals) -> Result<(), DataplaneError> {
        // 0 marks an entry never stored.
        self.gen = self.gen.wrapping_add(1).max(1);
        let fc = self.limits.flow_cache;
        let mut flags =
            (g.flags & !(G_F_FLOW_CACHE | G_F_ADDRS | G_F_NAT_REALS)) | self.addrs.flags;
        if fc > 0 {
            flags |= G_F_FLOW_CACHE;
        }
        let sync_refresh_ticks = if g.flags & G_F_SYNC != 0 && g.sync_refresh_ticks == 0 {
            default_sync_refresh_ticks(&g, self.hz)
        } else {
            g.sync_refresh_ticks
        };
        let g = Globals {
            hz: self.hz,
            gen: self.gen,
            sync_refresh_ticks,
            flags,
            flow_cache_mask: fc.max(1) - 1,
            flow_cache_ticks: flow_cache_ticks(&g, self.hz),
            ..g
        };
        self.globals.set(0, g, 0).map_err(map_err("globals"))
    }

    /// Makes every flow cache entry stale, so no packet is forwarded by
    /// what was true before: after any change of services or reals (done
    /// here), and of the kernel's routes, neighbours or links (the daemon
    /// calls it on their events), whose answers the cache keeps for TUN,
    /// NAT and FULLNAT flows.
    pub fn invalidate_flow_cache(&mut self) -> Result<(), DataplaneError> {
        let g = self.globals()?;
        self.set_globals(g)
    }

    /// The data plane's time now, to age connection entries by.
    pub fn clock(&self) -> Result<Clock, DataplaneError> {
        let (now, _) = crate::clock::sample(self.program("clock")?)?;
        Ok(Clock { now, hz: self.hz })
    }

    pub fn globals(&self) -> Result<Globals, DataplaneError> {
        self.globals.get(&0, 0).map_err(map_err("globals"))
    }

    fn program(&self, name: &str) -> Result<&Xdp, DataplaneError> {
        let p = self
            .ebpf
            .program(name)
            .ok_or(DataplaneError::Missing("program"))?;
        Ok(p.try_into()?)
    }

    /// Records an interface's MAC: frames arriving there for another MAC
    /// are passed to the kernel, not forwarded.
    pub fn set_interface_mac(&mut self, ifindex: u32, mac: [u8; 6]) -> Result<(), DataplaneError> {
        let v = IfMac { mac, pad: [0; 2] };
        self.if_macs
            .insert(ifindex, v, 0)
            .map_err(map_err("if_macs"))?;
        // The program looks in the array first; an interface whose slot
        // another one holds is found in if_macs.
        let slot = ifindex % IF_SLOTS;
        let held = self.if_slots.get(&slot, 0).map_err(map_err("if_slots"))?;
        if held.ifindex == 0 || held.ifindex == ifindex {
            let s = IfSlot {
                ifindex,
                mac,
                pad: [0; 2],
            };
            self.if_slots.set(slot, s, 0).map_err(map_err("if_slots"))?;
        }
        Ok(())
    }

    /// Forgets interface `ifindex`'s MAC: the interface was deleted, and
    /// its index must not keep its array slot from another interface.
    pub fn forget_interface_mac(&mut self, ifindex: u32) -> Result<(), DataplaneError> {
        match self.if_macs.remove(&ifindex) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
            Err(e) => return Err(map_err("if_macs")(e)),
        }
        let slot = ifindex % IF_SLOTS;
        let held = self.if_slots.get(&slot, 0).map_err(map_err("if_slots"))?;
        if held.ifindex != ifindex {
            return Ok(());
        }
        // The program looks no further than a free slot: another interface
        // of the same slot, known only to if_macs until now, takes it.
        let heir = self
            .if_macs
            .iter()
            .filter_map(Result::ok)
            .find(|(index, _)| index % IF_SLOTS == slot);
        let s = heir.map_or(IfSlot::default(), |(ifindex, m)| IfSlot {
            ifindex,
            mac: m.mac,
            pad: [0; 2],
        });
        self.if_slots.set(slot, s, 0).map_err(map_err("if_slots"))
    }

    /// Attaches the balancer to an interface. With pins, the attachment
    /// is pinned too and outlives this process; a restarted daemon swaps
    /// its program into the pinned attachment in one step, so forwarding
    /// never stops.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<(), DataplaneError> {
        let link_pin = self.link_pin(interface);
        let prog: &mut Xdp = self
            .ebpf
            .program_mut("xlvs")
            .ok_or(DataplaneError::Missing("program"))?
            .try_into()?;
        let attach_err = |source| DataplaneError::Attach {
            interface: interface.to_string(),
            source,
        };
        if let Some(pin) = link_pin.as_ref().filter(|p| p.exists()) {
            let pinned = PinnedLink::from_pin(pin).map_err(|e| DataplaneError::Pins {
                path: pin.display().to_string(),
                why: e.to_string(),
            })?;
            let link =
                XdpLink::try_from(FdLink::from(pinned)).map_err(|e| DataplaneError::Pins {
                    path: pin.display().to_string(),
                    why: e.to_string(),
                })?;
            prog.attach_to_link(link).map_err(attach_err)?;
            tracing::info!(interface, "XDP program replaced in the pinned attachment");
            return Ok(());
        }
        let id = prog.attach(interface, mode).map_err(attach_err)?;
        if let Some(pin) = link_pin {
            let link = prog.take_link(id).map_err(attach_err)?;
            // A netlink attachment (old kernels) outlives us by itself.
            if let Ok(fd) = FdLink::try_from(link) {
                fd.pin(&pin).map_err(|e| DataplaneError::Pins {
                    path: pin.display().to_string(),
                    why: e.to_string(),
                })?;
            }
        }
        Ok(())
    }

    /// Attaches the balancer to an interface deleted and created again
    /// since it was attached: the old attachment went with the old
    /// interface, and a pin of it is left behind, defunct (the kernel
    /// refuses to put a program into it). The pin goes, and the program is
    /// attached and pinned anew.
    pub fn attach_again(&mut self, interface: &str, mode: XdpMode) -> Result<(), DataplaneError> {
        if let Some(pin) = self.link_pin(interface).filter(|p| p.exists()) {
            std::fs::remove_file(&pin).map_err(|e| DataplaneError::Pins {
                path: pin.display().to_string(),
                why: e.to_string(),
            })?;
        }
        self.attach(interface, mode)
    }

    /// Where the attachment to `interface` is pinned, with pins.
    fn link_pin(&self, interface: &str) -> Option<PathBuf> {
        self.pins
            .as_ref()
            .map(|d| d.join(format!("link-{interface}")))
    }

    /// Runs one packet through a program (`xlvs`, or the bench's
    /// `baseline` and `ct_insert`) with BPF_PROG_TEST_RUN: the action and
    /// the packet as it leaves.
    pub fn run(&self, program: &str, packet: &[u8], repeat: u32) -> Result<Run, DataplaneError> {
        Ok(test_run(self.program(program)?, packet, repeat)?)
    }

    /// Like `run`, as if the packet arrived on interface `ifindex` of the
    /// calling thread's network namespace (whose FIB and neighbours the
    /// program's forwarding lookups then see).
    pub fn run_on(
        &self,
        program: &str,
        packet: &[u8],
        repeat: u32,
        ifindex: u32,
    ) -> Result<Run, DataplaneError> {
        Ok(test_run_on(
            self.program(program)?,
            packet,
            repeat,
            Some(ifindex),
        )?)
    }

    /// Global counters, summed over CPUs, by name. A counter the pinned
    /// `stats` map of an older xlvsd has no slot for (counters are added
    /// at its end; the program's count() skips them) reads 0 until the
    /// pins are renewed (`--cleanup`).
    pub fn stats(&self) -> Result<Vec<(&'static str, u64)>, DataplaneError> {
        let mut out = Vec::with_capacity(STAT_NAMES.len());
        for (i, name) in STAT_NAMES.iter().enumerate() {
            let sum = match self.stats.get(&(i as u32), 0) {
                Ok(per_cpu) => per_cpu.iter().sum(),
                Err(aya::maps::MapError::KeyNotFound) => 0,
                Err(e) => return Err(map_err("stats")(e)),
            };
            out.push((*name, sum));
        }
        Ok(out)
    }

    pub fn stat(&self, name: &str) -> Result<u64, DataplaneError> {
        Ok(self
            .stats()?
            .into_iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| v))
    }

    /// Sets the FULLNAT local addresses (at most 64). Flows keep the
    /// address they have; new flows use the new list.
    pub fn set_local_addresses(
        &mut self,
        addrs: &[std::net::Ipv4Addr],
    ) -> Result<(), DataplaneError> {
        if addrs.len() > MAX_LOCAL_ADDRS {
            return Err(DataplaneError::TooManyLocalAddresses {
                count: addrs.len(),
                limit: MAX_LOCAL_ADDRS,
            });
        }
        for (i, a) in addrs.iter().enumerate() {
            self.local_addrs
                .set(i as u32, a.octets(), 0)
                .map_err(map_err("local_addrs"))?;
        }
        let mut g = self.globals()?;
        g.laddr_count = addrs.len() as u32;
        self.set_globals(g)?;
        self.sync_addresses(true)
    }

    /// Up to `limit` entries of the NAT/FULLNAT way back (flow as the real
    /// sends it -> the client's).
    pub fn nat_entries(&self, limit: usize) -> Vec<(FlowKey, NatBack)> {
        self.nat_reverse
            .iter()
            .filter_map(Result::ok)
            .take(limit)
            .collect()
    }

    /// Up to `limit` entries of the connection table, ours and peers'
    /// (`Conn::owner`, `Conn::is_peer`).
    pub fn connections(&self, limit: usize) -> Vec<(FlowKey, Conn)> {
        self.conntrack
            .iter()
            .filter_map(Result::ok)
            .take(limit)
            .collect()
    }

    /// Zeroes the traffic counters of services (by id) and real slots
    /// (ipvsadm -Z).
    pub fn zero(&mut self, services: &[u32], reals: &[u32]) -> Result<(), DataplaneError> {
        let cpus = aya::util::nr_cpus().map_err(|(_, e)| DataplaneError::Pins {
            path: "/sys/devices/system/cpu/possible".into(),
            why: e.to_string(),
        })?;
        let zeros = || {
            aya::maps::PerCpuValues::try_from(vec![Traffic::default(); cpus])
                .expect("one value per CPU")
        };
        for &id in services {
            self.svc_stats
                .set(id, zeros(), 0)
                .map_err(map_err("svc_stats"))?;
        }
        for &slot in reals {
            self.real_stats
                .set(slot, zeros(), 0)
                .map_err(map_err("real_stats"))?;
        }
        Ok(())
    }

    /// Traffic of a service (by id), summed over CPUs.
    pub fn service_traffic(&self, id: u32) -> Result<Traffic, DataplaneError> {
        sum(&self.svc_stats, id, "svc_stats")
    }

    /// Traffic of a real server (by its slot), summed over CPUs.
    pub fn real_traffic(&self, slot: u32) -> Result<Traffic, DataplaneError> {
        sum(&self.real_stats, slot, "real_stats")
    }
}

fn sum(
    map: &PerCpuArray<MapData, Traffic>,
    idx: u32,
    name: &'static str,
) -> Result<Traffic, DataplaneError> {
    let per_cpu = map.get(&idx, 0).map_err(map_err(name))?;
    Ok(per_cpu.iter().fold(Traffic::default(), |a, t| Traffic {
        packets: a.packets + t.packets,
        bytes: a.bytes + t.bytes,
        conns: a.conns + t.conns,
        packets_out: a.packets_out + t.packets_out,
        bytes_out: a.bytes_out + t.bytes_out,
    }))
}

/// Runs one packet through a loaded XDP program `repeat` times.
pub(crate) fn test_run(
    prog: &Xdp,
    packet: &[u8],
    repeat: u32,
) -> Result<Run, aya::programs::ProgramError> {
    test_run_on(prog, packet, repeat, None)
}

/// `test_run` as if the packet arrived on `ifindex`.
pub(crate) fn test_run_on(
    prog: &Xdp,
    packet: &[u8],
    repeat: u32,
    ifindex: Option<u32>,
) -> Result<Run, aya::programs::ProgramError> {
    // Room for encapsulation headers in front.
    let mut out = vec![0u8; packet.len() + 256];
    let mut opts = TestRunOptions::new();
    opts.data_in = Some(packet);
    opts.data_out = Some(&mut out);
    opts.repeat = repeat.max(1);
    // struct xdp_md: data, data_end, data_meta, ingress_ifindex,
    // rx_queue_index, egress_ifindex (the kernel wants data_end = length).
    let ctx: Vec<u8> = [0, packet.len() as u32, 0, ifindex.unwrap_or(0), 0, 0]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    if ifindex.is_some() {
        opts.ctx_in = Some(&ctx);
    }
    let r = prog.test_run(opts)?;
    out.truncate(r.data_size_out as usize);
    Ok(Run {
        action: r.return_value,
        packet: out,
        duration: r.duration,
    })
}

/// The result of running a packet through the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// XDP_ABORTED 0, DROP 1, PASS 2, TX 3, REDIRECT 4.
    pub action: u32,
    pub packet: Vec<u8>,
    pub duration: std::time::Duration,
}

pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;
