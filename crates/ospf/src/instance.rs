//! The protocol core: one OSPF instance (one area) as a deterministic state
//! machine. Inputs are packets, the passage of time and commands, each with
//! the current time; outputs are packets to send. No sockets, no clocks:
//! the driver (or a test) owns both.
//!
//! The work is spread over files by protocol concept: `hello.rs` (10.5),
//! `exchange.rs` (database exchange, 10.6-10.8), `flood.rs` (section 13),
//! `origin.rs` (our LSAs, 12.4 and 13.4). They all `impl Instance`.

use crate::config::{Auth, Config, NetworkType, RXMT_INTERVAL};
use crate::graceful::Grace;
use crate::interface::{IfState, IfaceId, Interface};
use crate::lsdb::Lsdb;
use crate::neighbor::{transition, NbrAction, NbrEvent, NbrState};
use crate::origin::Origin;
use crate::stats::Stats;
use crate::wire::auth::md5_verify;
use crate::wire::{AuthField, Body, Header, Packet};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Instant;

pub const ALL_SPF_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 5);
pub const ALL_D_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 6);

/// IP header plus the MD5 digest: what an OSPF packet must leave room for
/// within the interface MTU.
pub(crate) const IP_HEADER: usize = 20;
pub(crate) const PACKET_OVERHEAD: usize = IP_HEADER + 16;

/// A packet to send out of interface `iface` to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub iface: IfaceId,
    pub dst: Ipv4Addr,
    pub bytes: Vec<u8>,
}

pub struct Instance {
    pub(crate) router_id: Ipv4Addr,
    pub(crate) area_id: Ipv4Addr,
    /// In order of configuration; internally addressed by position,
    /// outside by [`IfaceId`].
    pub(crate) ifaces: Vec<Interface>,
    /// The id the next added interface gets.
    pub(crate) next_iface: IfaceId,
    pub(crate) lsdb: Lsdb,
    pub(crate) origin: Origin,
    pub(crate) stats: Stats,
    /// The MD5 sequence number base, from the wall clock at start, so it
    /// never goes backwards across restarts; it advances with `started`
    /// (see crypto_seq.rs).
    pub(crate) crypto_seed: u32,
    pub(crate) started: Instant,
    pub(crate) out: Vec<Output>,
    /// Mismatches already logged, so each is logged once per neighbor.
    pub(crate) logged: BTreeSet<(IfaceId, Ipv4Addr, &'static str)>,
    pub(crate) shutting_down: bool,
    pub(crate) grace: Grace,
}

impl Instance {
    /// A new instance; interfaces start Down until `interface_up`.
    /// `crypto_seed` should be the wall clock in seconds.
    pub fn new(config: Config, now: Instant, crypto_seed: u32) -> Instance {
        let mut next_iface = IfaceId::default();
        let mut ifaces = Vec::new();
        for c in config.interfaces {
            ifaces.push(Interface::new(next_iface, c, now));
            next_iface = next_iface.next();
        }
        Instance {
            router_id: config.router_id,
            area_id: config.area_id,
            ifaces,
            next_iface,
            lsdb: Lsdb::default(),
            origin: Origin::new(config.vip_mode),
            stats: Stats::default(),
            crypto_seed,
            started: now,
            out: Vec::new(),
            logged: BTreeSet::new(),
            shutting_down: false,
            grace: Grace::Off,
        }
    }

    pub fn router_id(&self) -> Ipv4Addr {
        self.router_id
    }

