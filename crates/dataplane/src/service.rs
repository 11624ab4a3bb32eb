//! Programming a service: its reals, what its scheduler reads (a Maglev
//! table, a sequence, or a destination list), its keys. A table or
//! sequence is built in a new map beside the live one and swapped in with
//! a single update of the `maglev` map, so no packet sees a half-built
//! one.

use crate::abi::{self, Real, SchedDest, SchedDests, SvcKey, SvcVal};
use crate::loader::{map_err, Dataplane, DataplaneError};
use crate::proxy::ProxyVersion;
use crate::sched_model::{self, CountKind, LocalityKind, SequenceKind};
use aya::maps::Array;
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_config::{Forward, Protocol};
use xlvs_maglev::{Backend, Table};

/// Lets inner maps differ in size from the template in bpf/maps.h; the
/// kernel requires the same flags on both.
const BPF_F_INNER_MAP: u32 = 1 << 12;

/// What a service's Maglev lookup hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashOn {
    /// The 5-tuple (`mh`).
    Flow,
    /// The client address masked by this: persistence like ipvsadm -p/-M,
    /// and `sh` (mask 255.255.255.255).
    Source(Ipv4Addr),
    /// The destination address (`dh`).
    Destination,
}

/// How a service chooses the real of a new flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduling {
    /// mh, sh, dh: Maglev, the same on every director.
    Maglev(HashOn),
    /// rr, wrr, fo: a sequence each CPU walks (bpf/sequence.h).
    Sequence(SequenceKind),
    /// lc, wlc, sed, nq, ovf, twos: the reals' connections
    /// (bpf/counts.h).
    Counts(CountKind),
    /// lblc, lblcr: destination-address locality (bpf/locality.h); a
    /// destination's real(s) are forgotten after `expiry` unused (lblcr:
    /// its most loaded real is dropped after `expiry` unchanged).
    Locality {
        kind: LocalityKind,
        expiry: Duration,
    },
}

impl Scheduling {
    /// Whether XDP keeps the reals' connection counts for it.
    pub fn uses_counts(self) -> bool {
        matches!(self, Scheduling::Counts(_) | Scheduling::Locality { .. })
    }

    fn raw(self) -> u8 {
        match self {
            Scheduling::Maglev(_) => abi::SCHED_MAGLEV,
            Scheduling::Sequence(_) => abi::SCHED_SEQ,
            Scheduling::Counts(k) => match k {
                CountKind::Lc => abi::SCHED_LC,
                CountKind::Wlc => abi::SCHED_WLC,
                CountKind::Sed => abi::SCHED_SED,
                CountKind::Nq => abi::SCHED_NQ,
                CountKind::Ovf => abi::SCHED_OVF,
                CountKind::Twos => abi::SCHED_TWOS,
            },
            Scheduling::Locality { kind, .. } => match kind {
                LocalityKind::Lblc => abi::SCHED_LBLC,
                LocalityKind::Lblcr => abi::SCHED_LBLCR,
            },
        }
    }
}

/// ipvsadm -p and -M: a client's new flows go to the real of its earlier
/// ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persistence {
    /// How long after the last packet of a client's flows (at whole
    /// seconds).
    pub timeout: Duration,
    /// Clients that share address & mask count as one.
    pub mask: Ipv4Addr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealSpec {
    pub addr: Ipv4Addr,
    /// 0: the client's destination port.
    pub port: u16,
    /// 0: quiescent (keeps its connections, gets no new ones).
    pub weight: u32,
    /// DR: the real's MAC on the shared segment.
    pub mac: [u8; 6],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The daemon's index for the service, below `Limits::services`.
    pub id: u32,
    pub vip: Ipv4Addr,
    pub protocol: Protocol,
    /// One or more ports; [0] takes every port of the VIP.
    pub ports: Vec<u16>,
    pub forward: Forward,
    pub scheduler: Scheduling,
    /// Maglev schedulers hash the masked client address instead of what
    /// their `HashOn` says (no state, the same on every director); the
    /// others keep a template per masked client (bpf/persist.h).
    pub persistence: Option<Persistence>,
    /// FULLNAT TCP: the kind of the TCP option that carries the client's
    /// address and port to the real (bpf/toa.h); `None`: no option.
    pub toa: Option<u8>,
    /// FULLNAT TCP: the PROXY protocol header sent before the client's
    /// data (bpf/proxy.h); `None`: no header. Not with `toa`.
    pub proxy: Option<ProxyVersion>,
    pub reals: Vec<RealSpec>,
}

