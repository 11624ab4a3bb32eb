//! What `xlvsadm ospf neighbors|database|interfaces` shows: plain data,
//! serializable to JSON, taken from the instance at a point in time.

use crate::instance::Instance;
use crate::interface::{IfState, IfaceId};
use crate::neighbor::NbrState;
use crate::wire::{ExternalLsa, LsaType, NetworkLsa, RouterLsa};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct NeighborInfo {
    pub interface: String,
    pub router_id: Ipv4Addr,
    pub address: Ipv4Addr,
    pub priority: u8,
    pub state: NbrState,
    /// DR, BDR or DROther on broadcast networks, "-" on point-to-point.
    pub role: &'static str,
    pub dead_in_ms: u64,
    pub up_for_s: u64,
    pub retransmit: usize,
    pub requests: usize,
    pub summary: usize,
}

/// A neighbor as a client of the speaker (BFD) follows it: which one,
/// where, and how far along. Cheaper than [`NeighborInfo`] to take after
/// every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborRef {
    pub iface: IfaceId,
    pub router_id: Ipv4Addr,
    pub address: Ipv4Addr,
    pub state: NbrState,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceInfo {
    pub name: String,
    pub address: String,
    pub network: &'static str,
    pub state: &'static str,
    pub cost: u16,
    pub hello_interval: u16,
    pub dead_interval: u32,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub neighbors: usize,
    pub adjacent: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LsaInfo {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Ipv4Addr,
    pub adv_router: Ipv4Addr,
    pub age: u16,
    pub seq: String,
    pub checksum: String,
    pub length: u16,
    /// A one-line summary of the body (links, mask, metric).
    pub detail: String,
}

impl Instance {
    pub fn neighbors(&self, now: Instant) -> Vec<NeighborInfo> {
        let mut out = Vec::new();
        for i in &self.ifaces {
            for n in i.neighbors.values() {
                let role = match (i.is_broadcast(), n.addr) {
                    (false, _) => "-",
                    (true, a) if a == i.dr => "DR",
                    (true, a) if a == i.bdr => "Backup",
                    (true, _) => "DROther",
                };
                out.push(NeighborInfo {
                    interface: i.config.name.clone(),
                    router_id: n.router_id,
                    address: n.addr,
                    priority: n.priority,
                    state: n.state,
                    role,
                    dead_in_ms: n.inactivity_due.saturating_duration_since(now).as_millis() as u64,
                    up_for_s: now.saturating_duration_since(n.up_since).as_secs(),
                    retransmit: n.retransmit.len(),
                    requests: n.requests.len(),
                    summary: n.summary.len(),
                });
            }
        }
        out
    }

    pub fn neighbor_refs(&self) -> Vec<NeighborRef> {
        let mut out = Vec::new();
        for i in &self.ifaces {
            out.extend(i.neighbors.values().map(|n| NeighborRef {
                iface: i.id,
                router_id: n.router_id,
                address: n.addr,
                state: n.state,
            }));
        }
        out
    }

    pub fn interfaces(&self) -> Vec<InterfaceInfo> {
        self.ifaces
            .iter()
            .map(|i| InterfaceInfo {
                name: i.config.name.clone(),
                address: format!("{}/{}", i.config.address, i.config.prefix_len),
                network: if i.is_broadcast() {
                    "broadcast"
                } else {
                    "point-to-point"
                },
                state: i.state.name(),
                cost: i.config.cost,
                hello_interval: i.config.hello_interval,
                dead_interval: i.config.dead_interval,
                dr: i.dr,
                bdr: i.bdr,
                neighbors: i.neighbors.len(),
                adjacent: i
                    .neighbors
                    .values()
                    .filter(|n| n.state == crate::neighbor::NbrState::Full)
                    .count(),
            })
            .collect()
    }

    pub fn database(&self, now: Instant) -> Vec<LsaInfo> {
        self.lsdb
            .iter()
            .map(|(k, e)| {
                let h = e.header(now);
                LsaInfo {
                    kind: k.kind.name(),
                    id: k.id,
                    adv_router: k.adv_router,
                    age: h.age,
                    seq: format!("{:#010x}", h.seq as u32),
                    checksum: format!("{:#06x}", h.checksum),
                    length: h.length,
                    detail: detail(k.kind, &e.lsa.body),
                }
            })
            .collect()
    }

    /// One LSA as held now (with its current age).
    pub fn lsa(&self, key: &crate::wire::LsaKey, now: Instant) -> Option<crate::wire::Lsa> {
        self.lsdb.get(key).map(|e| e.lsa(now))
    }

    /// Whether any interface is up.
    pub fn is_up(&self) -> bool {
        self.ifaces.iter().any(|i| i.state != IfState::Down)
    }
}

fn detail(kind: LsaType, body: &[u8]) -> String {
    match kind {
        LsaType::ROUTER => match RouterLsa::parse(body) {
            Ok(r) => format!("{} links, flags {:#04x}", r.links.len(), r.flags),
            Err(e) => format!("unparsable: {e}"),
        },
        LsaType::NETWORK => match NetworkLsa::parse(body) {
            Ok(n) => format!("mask {}, {} routers", n.mask, n.routers.len()),
            Err(e) => format!("unparsable: {e}"),
        },
        LsaType::EXTERNAL => match ExternalLsa::parse(body) {
            Ok(x) => format!(
                "mask {}, E{} metric {}",
                x.mask,
                if x.type2 { 2 } else { 1 },
                x.metric
            ),
            Err(e) => format!("unparsable: {e}"),
        },
        _ => String::new(),
    }
}
