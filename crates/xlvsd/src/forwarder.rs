//! The data plane side of the daemon: the XDP program loaded with the
//! node's limits, every service programmed from the config, attached to
//! the configured interfaces. DR needs each real's MAC: it is read from
//! the kernel's neighbour table, and resolution is triggered when missing;
//! a real without a MAC gets no new flows until it has one.

use crate::policy::{backends, has_mac, real_key, sorry_text, Policy, Quorum, RealState};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Instant;
use xlvs_config::{Forward, NodeConfig, Ports, Protocol, Scheduler, Service, XdpMode};
use xlvs_dataplane::{Dataplane, DataplaneError, HashOn, Limits, RealSpec, ServiceSpec};

#[derive(Debug, thiserror::Error)]
pub enum ForwarderError {
    #[error("service `{service}`: scheduler \"{scheduler}\" is not supported by the XDP data plane (use mh, sh or dh); see docs/dataplane.md")]
    Scheduler { service: String, scheduler: String },
    #[error(transparent)]
    Dataplane(#[from] DataplaneError),
}

/// A real of a config service: (service name, address, port or 0).
type RealKey = (String, Ipv4Addr, u16);

/// Every real of a config, with its service.
fn real_keys(config: &NodeConfig) -> impl Iterator<Item = (RealKey, &Service)> {
    config.services.iter().flat_map(|s| {
        s.reals
            .iter()
            .map(move |r| ((s.name.clone(), r.address, r.port.unwrap_or(0)), s))
    })
}

pub struct Forwarder {
    dp: Dataplane,
    specs: Vec<ServiceSpec>,
    /// XDP interfaces; the first one's address is the TUN outer source.
    interfaces: Vec<String>,
    tun_src: Option<Ipv4Addr>,
    /// Reals whose MAC is not known yet (DR), by address.
    unresolved: BTreeMap<Ipv4Addr, ()>,
    /// Reals failing their health check: (service name, address, port).
    /// Keyed by name so the state survives a reload.
    down: BTreeSet<RealKey>,
    /// Reals of `alpha` services that have not passed a check yet.
    awaiting: BTreeSet<RealKey>,
    /// Reals in slow start, and since when.
    ramps: BTreeMap<RealKey, Instant>,
    /// Quorum, hysteresis, inhibit_on_failure, slow start and sorry server
    /// of each service.
    policy: Vec<Policy>,
    /// Whether each service has its quorum, by (name, port): it carries
    /// over a reload.
    quorum: BTreeMap<(String, u16), Quorum>,
    /// Services whose sorry server takes the new flows, by (name, port).
    sorry_serving: BTreeSet<(String, u16)>,
    /// What each service is programmed with now: the weights new flows see.
    programmed: Vec<Option<ServiceSpec>>,
    /// Persistence of each service: (timeout s, netmask), like ipvsadm -p/-M.
    persistence: Vec<Option<(u32, Ipv4Addr)>>,
    /// The configured scheduler of each service (with persistence, mh, sh
    /// and dh all hash the source: the listing still names the one given).
    schedulers: Vec<Scheduler>,
    /// Services drained by the operator: their VIPs are withdrawn while
    /// forwarding goes on, so connections move to other directors.
    drained: std::collections::BTreeSet<String>,
    names: Vec<String>,
}

/// The NAT/FULLNAT way-back table's size: like the connection table when
/// a service needs it, else the minimum (its entries are allocated when
/// loaded, which takes seconds for a million).
fn nat_entries(config: &NodeConfig) -> u32 {
    let nat = config
        .services
        .iter()
        .any(|s| matches!(s.forward, Forward::Nat | Forward::Fullnat));
    if nat {
        config.dataplane.conntrack_entries
    } else {
        xlvs_dataplane::MIN_NAT_ENTRIES
    }
}

/// The data plane services of a config, one per port (as ipvsadm lists
/// them, each with its own counters), with the index of the config
/// service each comes from. Refuses schedulers the XDP program does not
/// run, instead of scheduling some other way.
fn specs(config: &NodeConfig) -> Result<Vec<(ServiceSpec, usize)>, ForwarderError> {
    let mut out = Vec::new();
    for (index, s) in config.services.iter().enumerate() {
        // Persistence is Maglev over the (masked) client address: every
        // director agrees without sharing state. `sh` is the same, unmasked;
        // `dh` hashes the destination address.
        let hash = match (s.scheduler, &s.persistence) {
            (Scheduler::Mh | Scheduler::Sh | Scheduler::Dh, Some(p)) => HashOn::Source(p.mask),
            (Scheduler::Sh, None) => HashOn::Source(Ipv4Addr::BROADCAST),
            (Scheduler::Dh, None) => HashOn::Destination,
            (Scheduler::Mh, None) => HashOn::Flow,
            (other, _) => {
                return Err(ForwarderError::Scheduler {
                    service: s.name.clone(),
                    scheduler: other.to_string(),
                })
            }
        };
        let ports = match &s.ports {
            Ports::All => vec![0],
            Ports::List(p) => p.clone(),
        };
        for port in ports {
            let spec = ServiceSpec {
                id: out.len() as u32,
                vip: s.vip,
                protocol: s.protocol,
                ports: vec![port],
                forward: s.forward,
                hash,
                reals: s
                    .reals
                    .iter()
                    .map(|r| RealSpec {
                        addr: r.address,
                        port: r.port.unwrap_or(0),
                        weight: u32::from(r.weight),
                        mac: [0; 6],
                    })
                    .collect(),
            };
            out.push((spec, index));
        }
    }
    Ok(out)
}

impl Forwarder {
    /// Loads the program and programs every service; not attached yet.
    pub fn load(config: &NodeConfig) -> Result<Forwarder, ForwarderError> {
        let (specs, owners): (Vec<ServiceSpec>, Vec<usize>) = specs(config)?.into_iter().unzip();
        let limits = Limits {
            services: (specs.len() as u32).max(1).next_power_of_two().max(64),
            conntrack: config.dataplane.conntrack_entries,
            nat: nat_entries(config),
            table_size: config.dataplane.maglev_table_size,
            flow_cache: config.dataplane.flow_cache_entries,
            ..Limits::default()
        };
        let pins = &config.dataplane.pin_dir;
        crate::host::ensure_bpffs(pins);
        let dp = Dataplane::load_pinned(limits, Some(pins))?;
        let mut f = Forwarder {
            dp,
            specs,
            interfaces: config.dataplane.interfaces.clone(),
            tun_src: None,
            unresolved: BTreeMap::new(),
            down: Default::default(),
            awaiting: Default::default(),
            ramps: Default::default(),
            drained: Default::default(),
            policy: Vec::new(),
            quorum: Default::default(),
            sorry_serving: Default::default(),
            programmed: Vec::new(),
            persistence: Vec::new(),
            schedulers: Vec::new(),
            names: Vec::new(),
        };
        f.set_owners(config, &owners);
        // alpha: down until the first passing check. Slow start does not
        // apply at start (a restart would ramp every real).
        f.awaiting = real_keys(config)
            .filter(|(_, s)| s.health.alpha)
            .map(|(k, _)| k)
            .collect();
        f.set_addresses(config)?;
        f.set_syn_flood_threshold(config)?;
        f.refresh(true)?;
        Ok(f)
    }