impl ServiceSpec {
    /// Why the spec's TOA or PROXY settings cannot be, if so: the PROXY
    /// header goes only to FULLNAT TCP reals (under DR and TUN the real
    /// sees the client anyway; UDP has no stream to shift), and a flow
    /// gets one or the other (both would name the client twice and move
    /// the TOA's packet).
    fn client_address_error(&self) -> Option<&'static str> {
        self.proxy?;
        if self.toa.is_some() {
            return Some("TOA and the PROXY protocol are exclusive");
        }
        if self.forward != Forward::Fullnat || self.protocol != Protocol::Tcp {
            return Some("the PROXY protocol is for FULLNAT TCP services only");
        }
        None
    }

    /// Whether XDP keeps persistence templates for it: persistence on a
    /// scheduler that does not hash (Maglev's persistence is its hash).
    pub fn keeps_templates(&self) -> bool {
        self.persistence.is_some() && !matches!(self.scheduler, Scheduling::Maglev(_))
    }

    /// What Maglev hashes, for a Maglev scheduler.
    fn hash(&self) -> Option<HashOn> {
        match (self.scheduler, self.persistence) {
            (Scheduling::Maglev(_), Some(p)) => Some(HashOn::Source(p.mask)),
            (Scheduling::Maglev(h), None) => Some(h),
            _ => None,
        }
    }
}

