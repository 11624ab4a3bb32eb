//! The data plane side of the daemon: the XDP program loaded with the
//! node's limits and attached to the configured interfaces, and every
//! service entry programmed as its plan says. The [`Forwarder`] keeps the
//! state the decisions read (entries, the reals' states, what the host
//! told, drained services) and does their I/O: it takes facts from the
//! kernel's view (host/, kept current by netlink events) and writes plans
//! to the maps. When the kernel reports a change it follows at once: a
//! real's MAC, an XDP interface created again or given a new MAC, and
//! any route or neighbour change, which makes the flow cache's entries
//! stale (they keep the FIB's answers).
//!
//! The decisions are pure, in their own files:
//! - entry.rs: one data plane service entry (a port of a config service);
//! - translate.rs: config to entries, ids stable across reloads, map sizes;
//! - real_state.rs: what the health checks said about each real;
//! - policy.rs, quorum.rs: a service's failure settings, its quorum;
//! - facts.rs: MACs and the TUN source, as learned from the host, and
//!   how a DR backend's MAC follows its neighbour entry;
//! - next_hop.rs: a TUN, NAT or FULLNAT real's next hop (for the data
//!   plane's map, so new flows skip the FIB lookup) from its route, link
//!   and neighbour;
//! - usable.rs: whether a backend can take new flows, and why not;
//! - plan.rs: what to program for an entry;
//! - recount.rs: when the schedulers' connection counts are recounted.
//!
//! Following the kernel's events (interfaces, MACs, the flow cache) is
//! I/O like this file, in follow.rs. Whether a VIP is announced is
//! decided from the same state in readiness.rs.

mod entry;
mod facts;
mod follow;
mod next_hop;
mod peers;
mod plan;
mod policy;
mod quorum;
mod real_state;
mod recount;
mod translate;
pub mod usable;

#[cfg(test)]
pub mod testing;

pub use entry::{of_service, Entry, UnknownService};
pub use facts::Facts;
pub use peers::Applied;
pub use plan::{plan, Plan};
#[cfg(test)]
pub use quorum::Quorum;
pub use real_state::{Check, RealId, RealStates};
pub use translate::{at_start, nat_entries, TranslateError};

use crate::host::{self, Host};
use policy::sorry_text;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use xlvs_config::{Forward, NodeConfig, Protocol, XdpMode};
use xlvs_dataplane::{Dataplane, DataplaneError};

#[derive(Debug, thiserror::Error)]
pub enum ForwarderError {
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// Loading, attaching, settings: the data plane's error says which.
    #[error(transparent)]
    Dataplane(#[from] DataplaneError),
    /// Programming or removing one entry.
    #[error("{action} service {name} port {port} (id {id}): {source}")]
    Entry {
        action: &'static str,
        name: String,
        port: u16,
        id: u32,
        source: Box<DataplaneError>,
    },
    /// ipvsadm's words for a service that does not exist.
    #[error("Service not defined")]
    ServiceNotDefined,
}

pub struct Forwarder {
    dp: Dataplane,
    entries: Vec<Entry>,
    reals: RealStates,
    facts: Facts,
    /// DR backends without a MAC, so that each is logged once.
    unresolved: BTreeSet<Ipv4Addr>,
    /// The kernel's state and the resolver of missing MACs.
    host: Host,
    /// The XDP interfaces as attached, by name.
    attached: BTreeMap<String, Attached>,
    mode: aya::programs::XdpMode,
    /// `[dataplane] tun_source` is set: no interface's address is used.
    tun_source_configured: bool,
    /// Services drained by the operator, by name: their VIPs are withdrawn
    /// while forwarding goes on, so connections move to other directors.
    drained: BTreeSet<String>,
    /// XDP interfaces; the first one's address is the TUN outer source.
    interfaces: Vec<String>,
    /// When the connection counts were last recounted, and how long it
    /// took (recount.rs).
    recounted: Option<(Instant, Duration)>,
    /// `[dataplane] next_hop_cache`: TUN, NAT and FULLNAT reals' next hops
    /// kept in the data plane's map (follow.rs).
    next_hop_cache: bool,
}

/// An XDP interface as the program was attached to it.
#[derive(Debug, Clone, Copy)]
struct Attached {
    index: u32,
    mac: Option<[u8; 6]>,
    /// Deleted since: attached again when created again.
    gone: bool,
    /// Attaching it again failed: tried again every second.
    failed: bool,
}

impl Forwarder {
    /// Loads the program and programs every service, with what the
    /// kernel said in its first dump; not attached yet.
    pub fn load(config: &NodeConfig, host: Host) -> Result<Forwarder, ForwarderError> {
        let (entries, limits) = translate::at_start(config)?;
        let pins = &config.dataplane.pin_dir;
        host::ensure_bpffs(pins);
        let dp = Dataplane::load_pinned(limits, Some(pins))?;
        let mut f = Forwarder {
            dp,
            entries,
            reals: RealStates::at_start(config),
            facts: Facts::default(),
            unresolved: BTreeSet::new(),
            host,
            attached: BTreeMap::new(),
            mode: match config.dataplane.xdp_mode {
                XdpMode::Native => aya::programs::XdpMode::Driver,
                XdpMode::Generic => aya::programs::XdpMode::Skb,
            },
            tun_source_configured: config.dataplane.tun_source.is_some(),
            drained: BTreeSet::new(),
            interfaces: config.dataplane.interfaces.clone(),
            recounted: None,
            next_hop_cache: false,
        };
        f.set_addresses(config)?;
        f.set_syn_flood_threshold(config)?;
        f.set_next_hop_cache(config)?;
        f.learn_and_program(true)?;
        Ok(f)
    }