    /// Packets to send, in order.
    pub fn drain_output(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// The interfaces' ids, in order of configuration.
    pub fn interface_ids(&self) -> Vec<IfaceId> {
        self.ifaces.iter().map(|i| i.id).collect()
    }

    /// The position of interface `id` in `ifaces`.
    pub(crate) fn index(&self, id: IfaceId) -> Option<usize> {
        self.ifaces.iter().position(|i| i.id == id)
    }

    /// Sets what the kernel says about an interface (its address may only
    /// be known once the link exists). Takes effect while it is Down.
    pub fn set_link(&mut self, id: IfaceId, address: Ipv4Addr, prefix_len: u8, mtu: u16) {
        if let Some(i) = self.ifaces.iter_mut().find(|i| i.id == id) {
            if i.state == IfState::Down {
                i.config.address = address;
                i.config.prefix_len = prefix_len;
                i.config.mtu = mtu;
            }
        }
    }

    /// The address, prefix length and MTU in use on an interface.
    pub fn link(&self, id: IfaceId) -> Option<(Ipv4Addr, u8, u16)> {
        self.ifaces
            .iter()
            .find(|i| i.id == id)
            .map(|i| (i.config.address, i.config.prefix_len, i.config.mtu))
    }

    /// The interface's link is up and its socket ready.
    pub fn interface_up(&mut self, id: IfaceId, now: Instant) {
        let Some(iface) = self.index(id) else {
            return;
        };
        let i = &mut self.ifaces[iface];
        if i.state != IfState::Down {
            return;
        }
        i.up(now);
        tracing::info!(interface = %i.config.name, state = i.state.name(), "OSPF interface up");
        self.originate(now);
        self.on_timeout(now);
    }

    /// InterfaceDown (9.3): every neighbor is killed (KillNbr). The
    /// interface is Down first, so the Router-LSA re-originated as the
    /// adjacencies go already lacks its links, and no election runs on it.
    pub fn interface_down(&mut self, id: IfaceId, now: Instant) {
        if let Some(iface) = self.index(id) {
            self.down(iface, now);
        }
    }

    /// KillNbr (10.2) for neighbor `router_id` on interface `id`, from
    /// outside the protocol: BFD says the path to it is gone. The neighbor
    /// goes Down and is forgotten at once, as at InactivityTimer, and
    /// comes back through Init with its next Hello. False if there is no
    /// such neighbor.
    pub fn kill_neighbor(&mut self, now: Instant, id: IfaceId, router_id: Ipv4Addr) -> bool {
        let Some(iface) = self.index(id) else {
            return false;
        };
        if !self.ifaces[iface].neighbors.contains_key(&router_id) {
            return false;
        }
        self.nbr_event(iface, router_id, NbrEvent::KillNbr, now);
        true
    }

    /// InterfaceDown on the interface at position `iface`.
    pub(crate) fn down(&mut self, iface: usize, now: Instant) {
        let i = &mut self.ifaces[iface];
        if i.state == IfState::Down {
            return;
        }
        i.state = IfState::Down;
        self.origin.hold(now);
        let i = &mut self.ifaces[iface];
        i.delayed_acks.clear();
        i.ack_due = None;
        let ids: Vec<Ipv4Addr> = i.neighbors.keys().copied().collect();
        for id in ids {
            self.nbr_event(iface, id, NbrEvent::KillNbr, now);
        }
        let i = &mut self.ifaces[iface];
        i.dr = Ipv4Addr::UNSPECIFIED;
        i.bdr = Ipv4Addr::UNSPECIFIED;
        tracing::info!(interface = %i.config.name, "OSPF interface down");
        self.originate(now);
    }

    /// A packet received on `iface` from `src` to `dst` (the IP payload).
    pub fn handle_packet(
        &mut self,
        now: Instant,
        id: IfaceId,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        bytes: &[u8],
    ) {
        self.stats.rx_packets += 1;
        let Some(iface) = self.index(id) else {
            return;
        };
        if self.ifaces[iface].state == IfState::Down {
            return;
        }
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                tracing::debug!(interface = %self.ifaces[iface].config.name, %src, error = %e, "malformed OSPF packet dropped");
                return;
            }
        };
        if !self.accept_header(iface, src, dst, &packet.header, bytes) {
            return;
        }
        let rid = packet.header.router_id;
        match packet.body {
            Body::Hello(h) => self.rx_hello(now, iface, src, rid, h),
            body => {
                // Everything but Hellos needs a neighbor we know (10.5).
                if !self.ifaces[iface].neighbors.contains_key(&rid) {
                    tracing::debug!(interface = %self.ifaces[iface].config.name, %src, router_id = %rid, "packet from unknown neighbor dropped");
                    return;
                }
                match body {
                    Body::Dbd(d) => self.rx_dbd(now, iface, rid, d),
                    Body::LsRequest(keys) => self.rx_lsr(now, iface, rid, keys),
                    Body::LsUpdate(lsas) => self.rx_lsu(now, iface, rid, lsas),
                    Body::LsAck(headers) => self.rx_ack(now, iface, rid, headers),
                    Body::Hello(_) => unreachable!("handled above"),
                }
            }
        }
        // D.5.2: an accepted packet's sequence number is recorded for its
        // neighbor, after the packet, since a Hello may create the neighbor.
        if let AuthField::Md5 { seq, .. } = packet.header.auth {
            if let Some(nbr) = self.ifaces[iface].neighbors.get_mut(&rid) {
                nbr.crypto_seq = Some(seq);
            }
        }
    }