    fn has_tun(&self) -> bool {
        self.specs
            .iter()
            .any(|s| s.forward == xlvs_dataplane::Forward::Tun)
    }

    /// TUN, NAT and FULLNAT find their next hop in the FIB.
    fn needs_fib(&self) -> bool {
        self.specs
            .iter()
            .any(|s| s.forward != xlvs_dataplane::Forward::Dr)
    }

    /// FULLNAT local addresses and the configured TUN source prefix (at
    /// load and on reload: new flows use them, existing flows keep theirs).
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
            self.tun_src = Some(addr);
            tracing::info!(source = %addr, prefix_len = len, "TUN outer source prefix");
        }
        Ok(())
    }

    /// The SYN flood guard (bpf/sched.h): at load and on reload.
    fn set_syn_flood_threshold(&mut self, config: &NodeConfig) -> Result<(), ForwarderError> {
        let mut g = self.dp.globals()?;
        g.syn_flood_threshold = config.dataplane.syn_flood_threshold;
        Ok(self.dp.set_globals(g)?)
    }

    /// Name, failure policy and persistence of each data plane service,
    /// from the config service it comes from (`owners[i]` for entry i).
    fn set_owners(&mut self, config: &NodeConfig, owners: &[usize]) {
        let of = |i: &usize| &config.services[*i];
        self.policy = owners.iter().map(|i| Policy::of(of(i))).collect();
        self.programmed = vec![None; owners.len()];
        self.persistence = owners
            .iter()
            .map(|i| {
                of(i)
                    .persistence
                    .as_ref()
                    .map(|p| (p.timeout.as_secs() as u32, p.mask))
            })
            .collect();
        self.schedulers = owners.iter().map(|i| of(i).scheduler).collect();
        self.names = owners.iter().map(|i| of(i).name.clone()).collect();
    }

    /// Whether real `r` of entry `i` is failing its health check.
    fn is_down(&self, i: usize, r: &RealSpec) -> bool {
        self.down.contains(&real_key(&self.names[i], r))
    }

    /// Whether real `r` of entry `i` passes its health check (an `alpha`
    /// real that has not been checked yet does not).
    fn passes(&self, i: usize, r: &RealSpec) -> bool {
        let key = real_key(&self.names[i], r);
        !self.down.contains(&key) && !self.awaiting.contains(&key)
    }

    /// Attaches to every configured interface. TUN, NAT and FULLNAT ask
    /// the FIB for the next hop, which answers only where forwarding is
    /// on: it is turned on for the XDP interfaces when they are used.
    pub fn attach(&mut self, config: &NodeConfig) -> Result<(), ForwarderError> {
        if self.needs_fib() {
            for iface in &config.dataplane.interfaces {
                match crate::host::enable_forwarding(iface) {
                    Ok(()) => {
                        tracing::info!(interface = %iface, "IPv4 forwarding on (next-hop lookups need it)")
                    }
                    Err(e) => {
                        tracing::warn!(interface = %iface, error = %e, "cannot turn IPv4 forwarding on: TUN, NAT and FULLNAT packets will be dropped")
                    }
                }
            }
        }
        let mode = match config.dataplane.xdp_mode {
            XdpMode::Native => aya::programs::XdpMode::Driver,
            XdpMode::Generic => aya::programs::XdpMode::Skb,
        };
        for iface in &config.dataplane.interfaces {
            // Frames for other hosts on the segment are not ours to forward.
            match crate::host::interface_mac(iface) {
                Some((index, mac)) => self.dp.set_interface_mac(index, mac)?,
                None => {
                    tracing::warn!(interface = %iface, "cannot read its MAC: frames for other hosts will be forwarded too")
                }
            }
            self.dp.attach(iface, mode)?;
            tracing::info!(interface = %iface, mode = %config.dataplane.xdp_mode, "XDP attached");
        }
        Ok(())
    }

    /// Re-reads the reals' MACs and reprograms the services whose backends
    /// or weights changed (or all of them). A real without a MAC is
    /// programmed with weight 0.
    pub fn refresh(&mut self, all: bool) -> Result<(), ForwarderError> {
        if self.tun_src.is_none() && self.has_tun() {
            // The interface may get its address after we start.
            let first = self.interfaces.first().cloned().unwrap_or_default();
            if let Some(address) = crate::host::interface_address(&first) {
                let mut g = self.dp.globals()?;
                g.tun_src = address.octets();
                self.dp.set_globals(g)?;
                self.tun_src = Some(address);
                tracing::info!(source = %address, "TUN outer source address");
            }
        }
        let table = crate::host::neighbour_macs();
        // Only DR sends to MACs (of reals and sorry servers); the others
        // find their next hop in the FIB.
        for (spec, policy) in self.specs.iter_mut().zip(&mut self.policy) {
            if spec.forward != xlvs_dataplane::Forward::Dr {
                continue;
            }
            for r in spec.reals.iter_mut().chain(policy.sorry.as_mut()) {
                resolve_mac(r, &table, &mut self.unresolved);
            }
        }
        // Every service is looked at: MACs, slow start ramps and the
        // quorum change what it is programmed with.
        let now = Instant::now();
        for i in 0..self.specs.len() {
            self.program(i, now, all)?;
        }
        // A finished ramp was just programmed at full weight: forget it.
        let (names, policy) = (&self.names, &self.policy);
        self.ramps.retain(|(name, _, _), since| {
            let ramping = |(n, p): (&String, &Policy)| n == name && now - *since < p.slow_start;
            names.iter().zip(policy).any(ramping)
        });
        Ok(())
    }

    /// Programs service `i` as it can be served now (see `policy`): reals
    /// failing their check out (or at weight 0 with inhibit_on_failure),
    /// reals in slow start at their ramp weight, the sorry server alone
    /// taking new flows while the quorum is not met. Only when that differs
    /// from what is programmed, unless `force`.
    fn program(&mut self, i: usize, now: Instant, force: bool) -> Result<(), ForwarderError> {
        let spec = &self.specs[i];
        let states: Vec<RealState> = spec.reals.iter().map(|r| self.state(i, r, now)).collect();
        let usable = states.iter().filter(|s| s.usable()).count() as u32;
        let p = &self.policy[i];
        let key = (self.names[i].clone(), spec.ports[0]);
        let before = self.quorum.get(&key).copied().unwrap_or_default();
        let after = before.next(usable, p.quorum, p.hysteresis);
        let sorry = match self.sorry(i) {
            Some((s, Ok(()))) if !after.met() => Some(s),
            _ => None,
        };
        let want = ServiceSpec {
            reals: backends(&spec.reals, &states, sorry),
            ..spec.clone()
        };
        let sorry = sorry.map(sorry_text);
        let (service, port) = (&key.0, key.1);
        if before.met() != after.met() {
            let (quorum, hysteresis) = (p.quorum, p.hysteresis);
            if after.met() {
                tracing::info!(service, port, usable, quorum, hysteresis, "quorum met");
            } else {
                tracing::warn!(service, port, usable, quorum, hysteresis, "quorum lost");
            }
        }
        match (&sorry, self.sorry_serving.contains(&key)) {
            (Some(addr), false) => {
                tracing::warn!(service, port, sorry_server = %addr, reason = after.text(), "the sorry server takes the new flows");
                self.sorry_serving.insert(key.clone());
            }
            (None, true) => {
                tracing::info!(service, port, "the reals take the new flows again");
                self.sorry_serving.remove(&key);
            }
            _ => {}
        }
        self.quorum.insert(key, after);
        if force || self.programmed[i].as_ref() != Some(&want) {
            self.dp.set_service(&want)?;
            self.programmed[i] = Some(want);
        }
        Ok(())
    }

    /// How real `r` of entry `i` is programmed now.
    fn state(&self, i: usize, r: &RealSpec, now: Instant) -> RealState {
        match self.usable(i, r) {
            Ok(()) => RealState::Up(self.weight_now(i, r, now)),
            Err(_) if self.is_down(i, r) && !self.policy[i].inhibit => RealState::Out,
            Err(_) => RealState::Quiescent,
        }
    }

    /// The real's weight, or its slow start weight while it ramps.
    fn weight_now(&self, i: usize, r: &RealSpec, now: Instant) -> u32 {
        match self.ramps.get(&real_key(&self.names[i], r)) {
            Some(since) => xlvs_health::slow_start_weight(
                r.weight,
                now.saturating_duration_since(*since),
                self.policy[i].slow_start,
            ),
            None => r.weight,
        }
    }

    /// A health check result for a real of the service named `service`.
    /// A real that comes up starts its slow start, if the service has one.
    pub fn set_health(
        &mut self,
        service: &str,
        addr: Ipv4Addr,
        port: Option<u16>,
        up: bool,
    ) -> Result<(), ForwarderError> {
        // The state is per config service; every data plane service of it
        // (one per port) is reprogrammed when it changes.
        let key = (service.to_string(), addr, port.unwrap_or(0));
        let first = self.awaiting.remove(&key);
        let changed = if up {
            self.down.remove(&key) || first
        } else {
            self.down.insert(key.clone()) || first
        };
        if !changed {
            return Ok(());
        }
        let ids: Vec<usize> = (0..self.names.len())
            .filter(|&i| self.names[i] == service)
            .collect();
        let now = Instant::now();
        if up && ids.iter().any(|&i| !self.policy[i].slow_start.is_zero()) {
            self.ramps.insert(key, now);
        } else {
            self.ramps.remove(&key);
        }
        for i in ids {
            self.program(i, now, false)?;
        }
        Ok(())
    }

    /// Whether a real can take new flows now (counting towards the
    /// quorum), and if not, why.
    fn usable(&self, i: usize, r: &RealSpec) -> Result<(), &'static str> {
        let key = real_key(&self.names[i], r);
        if self.awaiting.contains(&key) {
            return Err("waiting for its first passing check (alpha)");
        }
        if self.down.contains(&key) {
            return Err("failing its health check");
        }
        if r.weight == 0 {
            return Err("weight 0");
        }
        self.reachable(i, r)
    }

    /// Whether the data plane can send to a backend of entry `i` yet.
    fn reachable(&self, i: usize, r: &RealSpec) -> Result<(), &'static str> {
        match self.specs[i].forward {
            xlvs_dataplane::Forward::Dr if !has_mac(r) => Err("no MAC yet"),
            _ => Ok(()),
        }
    }

    /// The sorry server of entry `i`, if it has one, and whether it can be
    /// sent to. It is not health-checked (as in keepalived).
    fn sorry(&self, i: usize) -> Option<(&RealSpec, Result<(), &'static str>)> {
        let s = self.policy[i].sorry.as_ref()?;
        Some((s, self.reachable(i, s)))
    }

    fn quorum_of(&self, i: usize) -> Quorum {
        let key = (self.names[i].clone(), self.specs[i].ports[0]);
        self.quorum.get(&key).copied().unwrap_or_default()
    }

    /// What the sorry server of entry `i` does now, for status lines; None
    /// without one.
    fn sorry_state(&self, i: usize) -> Option<(bool, String)> {
        let (s, ready) = self.sorry(i)?;
        let addr = sorry_text(s);
        let quorum = self.quorum_of(i);
        Some(match ready {
            Ok(()) if !quorum.met() => (true, format!("sorry server {addr} takes the new flows")),
            Ok(()) => (false, format!("sorry server {addr} stands by")),
            Err(why) => (false, format!("sorry server {addr} unreachable ({why})")),
        })
    }

    /// The weight real `r` of entry `i` is programmed with (0: none).
    fn programmed_weight(&self, i: usize, r: &RealSpec) -> u32 {
        let programmed = self.programmed[i].as_ref();
        let real = programmed.and_then(|p| {
            p.reals
                .iter()
                .find(|x| (x.addr, x.port) == (r.addr, r.port))
        });
        real.map_or(0, |x| x.weight)
    }

    /// For each VIP: whether to announce it, and why (or why not). A VIP
    /// is announced while some service of it has its quorum, or a sorry
    /// server that takes the new flows, and is not drained.
    pub fn vip_states(&self) -> BTreeMap<Ipv4Addr, (bool, Vec<String>)> {
        let mut out: BTreeMap<Ipv4Addr, (bool, Vec<String>)> = BTreeMap::new();
        for (i, s) in self.specs.iter().enumerate() {
            let usable = s.reals.iter().filter(|r| self.usable(i, r).is_ok()).count();
            let drained = self.drained.contains(&self.names[i]);
            let p = &self.policy[i];
            let quorum = self.quorum_of(i);
            let sorry = self.sorry_state(i);
            let serving = sorry.as_ref().is_some_and(|(serving, _)| *serving);
            // The tunnel source is the node's, not a real's: without it no
            // TUN service is announced (its reals are programmed anyway, so
            // nothing is reprogrammed when the address appears).
            let no_source = s.forward == xlvs_dataplane::Forward::Tun && self.tun_src.is_none();
            let ok = (quorum.met() || serving) && !drained && !no_source;
            let mut state = String::new();
            if !quorum.met() {
                state = format!(", {}", quorum.text());
                if let Some((_, text)) = &sorry {
                    state = format!("{state}: {text}");
                }
            }
            let why = format!(
                "service {} port {}: {usable} of {} reals usable, quorum {}{}{state}{}",
                self.names[i],
                s.ports[0],
                s.reals.len(),
                p.quorum,
                p.hysteresis_text(),
                if drained { ", drained" } else { "" }
            ) + if no_source {
                ", no tunnel source address yet"
            } else {
                ""
            };
            let e = out.entry(s.vip).or_insert((false, Vec::new()));
            e.0 |= ok;
            e.1.push(why);
        }
        out
    }

    /// Every real of every service (or of the named one): whether it takes
    /// new flows now (with the reason when not) and at which weight, and
    /// the sorry server (`xlvsadm health`).
    pub fn health(&self, service: Option<&str>) -> Result<Vec<serde_json::Value>, String> {
        if service.is_some_and(|n| !self.names.iter().any(|x| x == n)) {
            return Err(format!(
                "no service named {:?}",
                service.unwrap_or_default()
            ));
        }
        let mut out = Vec::new();
        for (i, s) in self.specs.iter().enumerate() {
            if service.is_some_and(|n| self.names[i] != n) {
                continue;
            }
            let sorry = self.sorry_state(i);
            let serving = sorry.as_ref().is_some_and(|(serving, _)| *serving);
            for r in &s.reals {
                let state = self.usable(i, r);
                let weight = self.programmed_weight(i, r);
                let why = match state {
                    Err(why) => why.to_string(),
                    Ok(()) if serving => format!(
                        "{}: the sorry server takes the new flows",
                        self.quorum_of(i).text()
                    ),
                    Ok(()) if weight < r.weight => {
                        format!("slow start: weight {weight} of {}", r.weight)
                    }
                    Ok(()) => String::new(),
                };
                out.push(serde_json::json!({
                    "service": self.names[i],
                    "port": s.ports[0],
                    "real": r.addr,
                    "sorry_server": false,
                    "usable": state.is_ok(),
                    "weight": weight,
                    "why": why,
                }));
            }
            if let (Some((serving, text)), Some(s2)) = (sorry, &self.policy[i].sorry) {
                out.push(serde_json::json!({
                    "service": self.names[i],
                    "port": s.ports[0],
                    "real": s2.addr,
                    "sorry_server": true,
                    "usable": serving,
                    "weight": if serving { 1 } else { 0 },
                    "why": text,
                }));
            }
        }
        Ok(out)
    }

    /// Health state for a new config's reals: reals that stay keep theirs;
    /// the state of reals that are gone is dropped (they start afresh if
    /// they come back, as their checks do); new reals start like their
    /// checks: down until the first pass with `alpha`, else up and, with
    /// slow start, ramping.
    fn adopt(&mut self, config: &NodeConfig, old: &NodeConfig) {
        let before: BTreeSet<RealKey> = real_keys(old).map(|(k, _)| k).collect();
        let now: BTreeSet<RealKey> = real_keys(config).map(|(k, _)| k).collect();
        self.down.retain(|k| now.contains(k));
        self.awaiting.retain(|k| now.contains(k));
        self.ramps.retain(|k, _| now.contains(k));
        let at = Instant::now();
        for (k, s) in real_keys(config).filter(|(k, _)| !before.contains(k)) {
            if s.health.alpha {
                self.awaiting.insert(k);
            } else if !s.slow_start.is_zero() {
                self.ramps.insert(k, at);
            }
        }
        let entries: BTreeSet<(String, u16)> = (0..self.specs.len())
            .map(|i| (self.names[i].clone(), self.specs[i].ports[0]))
            .collect();
        self.quorum.retain(|k, _| entries.contains(k));
        self.sorry_serving.retain(|k| entries.contains(k));
    }

    /// Drains (or undrains) the named service, or every service. Returns
    /// the services affected, or an error naming an unknown service.
    pub fn drain(&mut self, service: Option<&str>, drain: bool) -> Result<Vec<String>, String> {
        let ids: Vec<usize> = (0..self.names.len())
            .filter(|&i| service.is_none_or(|name| self.names[i] == name))
            .collect();
        if ids.is_empty() {
            return Err(format!(
                "no service named {:?}",
                service.unwrap_or_default()
            ));
        }
        for &i in &ids {
            if drain {
                self.drained.insert(self.names[i].clone());
            } else {
                self.drained.remove(&self.names[i]);
            }
        }
        let mut names: Vec<String> = ids.iter().map(|&i| self.names[i].clone()).collect();
        names.dedup();
        Ok(names)
    }

    /// Applies a new config's services, all or nothing: everything that
    /// could fail is checked before the first change. A service keeps its
    /// id (and so its connections) while its (VIP, protocol, port) stays;
    /// health and drain state carry over by service name. Settings fixed
    /// at load time need a restart and are refused here.
    pub fn reload(&mut self, config: &NodeConfig, old: &NodeConfig) -> Result<String, String> {
        let d = (&config.dataplane, &old.dataplane);
        let mut fixed = Vec::new();
        if d.0.interfaces != d.1.interfaces || d.0.xdp_mode != d.1.xdp_mode {
            fixed.push("dataplane.interfaces / xdp_mode");
        }
        if d.0.conntrack_entries != d.1.conntrack_entries
            || d.0.maglev_table_size != d.1.maglev_table_size
            || d.0.flow_cache_entries != d.1.flow_cache_entries
        {
            fixed.push("dataplane.conntrack_entries / maglev_table_size / flow_cache_entries");
        }
        if d.0.pin_dir != d.1.pin_dir {
            fixed.push("dataplane.pin_dir");
        }
        if nat_entries(config) > self.dp.limits().nat {
            fixed.push("the first NAT or FULLNAT service (its table is sized at start)");
        }
        if d.0.tun_source != d.1.tun_source || config.fullnat != old.fullnat {
            fixed.push("dataplane.tun_source / [fullnat]");
        }
        // OSPF interfaces change live (speaker.rs); not the router itself.
        fixed.extend(crate::speaker::fixed_changes(config, old));
        if config.metrics != old.metrics {
            fixed.push("[metrics]");
        }
        if !fixed.is_empty() {
            return Err(format!(
                "{} cannot change at runtime: restart xlvsd (nothing was changed)",
                fixed.join(", ")
            ));
        }
        let flat = specs(config).map_err(|e| e.to_string())?;
        // Stable ids: a (VIP, protocol, port) keeps the id it had.
        let key = |s: &ServiceSpec| (s.vip, s.protocol, s.ports[0]);
        let old_ids: BTreeMap<_, u32> = self.specs.iter().map(|s| (key(s), s.id)).collect();
        let mut used: std::collections::BTreeSet<u32> = flat
            .iter()
            .filter_map(|(s, _)| old_ids.get(&key(s)).copied())
            .collect();
        let limits = self.dp.limits();
        let mut next_free = 0u32;
        let mut new_specs = Vec::with_capacity(flat.len());
        for (mut s, _) in flat.iter().cloned() {
            s.id = match old_ids.get(&key(&s)) {
                Some(&id) => id,
                None => {
                    while used.contains(&next_free) {
                        next_free += 1;
                    }
                    if next_free >= limits.services {
                        return Err(format!(
                            "more than {} services (ports) would be needed; restart xlvsd to load larger maps",
                            limits.services
                        ));
                    }
                    used.insert(next_free);
                    next_free
                }
            };
            new_specs.push(s);
        }
        let reals: usize = new_specs.iter().map(|s| s.reals.len()).sum();
        if reals > limits.reals as usize {
            return Err(format!(
                "{reals} real servers would exceed the limit of {}",
                limits.reals
            ));
        }
        // Checked: now change. Removed services first, freeing their reals.
        let removed: Vec<ServiceSpec> = self
            .specs
            .iter()
            .filter(|s| !new_specs.iter().any(|n| key(n) == key(s)))
            .cloned()
            .collect();
        for s in &removed {
            self.dp.remove_service(s).map_err(|e| e.to_string())?;
        }
        let owners: Vec<usize> = flat.iter().map(|(_, i)| *i).collect();
        self.set_owners(config, &owners);
        self.specs = new_specs;
        self.adopt(config, old);
        self.set_syn_flood_threshold(config)
            .map_err(|e| e.to_string())?;
        self.refresh(true).map_err(|e| e.to_string())?;
        Ok(format!(
            "{} services (ports) programmed, {} removed",
            self.specs.len(),
            removed.len()
        ))
    }

    /// Each service as listed: its spec, name, persistence, and the weight
    /// its reals really have now.
    pub fn services(&self) -> Vec<ServiceView<'_>> {
        self.specs
            .iter()
            .enumerate()
            .map(|(i, spec)| ServiceView {
                index: i,
                spec,
                name: &self.names[i],
                persistence: self.persistence[i],
                scheduler: self.schedulers[i],
                fwd: self,
            })
            .collect()
    }

    /// The data plane slots of each service's reals and sorry server.
    pub fn slots_by_service(&self) -> Vec<(u32, Vec<u32>)> {
        self.specs
            .iter()
            .zip(&self.policy)
            .map(|(s, p)| {
                let slots = s
                    .reals
                    .iter()
                    .chain(p.sorry.as_ref())
                    .filter_map(|r| self.dp.real_slot(s.id, r.addr, r.port))
                    .collect();
                (s.id, slots)
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
        self.specs.iter().zip(&self.policy).find_map(|(s, p)| {
            s.reals
                .iter()
                .chain(p.sorry.as_ref())
                .find(|r| self.dp.real_slot(s.id, r.addr, r.port) == Some(slot))
                .map(|r| (r.addr, r.port))
        })
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

    pub fn connections(
        &self,
        limit: usize,
    ) -> Vec<(xlvs_dataplane::abi::FlowKey, xlvs_dataplane::abi::Conn)> {
        self.dp.connections(limit)
    }

    /// ipvsadm -Z: zeroes the counters of one service (VIP, protocol,
    /// port), or of all.
    pub fn zero(&mut self, service: Option<(Ipv4Addr, Protocol, u16)>) -> Result<(), String> {
        let chosen: Vec<&ServiceSpec> = self
            .specs
            .iter()
            .filter(|s| service.is_none_or(|k| (s.vip, s.protocol, s.ports[0]) == k))
            .collect();
        // ipvsadm -Z zeroes all services, also none at all (as IPVS does).
        if chosen.is_empty() && service.is_some() {
            return Err("Service not defined".into());
        }
        let ids: Vec<u32> = chosen.iter().map(|s| s.id).collect();
        let slots: Vec<u32> = chosen
            .iter()
            .flat_map(|s| {
                s.reals
                    .iter()
                    .filter_map(|r| self.dp.real_slot(s.id, r.addr, r.port))
            })
            .collect();
        self.dp.zero(&ids, &slots).map_err(|e| e.to_string())
    }

    /// ipvsadm --set: connection timeouts in seconds; 0 leaves one as is.
    pub fn set_timeouts(&mut self, tcp: u32, tcpfin: u32, udp: u32) -> Result<(), String> {
        let mut g = self.dp.globals().map_err(|e| e.to_string())?;
        for (field, v) in [
            (&mut g.tcp_timeout_s, tcp),
            (&mut g.tcpfin_timeout_s, tcpfin),
            (&mut g.udp_timeout_s, udp),
        ] {
            if v != 0 {
                *field = v;
            }
        }
        self.dp.set_globals(g).map_err(|e| e.to_string())
    }

    /// Removes the pins: the XDP program detaches when we exit.
    pub fn cleanup(&mut self) -> Result<(), DataplaneError> {
        self.dp.unpin()
    }

    pub fn stats(&self) -> Result<Vec<(&'static str, u64)>, DataplaneError> {
        self.dp.stats()
    }
}

/// Takes a DR backend's MAC from the neighbour table, or asks the kernel
/// to resolve it (the next refresh finds it).
fn resolve_mac(
    r: &mut RealSpec,
    table: &BTreeMap<Ipv4Addr, [u8; 6]>,
    unresolved: &mut BTreeMap<Ipv4Addr, ()>,
) {
    match table.get(&r.addr) {
        Some(&mac) => {
            r.mac = mac;
            if unresolved.remove(&r.addr).is_some() {
                tracing::info!(real = %r.addr, "real server MAC resolved");
            }
        }
        None => {
            crate::host::resolve_neighbour(r.addr);
            if unresolved.insert(r.addr, ()).is_none() {
                tracing::warn!(real = %r.addr, "no MAC for real server yet: no new flows to it until it answers ARP");
            }
        }
    }
}

/// A service for listings.
pub struct ServiceView<'a> {
    index: usize,
    pub spec: &'a ServiceSpec,
    pub name: &'a str,
    pub persistence: Option<(u32, Ipv4Addr)>,
    pub scheduler: Scheduler,
    fwd: &'a Forwarder,
}

impl ServiceView<'_> {
    /// The weight new flows see now, as programmed: 0 while the real is
    /// unusable or the sorry server serves, less than configured during
    /// slow start.
    pub fn effective_weight(&self, r: &RealSpec) -> u16 {
        self.fwd
            .programmed_weight(self.index, r)
            .min(u32::from(u16::MAX)) as u16
    }

    /// Whether the real passes its health check (always, with none).
    pub fn healthy(&self, r: &RealSpec) -> bool {
        self.fwd.passes(self.index, r)
    }

    /// The sorry server, if the service has one: in the data plane (at
    /// weight 1) only while it takes the new flows.
    pub fn sorry(&self) -> Option<&RealSpec> {
        self.fwd.policy[self.index].sorry.as_ref()
    }
}