    fn uses(&self, forward: Forward) -> bool {
        self.entries.iter().any(|e| e.spec.forward == forward)
    }

    /// FULLNAT local addresses and the configured TUN source prefix (at
    /// load; a reload cannot change them).
    fn set_addresses(&mut self, config: &NodeConfig) -> Result<(), ForwarderError> {
        let local = config
            .fullnat
            .as_ref()
            .map_or(&[][..], |f| f.local_addresses.as_slice());
        self.dp.set_local_addresses(local)?;
        if let Some((addr, len)) = config.dataplane.tun_source {
            let mut g = self.dp.globals()?;
            let hostmask = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
            g.tun_src = addr.octets();
            g.tun_src_hostmask = hostmask.to_be_bytes();
            self.dp.set_globals(g)?;
            self.facts.tun_source = Some(addr);
            tracing::info!(source = %addr, prefix_len = len, "TUN outer source prefix");
        }
        Ok(())
    }

    /// The next hop map (bpf/fib.h) on or off: at load and on reload.
    /// Off, learn_next_hops clears every entry.
    fn set_next_hop_cache(&mut self, config: &NodeConfig) -> Result<(), ForwarderError> {
        let on = config.dataplane.next_hop_cache;
        if on != self.next_hop_cache {
            tracing::info!(on, "next hop map for TUN, NAT and FULLNAT reals");
        }
        self.next_hop_cache = on;
        Ok(self.dp.set_next_hop_cache(on)?)
    }

    /// The SYN flood guard (bpf/sched.h): at load and on reload.
    fn set_syn_flood_threshold(&mut self, config: &NodeConfig) -> Result<(), ForwarderError> {
        let mut g = self.dp.globals()?;
        g.syn_flood_threshold = config.dataplane.syn_flood_threshold;
        Ok(self.dp.set_globals(g)?)
    }

