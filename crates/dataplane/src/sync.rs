//! Flow-state sync, the data plane's half (bpf/sync.h): the entries XDP
//! reports as it makes, refreshes and closes them (the `sync_events`
//! ring), entries received from peer directors installed into the
//! connection table (with the NAT way back), and the whole table for a
//! bulk transfer. The protocol between directors is not here.

use crate::abi::{
    self, Conn, FlowKey, Globals, NatBack, SvcKey, SvcVal, SyncEvent, CONN_F_PEER, CT_ACTIVE,
    CT_CLOSING, SYNC_OP_REFRESH,
};
use crate::batch::Walk;
use crate::loader::{map_err, Dataplane, DataplaneError};
use crate::proxy::ProxyShift;
use crate::templates::{SyncTemplate, TemplateWalk};
use aya::maps::{MapData, MapError, RingBuf};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;
use xlvs_config::Forward;

/// The reading end of the `sync_events` ring (`Dataplane::take_sync_events`).
/// Never blocks. Poll its descriptor for readiness (tokio's `AsyncFd`),
/// then `drain` it; drain it on a timer as well (every 10-100 ms): a
/// wakeup costs the XDP path about 9 us on a VM, so each CPU wakes the
/// reader at most once a tick (bpf/sync.h), and events that follow a
/// wakeup within the same tick wait for the next one, or for the timer
/// when traffic stops right after them. Events that find the ring full
/// are lost and counted (`sync_ring_full`).
pub struct SyncEvents {
    ring: RingBuf<MapData>,
}

impl std::fmt::Debug for SyncEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEvents")
            .field("fd", &self.ring.as_raw_fd())
            .finish()
    }
}

impl SyncEvents {
    /// The oldest event not read yet, or None if the ring is empty.
    pub fn next_event(&mut self) -> Option<SyncEvent> {
        loop {
            let item = self.ring.next()?;
            // Every record is one struct sync_event; anything else would
            // be a program of another layout, skipped.
            if item.len() >= std::mem::size_of::<SyncEvent>() {
                // SAFETY: the record holds at least a SyncEvent's bytes,
                // and any bit pattern is a valid SyncEvent (plain data).
                return Some(unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) });
            }
        }
    }

    /// Every event available now, oldest first; stops when the ring is
    /// empty.
    pub fn drain(&mut self) -> impl Iterator<Item = SyncEvent> + '_ {
        std::iter::from_fn(move || self.next_event())
    }
}

impl AsFd for SyncEvents {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ring.as_fd()
    }
}

impl AsRawFd for SyncEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}

/// A connection entry received from a peer director, in this director's
/// terms: the caller has mapped the flow's VIP, port and protocol to its
/// own service id, and the real's address and port to its own slot
/// (`Dataplane::real_slot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerEntry {
    /// The flow as the client sends it.
    pub key: FlowKey,
    /// This director's id of the flow's service.
    pub svc: u32,
    /// This director's slot of the flow's real.
    pub real: u32,
    /// CT_ACTIVE or CT_CLOSING.
    pub state: u8,
    /// The director that made the entry: never this one, so never
    /// 0.0.0.0.
    pub owner: Ipv4Addr,
    /// FULLNAT (required there, refused elsewhere): the owner's local
    /// address and port towards the real.
    pub nat: Option<SocketAddrV4>,
    /// FULLNAT PROXY protocol flows: the owner's sequence shift, which
    /// this director then applies the same way (required for a flow of a
    /// proxied service: forwarded unshifted, its stream would be
    /// corrupted).
    pub proxy: Option<ProxyShift>,
    /// Jiffies of the flow's last packet: `Clock::now` less the idle time
    /// the peer reported (`Dataplane::clock`). Never later than now: the
    /// program would take the entry for one long expired.
    pub last: u64,
}

/// What `install_peer_entry` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// The entry (and its way back) is in the tables.
    Written,
    /// A live entry of our own, with a later packet than the peer's, was
    /// kept: this director forwards the flow now.
    KeptOurs,
}

/// A live connection entry for a bulk transfer (`Dataplane::sync_entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncEntry {
    pub key: FlowKey,
    pub conn: Conn,
    /// The real's address and port (the client's destination port where
    /// the real has none).
    pub real: SocketAddrV4,
    pub forward: Forward,
    /// NAT and FULLNAT: the way back for the real's replies, if present.
    pub back: Option<NatBack>,
    /// Since the flow's last packet.
    pub idle: Duration,
}