impl Dataplane {
    /// Creates or replaces a service. Connections to reals that stay keep
    /// their real; the new table takes effect in one step.
    pub fn set_service(&mut self, spec: &ServiceSpec) -> Result<(), DataplaneError> {
        let limit = self.limits.services;
        if spec.id >= limit {
            return Err(DataplaneError::TooManyServices { id: spec.id, limit });
        }
        let new = spec
            .reals
            .iter()
            .filter(|r| self.slots.get(spec.id, r.addr, r.port).is_none())
            .count();
        if new > self.slots.free_count() {
            return Err(DataplaneError::TooManyReals {
                needed: new,
                limit: self.limits.reals,
            });
        }
        // Refused before anything is written.
        if let Some(why) = spec.client_address_error() {
            return Err(DataplaneError::ServiceSpec { id: spec.id, why });
        }
        let weights: Vec<u32> = spec.reals.iter().map(|r| r.weight).collect();
        match spec.scheduler {
            Scheduling::Sequence(kind) => {
                sched_model::sequence(kind, &weights, self.limits.table_size.get())?;
            }
            Scheduling::Counts(_) | Scheduling::Locality { .. } => {
                let count = weights.iter().filter(|&&w| w > 0).count();
                if count > abi::MAX_DESTS {
                    let limit = abi::MAX_DESTS;
                    return Err(DataplaneError::TooManyDests { count, limit });
                }
            }
            Scheduling::Maglev(_) => {}
        }
        // Reals first: the table about to point at them must find them.
        let mut slot_of = Vec::with_capacity(spec.reals.len());
        for r in &spec.reals {
            let slot = self
                .slots
                .take(spec.id, r.addr, r.port)
                .expect("room checked");
            // Its next hop (or none) before XDP can find the real there.
            self.write_next_hop(slot, r.addr)?;
            let real = Real {
                addr: r.addr.octets(),
                port: r.port.to_be_bytes(),
                mac: r.mac,
                flags: 1,
                pad: 0,
                svc: spec.id as u16,
            };
            self.reals.set(slot, real, 0).map_err(map_err("reals"))?;
            slot_of.push(((r.addr, r.port), slot));
        }

        let table_size = match spec.scheduler {
            Scheduling::Maglev(_) => self.set_maglev_table(spec, &slot_of)?,
            Scheduling::Sequence(kind) => self.set_sequence(spec, kind, &slot_of)?,
            Scheduling::Counts(_) | Scheduling::Locality { .. } => {
                self.set_dests(spec, &slot_of)?;
                0
            }
        };
        let hash = spec.hash();
        let persist = spec.persistence.filter(|_| spec.keeps_templates());
        let mut svc_flags = match hash {
            Some(HashOn::Source(_)) => abi::SVC_F_HASH_SRC,
            Some(HashOn::Destination) => abi::SVC_F_HASH_DST,
            _ => 0,
        };
        if spec.scheduler.uses_counts() {
            svc_flags |= abi::SVC_F_COUNTS;
            self.counted.insert(spec.id);
        } else {
            self.counted.remove(&spec.id);
        }
        if persist.is_some() {
            svc_flags |= abi::SVC_F_PERSIST;
        }
        if spec.toa.is_some() && spec.forward == Forward::Fullnat && spec.protocol == Protocol::Tcp
        {
            svc_flags |= abi::SVC_F_TOA;
        }
        svc_flags |= match spec.proxy {
            Some(ProxyVersion::V1) => abi::SVC_F_PROXY_V1,
            Some(ProxyVersion::V2) => abi::SVC_F_PROXY_V2,
            None => 0,
        };
        let src_mask = match (hash, persist) {
            (Some(HashOn::Source(mask)), _) => mask.octets(),
            (_, Some(p)) => p.mask.octets(),
            _ => [0; 4],
        };
        let val = SvcVal {
            id: spec.id,
            // The C program's names for the methods.
            forward: match spec.forward {
                Forward::Dr => abi::FWD_DR,
                Forward::Tun => abi::FWD_TUN,
                Forward::Fullnat => abi::FWD_FULLNAT,
                Forward::Nat => abi::FWD_NAT,
            },
            flags: svc_flags,
            sched: spec.scheduler.raw(),
            toa_kind: spec.toa.unwrap_or(0),
            table_size,
            src_mask,
            persist_s: persist.map_or(0, |p| secs(p.timeout)),
            locality_s: match spec.scheduler {
                Scheduling::Locality { expiry, .. } => secs(expiry),
                _ => 0,
            },
        };
        // Replies are looked for once a NAT or FULLNAT service exists, and
        // port 0 once a service has it (each flag stays: it costs one
        // lookup on traffic for no service); FULLNAT flows are checked for
        // a TOA once a service sends one (the same).
        let mut flags = 0;
        if matches!(spec.forward, Forward::Fullnat | Forward::Nat) {
            flags |= abi::G_F_NAT;
        }
        if spec.ports.contains(&0) {
            flags |= abi::G_F_PORT0;
        }
        if svc_flags & abi::SVC_F_TOA != 0 {
            flags |= abi::G_F_TOA;
        }
        if spec.proxy.is_some() {
            flags |= abi::G_F_PROXY;
        }
        let mut g = self.globals()?;
        if g.flags & flags != flags {
            g.flags |= flags;
            self.set_globals(g)?;
        }
        // Its VIP (and NAT reals) where XDP tells service traffic apart
        // before it can find the keys; what it no longer uses goes below.
        let nat = spec.forward == Forward::Nat;
        self.addrs.services.insert((spec.id, spec.vip), nat);
        self.sync_addresses(false)?;
        for &port in &spec.ports {
            let key = SvcKey::new(spec.vip, spec.protocol.number(), port);
            self.services
                .insert(key, val, 0)
                .map_err(map_err("services"))?;
        }

        // Reals no longer listed: their connections are scheduled again.
        let keep: Vec<(Ipv4Addr, u16)> = spec.reals.iter().map(|r| (r.addr, r.port)).collect();
        for slot in self.slots.release_others(spec.id, &keep) {
            self.reals
                .set(slot, Real::default(), 0)
                .map_err(map_err("reals"))?;
        }
        self.sync_addresses(true)?;
        self.invalidate_flow_cache()
    }

    /// The Maglev table of a Maglev service; returns M.
    fn set_maglev_table(
        &mut self,
        spec: &ServiceSpec,
        slot_of: &[((Ipv4Addr, u16), u32)],
    ) -> Result<u32, DataplaneError> {
        let backends: Vec<Backend> = spec
            .reals
            .iter()
            .map(|r| Backend::new(r.addr, r.port, r.weight))
            .collect();
        let table = Table::build(self.limits.table_size, &backends)?;
        let order: Vec<u32> = table
            .backends()
            .iter()
            .map(|b| slot(slot_of, b.addr, b.port))
            .collect();
        let slots: Vec<u32> = table
            .slots()
            .iter()
            .map(|&b| {
                if b == xlvs_maglev::NO_BACKEND {
                    abi::NO_REAL
                } else {
                    order[b as usize]
                }
            })
            .collect();
        self.swap_table(spec.id, &slots)?;
        Ok(self.limits.table_size.get())
    }