    /// Attaches to every configured interface. TUN, NAT and FULLNAT ask
    /// the FIB for the next hop, which answers only where forwarding is
    /// on: it is turned on for the XDP interfaces when they are used.
    pub fn attach(&mut self, config: &NodeConfig) -> Result<(), ForwarderError> {
        let needs_fib = self.entries.iter().any(|e| e.spec.forward != Forward::Dr);
        if needs_fib {
            for iface in &config.dataplane.interfaces {
                match host::enable_forwarding(iface) {
                    Ok(()) => {
                        tracing::info!(interface = %iface, "IPv4 forwarding on (next-hop lookups need it)")
                    }
                    Err(e) => {
                        tracing::warn!(interface = %iface, error = %e, "cannot turn IPv4 forwarding on: TUN, NAT and FULLNAT packets will be dropped")
                    }
                }
            }
        }
        for iface in &config.dataplane.interfaces {
            // Frames for other hosts on the segment are not ours to forward:
            // the MAC is known before the first frame.
            let link = self
                .with_view(|_, v| v.links().by_name(iface).map(|(i, l)| (i, l.mac)))
                .flatten();
            let (index, mac) = link.unwrap_or_default();
            self.set_interface_mac(iface, index, mac)?;
            self.dp.attach(iface, self.mode)?;
            tracing::info!(interface = %iface, mode = %config.dataplane.xdp_mode, "XDP attached");
            let attached = Attached {
                index,
                mac,
                gone: false,
                failed: false,
            };
            self.attached.insert(iface.clone(), attached);
        }
        Ok(())
    }