impl SyncEntry {
    /// The entry as the ring would report it (op REFRESH), so ring events
    /// and bulk entries travel in one form.
    pub fn event(&self) -> SyncEvent {
        let (proxy_seq, proxy_len, proxy_flags) = ProxyShift::raw(self.proxy());
        SyncEvent {
            key: self.key,
            real_addr: self.real.ip().octets(),
            nat_addr: self.conn.nat_addr,
            owner: self.conn.owner,
            real_port: self.real.port().to_be_bytes(),
            nat_port: self.conn.nat_port,
            forward: fwd_raw(self.forward),
            state: self.conn.state,
            op: SYNC_OP_REFRESH,
            flags: self.conn.flags,
            proxy_seq,
            proxy_len,
            proxy_flags,
            pad: [0; 2],
        }
    }

    /// A PROXY protocol flow's sequence shift (from its way back).
    pub fn proxy(&self) -> Option<ProxyShift> {
        self.back.as_ref().and_then(ProxyShift::of_back)
    }
}

pub(crate) fn fwd_raw(f: Forward) -> u8 {
    match f {
        Forward::Dr => abi::FWD_DR,
        Forward::Tun => abi::FWD_TUN,
        Forward::Fullnat => abi::FWD_FULLNAT,
        Forward::Nat => abi::FWD_NAT,
    }
}

pub(crate) fn fwd_of(raw: u8) -> Option<Forward> {
    match raw {
        abi::FWD_DR => Some(Forward::Dr),
        abi::FWD_TUN => Some(Forward::Tun),
        abi::FWD_FULLNAT => Some(Forward::Fullnat),
        abi::FWD_NAT => Some(Forward::Nat),
        _ => None,
    }
}

/// "proto src:sport -> dst:dport", for errors.
fn describe(k: &FlowKey) -> String {
    format!(
        "{} {}:{} -> {}:{}",
        k.proto,
        Ipv4Addr::from(k.src),
        u16::from_be_bytes(k.sport),
        Ipv4Addr::from(k.dst),
        u16::from_be_bytes(k.dport)
    )
}

/// The way back for the replies of flow `k` to real `real` (the flow as
/// the real sends it): to the local address and port under FULLNAT, to
/// the client under NAT.
fn way_back(k: &FlowKey, real: SocketAddrV4, nat: Option<SocketAddrV4>) -> FlowKey {
    let (dst, dport) = match nat {
        Some(n) => (*n.ip(), n.port()),
        None => (Ipv4Addr::from(k.src), u16::from_be_bytes(k.sport)),
    };
    FlowKey::new(*real.ip(), real.port(), dst, dport, k.proto)
}

/// Whether way-back entry `b` turns replies into packets of flow `k`.
fn leads_to(b: &NatBack, k: &FlowKey) -> bool {
    b.vip == k.dst && b.client == k.src && b.vport == k.dport && b.cport == k.sport
}

/// The jiffies an entry of protocol `proto` in `state` lives idle, as
/// bpf/sched.h timeout_ticks counts them.
pub(crate) fn timeout_ticks(g: &abi::Globals, hz: u32, proto: u8, state: u8) -> u64 {
    let s = if proto == xlvs_config::Protocol::Udp.number() {
        g.udp_timeout_s
    } else if state == CT_CLOSING {
        g.tcpfin_timeout_s
    } else {
        g.tcp_timeout_s
    };
    u64::from(s) * u64::from(hz)
}

impl Dataplane {
    /// The reading end of the `sync_events` ring, once per load (a second
    /// call fails: the ring has one reader). Events come only while
    /// globals has G_F_SYNC (`set_sync`).
    pub fn take_sync_events(&mut self) -> Result<SyncEvents, DataplaneError> {
        let map = self
            .ebpf
            .take_map("sync_events")
            .ok_or(DataplaneError::SyncEventsTaken)?;
        let ring = RingBuf::try_from(map).map_err(map_err("sync_events"))?;
        Ok(SyncEvents { ring })
    }

    /// Turns entry reporting on (`Some(refresh)`: a known flow is reported
    /// again `refresh` after its last report, at least a tick) or off.
    pub fn set_sync(&mut self, refresh: Option<Duration>) -> Result<(), DataplaneError> {
        let mut g = self.globals()?;
        match refresh {
            Some(every) => {
                let ticks = every.as_nanos() * u128::from(self.hz) / 1_000_000_000;
                g.flags |= abi::G_F_SYNC;
                g.sync_refresh_ticks = ticks.clamp(1, u128::from(u32::MAX)) as u32;
            }
            None => g.flags &= !abi::G_F_SYNC,
        }
        self.set_globals(g)
    }

