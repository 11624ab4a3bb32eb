//! Programming a service: its reals, its Maglev table, its keys. The table
//! is built in a new map beside the live one and swapped in with a single
//! update of the `maglev` map, so no packet sees a half-built table.

use crate::abi::{self, Real, SvcKey, SvcVal};
use crate::loader::{map_err, Dataplane, DataplaneError};
use aya::maps::Array;
use std::net::Ipv4Addr;
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
    /// What Maglev hashes to pick a real.
    pub hash: HashOn,
    pub reals: Vec<RealSpec>,
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
        // Reals first: the table about to point at them must find them.
        let mut slot_of = Vec::with_capacity(spec.reals.len());
        for r in &spec.reals {
            let slot = self
                .slots
                .take(spec.id, r.addr, r.port)
                .expect("room checked");
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

        let backends: Vec<Backend> = spec
            .reals
            .iter()
            .map(|r| Backend::new(r.addr, r.port, r.weight))
            .collect();
        let table = Table::build(self.limits.table_size, &backends)?;
        let m = self.limits.table_size.get();
        let mut inner: Array<aya::maps::MapData, u32> =
            Array::create(m, BPF_F_INNER_MAP).map_err(map_err("maglev table"))?;
        let order: Vec<u32> = table
            .backends()
            .iter()
            .map(|b| {
                slot_of
                    .iter()
                    .find(|(k, _)| *k == (b.addr, b.port))
                    .map(|(_, s)| *s)
                    .expect("every backend has a slot")
            })
            .collect();
        for (i, &b) in table.slots().iter().enumerate() {
            let real = if b == xlvs_maglev::NO_BACKEND {
                abi::NO_REAL
            } else {
                order[b as usize]
            };
            inner
                .set(i as u32, real, 0)
                .map_err(map_err("maglev table"))?;
        }
        self.maglev
            .set(spec.id, &inner, 0)
            .map_err(map_err("maglev"))?;

        let val = SvcVal {
            id: spec.id,
            // The C program's names for the methods.
            forward: match spec.forward {
                Forward::Dr => abi::FWD_DR,
                Forward::Tun => abi::FWD_TUN,
                Forward::Fullnat => abi::FWD_FULLNAT,
                Forward::Nat => abi::FWD_NAT,
            },
            flags: match spec.hash {
                HashOn::Flow => 0,
                HashOn::Source(_) => abi::SVC_F_HASH_SRC,
                HashOn::Destination => abi::SVC_F_HASH_DST,
            },
            pad: 0,
            table_size: m,
            src_mask: match spec.hash {
                HashOn::Source(mask) => mask.octets(),
                _ => [0; 4],
            },
        };
        // Replies are looked for once a NAT or FULLNAT service exists, and
        // port 0 once a service has it (each flag stays: it costs one
        // lookup on traffic for no service).
        let mut flags = 0;
        if matches!(spec.forward, Forward::Fullnat | Forward::Nat) {
            flags |= abi::G_F_NAT;
        }
        if spec.ports.contains(&0) {
            flags |= abi::G_F_PORT0;
        }
        let mut g = self.globals()?;
        if g.flags & flags != flags {
            g.flags |= flags;
            self.set_globals(g)?;
        }
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
        self.invalidate_flow_cache()
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
        for slot in self.slots.release_others(spec.id, &[]) {
            self.reals
                .set(slot, Real::default(), 0)
                .map_err(map_err("reals"))?;
        }
        self.invalidate_flow_cache()
    }
}