    /// rr, wrr, fo: the sequence in the service's table; returns its
    /// length (0: no real has a weight, new flows are dropped).
    fn set_sequence(
        &mut self,
        spec: &ServiceSpec,
        kind: SequenceKind,
        slot_of: &[((Ipv4Addr, u16), u32)],
    ) -> Result<u32, DataplaneError> {
        let weights: Vec<u32> = spec.reals.iter().map(|r| r.weight).collect();
        let order = sched_model::sequence(kind, &weights, self.limits.table_size.get())?;
        let slots: Vec<u32> = order
            .iter()
            .map(|&i| slot(slot_of, spec.reals[i].addr, spec.reals[i].port))
            .collect();
        self.swap_table(spec.id, &slots)?;
        Ok(slots.len() as u32)
    }

    /// Builds a table of `slots` in a new map and swaps it in.
    fn swap_table(&mut self, id: u32, slots: &[u32]) -> Result<(), DataplaneError> {
        // (An array has at least one entry; an empty sequence has size 0.)
        let size = (slots.len() as u32).max(1);
        let mut inner: Array<aya::maps::MapData, u32> =
            Array::create(size, BPF_F_INNER_MAP).map_err(map_err("maglev table"))?;
        for (i, &real) in slots.iter().enumerate() {
            inner
                .set(i as u32, real, 0)
                .map_err(map_err("maglev table"))?;
        }
        self.maglev.set(id, &inner, 0).map_err(map_err("maglev"))
    }

    /// The destination list of a connection-count or locality service:
    /// the reals with a weight, in config order. Written in one update;
    /// a packet reading it meanwhile may see old and new entries mixed,
    /// all of them reals still in the `reals` map (reals that go are
    /// freed after this).
    fn set_dests(
        &mut self,
        spec: &ServiceSpec,
        slot_of: &[((Ipv4Addr, u16), u32)],
    ) -> Result<(), DataplaneError> {
        // (at most MAX_DESTS: checked by set_service)
        let weighted: Vec<&RealSpec> = spec.reals.iter().filter(|r| r.weight > 0).collect();
        let mut list = SchedDests::default();
        for (d, r) in list.dest.iter_mut().zip(&weighted) {
            *d = SchedDest {
                real: slot(slot_of, r.addr, r.port),
                weight: r.weight,
            };
        }
        list.count = weighted.len() as u32;
        list.total = weighted.iter().map(|r| r.weight).sum();
        self.sched_dests
            .set(spec.id, list, 0)
            .map_err(map_err("sched_dests"))
    }

    /// The slot of a real of a service, for its counters.
    pub fn real_slot(&self, service: u32, addr: Ipv4Addr, port: u16) -> Option<u32> {
        self.slots.get(service, addr, port)
    }

    /// Removes a service's keys and frees its reals.
    pub fn remove_service(&mut self, spec: &ServiceSpec) -> Result<(), DataplaneError> {
        for &port in &spec.ports {
            let key = SvcKey::new(spec.vip, spec.protocol.number(), port);
            match self.services.remove(&key) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(map_err("services")(e)),
            }
        }
        self.counted.remove(&spec.id);
        for slot in self.slots.release_others(spec.id, &[]) {
            self.reals
                .set(slot, Real::default(), 0)
                .map_err(map_err("reals"))?;
        }
        self.addrs.services.remove(&(spec.id, spec.vip));
        self.sync_addresses(true)?;
        self.invalidate_flow_cache()
    }
}

/// The slot given to real (addr, port) of the service being programmed.
fn slot(slot_of: &[((Ipv4Addr, u16), u32)], addr: Ipv4Addr, port: u16) -> u32 {
    slot_of
        .iter()
        .find(|(k, _)| *k == (addr, port))
        .map(|(_, s)| *s)
        .expect("every real has a slot")
}

/// Whole seconds, at least 1 (0 would mean "never" to no one).
fn secs(d: Duration) -> u32 {
    d.as_secs().clamp(1, u64::from(u32::MAX)) as u32
}