    /// The service of flow `k` (as the program finds it: its port, else
    /// port 0).
    pub(crate) fn service_of(&self, k: &FlowKey) -> Result<Option<SvcVal>, DataplaneError> {
        let vip = Ipv4Addr::from(k.dst);
        for port in [u16::from_be_bytes(k.dport), 0] {
            match self.services.get(&SvcKey::new(vip, k.proto, port), 0) {
                Ok(v) => return Ok(Some(v)),
                Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(map_err("services")(e)),
            }
        }
        Ok(None)
    }

    /// Real slot `slot` of service `svc`, as the address and port flow `k`
    /// is sent to, if the slot is in use by that service.
    fn real_of(
        &self,
        slot: u32,
        svc: u32,
        k: &FlowKey,
    ) -> Result<Option<SocketAddrV4>, DataplaneError> {
        let r = match self.reals.get(&slot, 0) {
            Ok(r) => r,
            Err(MapError::OutOfBounds { .. }) => return Ok(None),
            Err(e) => return Err(map_err("reals")(e)),
        };
        if r.flags == 0 || u32::from(r.svc) != svc {
            return Ok(None);
        }
        let port = match u16::from_be_bytes(r.port) {
            0 => u16::from_be_bytes(k.dport),
            p => p,
        };
        Ok(Some(SocketAddrV4::new(Ipv4Addr::from(r.addr), port)))
    }

    /// Flow `key`'s connection entry, if any, and the real's address and
    /// port it sends the flow to (None when its slot is no longer the
    /// service's): what a received entry is weighed against.
    pub fn connection(
        &self,
        key: &FlowKey,
    ) -> Result<Option<(Conn, Option<SocketAddrV4>)>, DataplaneError> {
        match self.conntrack.get(key, 0) {
            Ok(c) => Ok(Some((c, self.real_of(c.real, c.svc, key)?))),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(e) => Err(map_err("conntrack")(e)),
        }
    }