    /// Reprograms the entries whose plan changed (or all of them): MACs,
    /// slow start ramps and the quorum change what an entry is programmed
    /// with.
    pub fn refresh(&mut self, all: bool) -> Result<(), ForwarderError> {
        let now = Instant::now();
        for i in 0..self.entries.len() {
            self.program(i, now, all)?;
        }
        // A finished ramp was just programmed at full weight: it ends.
        let ramps: BTreeMap<&str, Duration> = self
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.policy.slow_start))
            .collect();
        self.reals
            .end_ramps(now, |service| ramps.get(service).copied());
        Ok(())
    }

    /// Programs entry `i` as its plan says, when that differs from what is
    /// programmed (or always, with `force`).
    fn program(&mut self, i: usize, now: Instant, force: bool) -> Result<(), ForwarderError> {
        let plan = plan(&self.entries[i], &self.reals, &self.facts, now);
        let entry = &mut self.entries[i];
        log_changes(entry, &plan);
        entry.programmed.quorum = plan.quorum;
        entry.programmed.sorry_serving = plan.sorry.is_some();
        if force || entry.programmed.spec.as_ref() != Some(&plan.spec) {
            self.dp
                .set_service(&plan.spec)
                .map_err(|e| entry_error("programming", entry, e))?;
            entry.programmed.spec = Some(plan.spec);
        }
        Ok(())
    }

    /// A health check result for a real. Every entry of its service (one
    /// per port) is reprogrammed when the verdict changes; a real that
    /// comes up starts its slow start, if the service has one.
    pub fn set_health(&mut self, id: RealId, up: bool) -> Result<(), ForwarderError> {
        let of_service = |e: &Entry| e.name == id.service;
        let slow_start = self
            .entries
            .iter()
            .any(|e| of_service(e) && !e.policy.slow_start.is_zero());
        let chosen: Vec<usize> = (0..self.entries.len())
            .filter(|&i| of_service(&self.entries[i]))
            .collect();
        let now = Instant::now();
        if !self.reals.record(id, up, slow_start, now) {
            return Ok(());
        }
        for i in chosen {
            self.program(i, now, false)?;
        }
        Ok(())
    }

    /// Drains (or undrains) the named service, or every service. Returns
    /// the services affected.
    pub fn drain(
        &mut self,
        service: Option<&str>,
        drain: bool,
    ) -> Result<Vec<String>, UnknownService> {
        let mut names: Vec<String> = of_service(&self.entries, service)?
            .iter()
            .map(|e| e.name.clone())
            .collect();
        if names.is_empty() {
            // No service at all: as for an unknown name.
            return Err(UnknownService(String::new()));
        }
        names.dedup();
        for name in &names {
            if drain {
                self.drained.insert(name.clone());
            } else {
                self.drained.remove(name);
            }
        }
        Ok(names)
    }

    /// The entries of a new config, with their ids, checked against the
    /// maps sized at start. Nothing changes yet.
    pub fn prepare(&self, config: &NodeConfig) -> Result<Vec<Entry>, TranslateError> {
        translate::keep_ids(
            &self.entries,
            translate::entries(config)?,
            &self.dp.limits(),
        )
    }

    /// Puts the entries `prepare` made for `config` in force (the config
    /// in force until now is `old`): entries gone are removed first,
    /// freeing their reals; the quorum carries over by service name and
    /// port, the reals' states by real. Settings fixed at load time are
    /// checked by the caller (reload.rs).
    pub fn install(
        &mut self,
        mut entries: Vec<Entry>,
        config: &NodeConfig,
        old: &NodeConfig,
    ) -> Result<String, ForwarderError> {
        let gone: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|o| !entries.iter().any(|n| n.key() == o.key()))
            .collect();
        let removed = gone.len();
        for e in gone {
            self.dp
                .remove_service(&e.spec)
                .map_err(|source| entry_error("removing", e, source))?;
        }
        for e in &mut entries {
            let same = |o: &&Entry| (&o.name, o.port()) == (&e.name, e.port());
            if let Some(o) = self.entries.iter().find(same) {
                e.inherit(o);
            }
        }
        self.entries = entries;
        let now = Instant::now();
        self.reals.reload(old, config, now);
        self.set_syn_flood_threshold(config)?;
        self.set_next_hop_cache(config)?;
        // The new entries' backends, as at load.
        self.learn_and_program(true)?;
        Ok(format!(
            "{} services (ports) programmed, {removed} removed",
            self.entries.len()
        ))
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn reals(&self) -> &RealStates {
        &self.reals
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn drained(&self) -> &BTreeSet<String> {
        &self.drained
    }

    /// The size of the NAT/FULLNAT table loaded at start.
    pub fn nat_capacity(&self) -> u32 {
        self.dp.limits().nat
    }

    /// The data plane slots of each entry's reals and sorry server.
    pub fn slots_by_service(&self) -> Vec<(u32, Vec<u32>)> {
        self.entries
            .iter()
            .map(|e| {
                let slots = e
                    .backends()
                    .filter_map(|r| self.dp.real_slot(e.spec.id, r.addr, r.port))
                    .collect();
                (e.spec.id, slots)
            })
            .collect()
    }

    pub fn service_traffic(&self, id: u32) -> Result<xlvs_dataplane::abi::Traffic, DataplaneError> {
        self.dp.service_traffic(id)
    }

    pub fn real_traffic(&self, slot: u32) -> Result<xlvs_dataplane::abi::Traffic, DataplaneError> {
        self.dp.real_traffic(slot)
    }

    pub fn real_slot(&self, svc: u32, addr: Ipv4Addr, port: u16) -> Option<u32> {
        self.dp.real_slot(svc, addr, port)
    }

    /// The address and port of the real (or sorry server) in a slot.
    pub fn real_addr(&self, slot: u32) -> Option<(Ipv4Addr, u16)> {
        self.entries.iter().find_map(|e| {
            e.backends()
                .find(|r| self.dp.real_slot(e.spec.id, r.addr, r.port) == Some(slot))
                .map(|r| (r.addr, r.port))
        })
    }

    /// Whether the data plane's maps still answer (a read of its globals),
    /// for the watchdog.
    pub fn alive(&self) -> Result<(), ForwarderError> {
        self.dp.globals().map(drop).map_err(ForwarderError::from)
    }

    pub fn globals(&self) -> xlvs_dataplane::abi::Globals {
        self.dp.globals().unwrap_or_default()
    }

    /// The data plane's time, to age connection entries by (None if its
    /// clock cannot be read; the error is logged).
    pub fn clock(&self) -> Option<xlvs_dataplane::Clock> {
        self.dp
            .clock()
            .inspect_err(|e| tracing::warn!(error = %e, "reading the data plane's clock"))
            .ok()
    }

    pub fn conntrack_size(&self) -> u32 {
        self.dp.limits().conntrack
    }

    /// Every persistence template, read in batches.
    pub fn for_each_template(
        &self,
        each: impl FnMut(&xlvs_dataplane::abi::TmplKey, &xlvs_dataplane::abi::Tmpl),
    ) -> Result<u64, xlvs_dataplane::DataplaneError> {
        self.dp.for_each_template(each)
    }

    /// Every connection-table entry, read in batches; how many there are.
    pub fn for_each_connection(
        &self,
        each: impl FnMut(&xlvs_dataplane::abi::FlowKey, &xlvs_dataplane::abi::Conn),
    ) -> Result<u64, xlvs_dataplane::DataplaneError> {
        self.dp.for_each_connection(each)
    }

    pub fn connections(
        &self,
        limit: usize,
    ) -> Vec<(xlvs_dataplane::abi::FlowKey, xlvs_dataplane::abi::Conn)> {
        self.dp.connections(limit)
    }

    /// ipvsadm -Z: zeroes the counters of one service (VIP, protocol,
    /// port), or of all.
    pub fn zero(
        &mut self,
        service: Option<(Ipv4Addr, Protocol, u16)>,
    ) -> Result<(), ForwarderError> {
        let chosen: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| service.is_none_or(|k| e.key() == k))
            .collect();
        // ipvsadm -Z zeroes all services, also none at all (as IPVS does).
        if chosen.is_empty() && service.is_some() {
            return Err(ForwarderError::ServiceNotDefined);
        }
        let ids: Vec<u32> = chosen.iter().map(|e| e.spec.id).collect();
        let slots: Vec<u32> = chosen
            .iter()
            .flat_map(|e| {
                e.spec
                    .reals
                    .iter()
                    .filter_map(|r| self.dp.real_slot(e.spec.id, r.addr, r.port))
            })
            .collect();
        Ok(self.dp.zero(&ids, &slots)?)
    }

    /// ipvsadm --set: connection timeouts in seconds; 0 leaves one as is.
    pub fn set_timeouts(&mut self, tcp: u32, tcpfin: u32, udp: u32) -> Result<(), ForwarderError> {
        let mut g = self.dp.globals()?;
        for (field, v) in [
            (&mut g.tcp_timeout_s, tcp),
            (&mut g.tcpfin_timeout_s, tcpfin),
            (&mut g.udp_timeout_s, udp),
        ] {
            if v != 0 {
                *field = v;
            }
        }
        Ok(self.dp.set_globals(g)?)
    }

    /// Exiting with XDP left attached (pins kept, or a graceful restart):
    /// nobody follows the kernel's routes and neighbours any more, so the
    /// next hop map goes off and new flows ask the FIB until a daemon runs
    /// again.
    pub fn leave_attached(&mut self) {
        if let Err(e) = self.dp.set_next_hop_cache(false) {
            tracing::error!(error = %e, "turning the next hop map off: XDP keeps using its entries");
        }
    }

    /// Removes the pins: the XDP program detaches when we exit.
    pub fn cleanup(&mut self) -> Result<(), DataplaneError> {
        self.dp.unpin()
    }

    pub fn stats(&self) -> Result<Vec<(&'static str, u64)>, DataplaneError> {
        self.dp.stats()
    }
}

fn entry_error(action: &'static str, e: &Entry, source: DataplaneError) -> ForwarderError {
    ForwarderError::Entry {
        action,
        name: e.name.clone(),
        port: e.port(),
        id: e.spec.id,
        source: Box::new(source),
    }
}

/// Logs what a plan changes for an entry: its quorum met or lost, the
/// sorry server taking over or standing by again.
fn log_changes(entry: &Entry, plan: &Plan) {
    let (service, port, usable) = (&entry.name, entry.port(), plan.usable);
    let (quorum, hysteresis) = (entry.policy.quorum, entry.policy.hysteresis);
    match (entry.programmed.quorum.met(), plan.quorum.met()) {
        (false, true) => tracing::info!(service, port, usable, quorum, hysteresis, "quorum met"),
        (true, false) => tracing::warn!(service, port, usable, quorum, hysteresis, "quorum lost"),
        _ => {}
    }
    match (&plan.sorry, entry.programmed.sorry_serving) {
        (Some(sorry), false) => {
            tracing::warn!(service, port, sorry_server = %sorry_text(sorry), reason = plan.quorum.text(), "the sorry server takes the new flows")
        }
        (None, true) => tracing::info!(service, port, "the reals take the new flows again"),
        _ => {}
    }
}