    /// Section 8.2 checks common to every packet: area, our own packets,
    /// AllDRouters, authentication.
    fn accept_header(
        &mut self,
        iface: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        header: &Header,
        bytes: &[u8],
    ) -> bool {
        let i = &self.ifaces[iface];
        if header.router_id == self.router_id {
            if src != i.config.address {
                self.mismatch(
                    iface,
                    src,
                    "duplicate router id",
                    format!("{}", header.router_id),
                    String::new(),
                );
            }
            return false;
        }
        if header.area_id != self.area_id {
            let (ours, theirs) = (self.area_id.to_string(), header.area_id.to_string());
            self.mismatch(iface, src, "area", ours, theirs);
            return false;
        }
        // A DR Other does not listen to AllDRouters.
        if dst == ALL_D_ROUTERS {
            return false;
        }
        let ok = match (&i.config.auth, header.auth) {
            (Auth::None, AuthField::Null) => true,
            (Auth::Md5 { key_id, key }, AuthField::Md5 { key_id: got, seq }) => {
                let length = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
                let replayed = i
                    .neighbors
                    .get(&header.router_id)
                    .and_then(|n| n.crypto_seq)
                    .is_some_and(|last| seq < last);
                if *key_id != got {
                    self.stats.auth_failures += 1;
                    self.mismatch(
                        iface,
                        src,
                        "authentication key id",
                        key_id.to_string(),
                        got.to_string(),
                    );
                    return false;
                }
                if replayed {
                    self.stats.auth_failures += 1;
                    tracing::debug!(%src, seq, "MD5 sequence number went backwards: packet dropped");
                    return false;
                }
                md5_verify(bytes, length, key)
            }
            (ours, theirs) => {
                let ours = match ours {
                    Auth::None => "null",
                    Auth::Md5 { .. } => "md5",
                };
                let theirs = match theirs {
                    AuthField::Null => "null",
                    AuthField::Simple(_) => "simple",
                    AuthField::Md5 { .. } => "md5",
                };
                self.stats.auth_failures += 1;
                self.mismatch(
                    iface,
                    src,
                    "authentication type",
                    ours.into(),
                    theirs.into(),
                );
                return false;
            }
        };
        if !ok {
            self.stats.auth_failures += 1;
            self.mismatch(
                iface,
                src,
                "authentication digest",
                "key".into(),
                "digest does not verify".into(),
            );
        }
        ok
    }

    /// Logs a configuration mismatch once per (interface, neighbor, kind),
    /// and counts every occurrence.
    pub(crate) fn mismatch(
        &mut self,
        iface: usize,
        src: Ipv4Addr,
        kind: &'static str,
        ours: String,
        theirs: String,
    ) {
        *self.stats.mismatches.entry(kind).or_default() += 1;
        if self.logged.insert((self.ifaces[iface].id, src, kind)) {
            tracing::warn!(
                interface = %self.ifaces[iface].config.name,
                neighbor = %src,
                ours = %ours,
                theirs = %theirs,
                "OSPF {kind} mismatch: packets from this neighbor are ignored"
            );
        }
    }