    /// Installs a connection entry received from a peer (flagged
    /// CONN_F_PEER, with its owner), and for NAT and FULLNAT the way back
    /// for the real's replies, so this director forwards the flow as its
    /// owner did: to the same real, under FULLNAT from the owner's local
    /// address and port (whose replies it translates if they reach it).
    /// A peer's entry replaces any other entry of the flow but a live one
    /// of our own that saw a later packet (this director forwards the flow
    /// now: `Installed::KeptOurs`). A flow in the flow cache takes a
    /// changed entry within the cache's lifetime.
    pub fn install_peer_entry(&mut self, e: &PeerEntry) -> Result<Installed, DataplaneError> {
        let bad = |why| DataplaneError::PeerEntry {
            flow: describe(&e.key),
            why,
        };
        if e.owner.is_unspecified() {
            return Err(bad("owner 0.0.0.0 means this director"));
        }
        if e.state != CT_ACTIVE && e.state != CT_CLOSING {
            return Err(bad("state is neither active nor closing"));
        }
        let svc = self
            .service_of(&e.key)?
            .ok_or_else(|| bad("no service for its VIP, port and protocol"))?;
        if svc.id != e.svc {
            return Err(bad(
                "its VIP, port and protocol belong to another service id",
            ));
        }
        let real = self
            .real_of(e.real, e.svc, &e.key)?
            .ok_or_else(|| bad("the real slot is not one of its service's"))?;
        let nat = match (svc.forward, e.nat) {
            (abi::FWD_FULLNAT, None) => {
                return Err(bad("a FULLNAT entry needs its local address and port"))
            }
            (abi::FWD_FULLNAT, Some(n)) if n.ip().is_unspecified() || n.port() == 0 => {
                return Err(bad("a FULLNAT entry needs its local address and port"))
            }
            (abi::FWD_FULLNAT, Some(n)) => Some(n),
            (_, Some(_)) => return Err(bad("a local address only goes with FULLNAT")),
            (_, None) => None,
        };

        let proxied = svc.flags & (abi::SVC_F_PROXY_V1 | abi::SVC_F_PROXY_V2) != 0;
        match (proxied, e.proxy) {
            (true, None) => {
                return Err(bad(
                    "its service sends a PROXY header: the entry needs its shift",
                ))
            }
            (false, Some(_)) => return Err(bad("a PROXY shift only goes with a proxied service")),
            (true, Some(s)) if s.len == 0 => return Err(bad("a PROXY shift of 0 bytes")),
            _ => {}
        }

        match self.conntrack.get(&e.key, 0) {
            Ok(old) if !old.is_peer() && old.svc == e.svc && old.last > e.last => {
                let clock = self.clock()?;
                let g = self.globals()?;
                let timeout = timeout_ticks(&g, self.hz, e.key.proto, old.state);
                if clock.now.saturating_sub(old.last) < timeout {
                    return Ok(Installed::KeptOurs);
                }
            }
            Ok(_) | Err(MapError::KeyNotFound) => {}
            Err(e) => return Err(map_err("conntrack")(e)),
        }

        // The way back first: the flow's first packet forwarded from the
        // entry may be answered at once (and the peer's local address
        // known to XDP's early exit, src/addrs.rs, before it).
        if let Some(n) = nat {
            self.note_peer_local(*n.ip())?;
        }
        if matches!(svc.forward, abi::FWD_FULLNAT | abi::FWD_NAT) {
            let (proxy_seq, proxy_len, proxy_flags) = ProxyShift::raw(e.proxy);
            let back = NatBack {
                vip: e.key.dst,
                client: e.key.src,
                vport: e.key.dport,
                cport: e.key.sport,
                svc: e.svc,
                real: e.real,
                // A peer's flow is past its handshake by now: no TOA.
                toa_seq: 0,
                proxy_seq,
                proxy_len,
                proxy_flags,
                pad: [0; 2],
                // snat_alloc reuses a way back only once this is older than
                // the longest timeout; our own local addresses never name
                // a peer's way back anyway.
                last: e.last,
            };
            self.nat_reverse
                .insert(way_back(&e.key, real, nat), back, 0)
                .map_err(map_err("nat_reverse"))?;
        }
        let nat = nat.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let conn = Conn {
            real: e.real,
            svc: e.svc,
            last: e.last,
            state: e.state,
            flags: CONN_F_PEER,
            nat_port: nat.port().to_be_bytes(),
            nat_addr: nat.ip().octets(),
            owner: e.owner.octets(),
            // As fresh as the peer's report: the first packet here reports
            // the entry again if the cluster's copies are older than
            // sync_refresh_ticks.
            synced: e.last as u32,
        };
        self.conntrack
            .insert(e.key, conn, 0)
            .map_err(map_err("conntrack"))?;
        Ok(Installed::Written)
    }

    /// Removes flow `key`'s entry and its way back if it is a peer's
    /// entry made by `owner` (what a CLOSING that expired, or a peer gone
    /// for good, calls for). Whether it was removed.
    pub fn remove_peer_entry(
        &mut self,
        key: &FlowKey,
        owner: Ipv4Addr,
    ) -> Result<bool, DataplaneError> {
        let conn = match self.conntrack.get(key, 0) {
            Ok(c) => c,
            Err(MapError::KeyNotFound) => return Ok(false),
            Err(e) => return Err(map_err("conntrack")(e)),
        };
        if !conn.is_peer() || conn.owner() != Some(owner) {
            return Ok(false);
        }
        if let Some(real) = self.real_of(conn.real, conn.svc, key)? {
            let nat = (conn.nat_port != [0; 2]).then(|| {
                SocketAddrV4::new(
                    Ipv4Addr::from(conn.nat_addr),
                    u16::from_be_bytes(conn.nat_port),
                )
            });
            let back = way_back(key, real, nat);
            match self.nat_reverse.get(&back, 0) {
                // Only the way back to this flow: NAT's key is the real and
                // the client, which another entry may have taken since.
                Ok(b) if leads_to(&b, key) => match self.nat_reverse.remove(&back) {
                    Ok(()) | Err(MapError::KeyNotFound) => {}
                    Err(e) => return Err(map_err("nat_reverse")(e)),
                },
                Ok(_) | Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(map_err("nat_reverse")(e)),
            }
        }
        match self.conntrack.remove(key) {
            Ok(()) | Err(MapError::KeyNotFound) => Ok(true),
            Err(e) => Err(map_err("conntrack")(e)),
        }
    }

    /// Every live connection entry, ours and peers', with what a peer needs
    /// to install it, for a bulk transfer: [`TableReader`] read to the end.
    pub fn sync_entries(&self) -> Result<impl Iterator<Item = SyncEntry>, DataplaneError> {
        let mut reader = self.table_reader()?;
        let mut all = Vec::new();
        while let Some(chunk) = reader.next_chunk(self, crate::batch::BATCH)? {
            all.extend(chunk);
        }
        Ok(all.into_iter())
    }