    /// Sends a packet out of `iface`, adding the header and authentication.
    /// Every packet, a retransmission too, goes through here, so its MD5
    /// sequence number and digest are those of the moment it is sent.
    pub(crate) fn send(&mut self, now: Instant, iface: usize, dst: Ipv4Addr, body: Body) {
        let i = &mut self.ifaces[iface];
        let (auth, key) = match &i.config.auth {
            Auth::None => (AuthField::Null, None),
            Auth::Md5 { key_id, key } => {
                let seq = i.crypto_seq.next(self.crypto_seed, self.started, now);
                (
                    AuthField::Md5 {
                        key_id: *key_id,
                        seq,
                    },
                    Some(*key),
                )
            }
        };
        let packet = Packet {
            header: Header {
                kind: body.kind(),
                router_id: self.router_id,
                area_id: self.area_id,
                auth,
            },
            body,
        };
        let bytes = packet.emit(key.as_ref());
        self.stats.tx_packets += 1;
        let iface = self.ifaces[iface].id;
        self.out.push(Output { iface, dst, bytes });
    }

    /// Where packets to one neighbor go: its address on broadcast
    /// networks, AllSPFRouters on point-to-point (works unnumbered too).
    pub(crate) fn unicast_dst(&self, iface: usize, rid: Ipv4Addr) -> Ipv4Addr {
        let i = &self.ifaces[iface];
        match i.config.network {
            NetworkType::PointToPoint => ALL_SPF_ROUTERS,
            NetworkType::Broadcast => i.neighbors.get(&rid).map_or(ALL_SPF_ROUTERS, |n| n.addr),
        }
    }

    /// Where flooded LSAs and delayed acks go (13.3, 13.5).
    pub(crate) fn flood_dst(&self, iface: usize) -> Ipv4Addr {
        match self.ifaces[iface].config.network {
            NetworkType::PointToPoint => ALL_SPF_ROUTERS,
            NetworkType::Broadcast => ALL_D_ROUTERS,
        }
    }

    /// The largest OSPF payload (header and body) that fits the interface.
    pub(crate) fn max_payload(&self, iface: usize) -> usize {
        usize::from(self.ifaces[iface].config.mtu).saturating_sub(PACKET_OVERHEAD)
    }

    /// Runs a neighbor event through the state machine (neighbor.rs) and
    /// carries out its actions.
    pub(crate) fn nbr_event(&mut self, iface: usize, rid: Ipv4Addr, event: NbrEvent, now: Instant) {
        let Some(nbr) = self.ifaces[iface].neighbors.get(&rid) else {
            return;
        };
        let old = nbr.state;
        let Some((new, actions)) = transition(old, event) else {
            return;
        };
        self.ifaces[iface]
            .neighbors
            .get_mut(&rid)
            .expect("present")
            .state = new;
        if old != new {
            let name = self.ifaces[iface].config.name.clone();
            if new == NbrState::Full || old == NbrState::Full || new == NbrState::Down {
                tracing::info!(interface = %name, neighbor = %rid, from = old.name(), to = new.name(), ?event, "OSPF neighbor state change");
            } else {
                tracing::debug!(interface = %name, neighbor = %rid, from = old.name(), to = new.name(), ?event, "OSPF neighbor state change");
            }
        }
        for action in actions {
            match action {
                NbrAction::StartInactivity => {
                    let dead = self.ifaces[iface].config.dead_interval;
                    if let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) {
                        n.inactivity_due = now + std::time::Duration::from_secs(u64::from(dead));
                    }
                }
                NbrAction::StartExchange => self.start_exchange(now, iface, rid),
                NbrAction::BuildSummary => self.build_summary(now, iface, rid),
                NbrAction::SendRequests => self.send_requests(now, iface, rid),
                NbrAction::ClearLists => {
                    if let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) {
                        n.clear_lists();
                        n.dbd_rxmt_due = None;
                    }
                }
                NbrAction::Destroy => {
                    self.ifaces[iface].neighbors.remove(&rid);
                }
            }
        }
        // Section 9.2 NeighborChange: 2-Way entered or left on a broadcast
        // network means the election may change.
        let two_way = |s: NbrState| s >= NbrState::TwoWay;
        if self.ifaces[iface].is_broadcast() && two_way(old) != two_way(new) {
            self.neighbor_change(now, iface);
        }
        // The Router-LSA describes Full adjacencies (12.4.1).
        if (old == NbrState::Full) != (new == NbrState::Full) {
            self.originate(now);
        }
        // An adjacency back may end a graceful restart.
        if new == NbrState::Full {
            self.graceful_progress(now);
        }
    }

    /// Re-runs the election and re-checks every adjacency (AdjOK?).
    pub(crate) fn neighbor_change(&mut self, now: Instant, iface: usize) {
        // A Down interface is losing its neighbors: nothing to elect.
        if self.ifaces[iface].state == IfState::Down || !self.ifaces[iface].elect() {
            return;
        }
        let i = &self.ifaces[iface];
        tracing::info!(interface = %i.config.name, dr = %i.dr, bdr = %i.bdr, "OSPF DR/BDR changed");
        let checks: Vec<(Ipv4Addr, bool)> = i
            .neighbors
            .values()
            .filter(|n| n.state >= NbrState::TwoWay)
            .map(|n| (n.router_id, i.should_be_adjacent(n)))
            .collect();
        for (rid, adjacent) in checks {
            self.nbr_event(iface, rid, NbrEvent::AdjOk { adjacent }, now);
        }
        self.originate(now);
    }

    /// When the instance next needs `handle_timeout`.
    pub fn poll_at(&self) -> Option<Instant> {
        self.ifaces
            .iter()
            .filter_map(|i| i.next_due())
            .chain(self.origin.next_due(&self.lsdb, self.router_id))
            .chain(self.lsdb_next_due())
            .chain(self.grace_due())
            .min()
    }

    /// Time has passed: send Hellos, retransmit, expire neighbors, age the
    /// database, and (re)originate what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.on_timeout(now);
        self.graceful_progress(now);
    }

    fn on_timeout(&mut self, now: Instant) {
        for iface in 0..self.ifaces.len() {
            if self.ifaces[iface].state == IfState::Down {
                continue;
            }
            if self.ifaces[iface].hello_due <= now {
                self.send_hello(now, iface, self.shutting_down);
            }
            if self.ifaces[iface].ack_due.is_some_and(|t| t <= now) {
                self.send_delayed_acks(now, iface);
            }
            let ids: Vec<Ipv4Addr> = self.ifaces[iface].neighbors.keys().copied().collect();
            for rid in ids {
                self.neighbor_timers(now, iface, rid);
            }
        }
        self.age_database(now);
        self.originate(now);
    }

    fn neighbor_timers(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let Some(n) = self.ifaces[iface].neighbors.get(&rid) else {
            return;
        };
        if n.inactivity_due <= now {
            self.nbr_event(iface, rid, NbrEvent::InactivityTimer, now);
            return;
        }
        let (dbd, lsr, lsu) = (n.dbd_rxmt_due, n.lsr_rxmt_due, n.lsu_rxmt_due);
        if dbd.is_some_and(|t| t <= now) {
            self.retransmit_dbd(now, iface, rid);
        }
        if lsr.is_some_and(|t| t <= now) {
            self.send_requests(now, iface, rid);
        }
        if lsu.is_some_and(|t| t <= now) {
            self.retransmit_lsas(now, iface, rid);
        }
    }

    pub(crate) fn rxmt_deadline(now: Instant) -> Instant {
        now + RXMT_INTERVAL
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}