    /// Starts reading the table for a bulk transfer.
    pub fn table_reader(&self) -> Result<TableReader, DataplaneError> {
        Ok(TableReader {
            walk: Walk::default(),
            clock: self.clock()?,
            globals: self.globals()?,
            keys: Vec::new(),
            conns: Vec::new(),
            services: HashMap::new(),
            reals: HashMap::new(),
            templates: TemplateWalk::default(),
        })
    }
}

/// The connection table read for a bulk transfer a batch at a time, so
/// the caller can do other work between batches (xlvsd's sync task goes
/// on sending Hellos while it reads a million entries). A snapshot taken
/// while XDP runs: entries made, changed or removed during the walk may be
/// missed or seen as they were; the ring reports those changes anyway.
/// Entries whose service or real is gone are left out. Each service and
/// real is looked up once per read.
pub struct TableReader {
    walk: Walk,
    clock: crate::Clock,
    globals: Globals,
    keys: Vec<FlowKey>,
    conns: Vec<Conn>,
    /// By the service key a flow's lookup reads (VIP, protocol, port):
    /// the service's id and method.
    services: HashMap<FlowKey, Option<(u32, Forward)>>,
    /// By (real slot, service id, the flow's port).
    reals: HashMap<(u32, u32, [u8; 2]), Option<SocketAddrV4>>,
    /// The templates map, read after the connection table.
    templates: TemplateWalk,
}

impl TableReader {
    /// The live templates among the next `max` of the templates map,
    /// once [`TableReader::next_chunk`] has read the connection table to
    /// the end; `None` once they are read too.
    pub fn next_templates(
        &mut self,
        dp: &Dataplane,
        max: u32,
    ) -> Result<Option<Vec<SyncTemplate>>, DataplaneError> {
        self.templates.next_chunk(dp, self.clock, max)
    }

    /// The live, placeable entries among the next `max` of the table;
    /// `None` once it has been read to the end.
    pub fn next_chunk(
        &mut self,
        dp: &Dataplane,
        max: u32,
    ) -> Result<Option<Vec<SyncEntry>>, DataplaneError> {
        if self.walk.done() {
            return Ok(None);
        }
        let fd = crate::batch::fd_of(&dp.conntrack);
        self.walk
            .next(fd, "conntrack", &mut self.keys, &mut self.conns, max)?;
        let mut out = Vec::with_capacity(self.keys.len());
        for (key, conn) in self.keys.iter().zip(&self.conns) {
            let idle = self.clock.now.saturating_sub(conn.last);
            if idle >= timeout_ticks(&self.globals, dp.hz, key.proto, conn.state) {
                continue;
            }
            let svc_key = FlowKey {
                dst: key.dst,
                dport: key.dport,
                proto: key.proto,
                ..FlowKey::default()
            };
            let svc = match self.services.get(&svc_key) {
                Some(s) => *s,
                None => {
                    let s = dp
                        .service_of(key)?
                        .and_then(|v| Some((v.id, fwd_of(v.forward)?)));
                    self.services.insert(svc_key, s);
                    s
                }
            };
            let Some((id, forward)) = svc.filter(|(id, _)| *id == conn.svc) else {
                continue;
            };
            let real = match self.reals.get(&(conn.real, id, key.dport)) {
                Some(r) => *r,
                None => {
                    let r = dp.real_of(conn.real, id, key)?;
                    self.reals.insert((conn.real, id, key.dport), r);
                    r
                }
            };
            let Some(real) = real else {
                continue;
            };
            let back = match forward {
                Forward::Fullnat | Forward::Nat => {
                    let nat = (forward == Forward::Fullnat).then(|| {
                        SocketAddrV4::new(
                            Ipv4Addr::from(conn.nat_addr),
                            u16::from_be_bytes(conn.nat_port),
                        )
                    });
                    dp.nat_reverse
                        .get(&way_back(key, real, nat), 0)
                        .ok()
                        .filter(|b| leads_to(b, key))
                }
                Forward::Dr | Forward::Tun => None,
            };
            out.push(SyncEntry {
                key: *key,
                conn: *conn,
                real,
                forward,
                back,
                idle: self.clock.since(conn.last),
            });
        }
        Ok(Some(out))
    }
}
