//! The connection table's side of flow-state sync (sync/): reporting on,
//! entries and persistence templates received from peers weighed and
//! installed, and the whole table (templates after it) for a peer's bulk
//! transfer. The rules are pure, elsewhere:
//! xlvs_sync::decide (which entry wins), sync/translate.rs (the terms).

use super::{Forwarder, ForwarderError};
use crate::sync::translate::{self, LocalService, Unplaced};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use xlvs_dataplane::{Clock, Installed, PeerEntry, PeerTemplate, SyncEvents, TableReader};
use xlvs_sync::{decide, Decision, Entry, Existing, FlowKind, Op, Why};

/// What became of one received entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Installed,
    Refreshed,
    Removed,
    Kept(Why),
    /// A live entry of ours saw a later packet (the data plane's rule).
    KeptOurs,
    Unplaced(Unplaced),
    /// The tables could not be read or written (logged where it happened).
    Error,
}

impl Applied {
    /// The counter of an entry left as it was.
    pub fn not_installed(self) -> Option<&'static str> {
        Some(match self {
            Applied::Installed | Applied::Refreshed | Applied::Removed => return None,
            Applied::Kept(Why::OursAlready) => "ours_already",
            Applied::Kept(Why::OursIsLower) => "ours_is_lower",
            Applied::Kept(Why::NothingToDelete) => "nothing_to_delete",
            Applied::Kept(Why::OtherOwner) => "other_owner",
            Applied::KeptOurs => "ours_is_newer",
            Applied::Unplaced(u) => u.name(),
            Applied::Error => "error",
        })
    }
}

impl Forwarder {
    /// Turns the data plane's reports on: every entry it makes, refreshes
    /// (every `refresh` while a flow is forwarded) and closes.
    pub fn start_sync(&mut self, refresh: Duration) -> Result<SyncEvents, ForwarderError> {
        self.dp.set_sync(Some(refresh))?;
        Ok(self.dp.take_sync_events()?)
    }

    /// Where received entries land: each service entry with its backends.
    pub fn sync_services(&self) -> Vec<LocalService> {
        let service = |e: &super::Entry| LocalService {
            vip: e.spec.vip,
            protocol: e.spec.protocol,
            port: e.port(),
            forward: e.spec.forward,
            id: e.spec.id,
            proxy: e.spec.proxy.is_some(),
            templates: e.spec.keeps_templates(),
            backends: e.backends().map(|r| (r.addr, r.port)).collect(),
        };
        self.entries.iter().map(service).collect()
    }

    /// Weighs a received entry against the table (`me`: our sync address)
    /// and installs, refreshes or removes it. `services` is
    /// [`Forwarder::sync_services`] and `clock` the data plane's clock,
    /// both taken once per batch (reading the clock runs the program).
    pub fn apply_peer_entry(
        &mut self,
        services: &[LocalService],
        e: &Entry,
        me: Ipv4Addr,
        clock: Clock,
    ) -> Result<Applied, ForwarderError> {
        if e.key.kind == FlowKind::Template {
            return self.apply_peer_template(services, e, me, clock);
        }
        let key = translate::flow_key(&e.key);
        let existing = self.dp.connection(&key)?.and_then(|(conn, real)| {
            let real = real?;
            Some(Existing {
                owner: conn.owner().unwrap_or(me),
                real: *real.ip(),
                real_port: real.port(),
                local_addr: Ipv4Addr::from(conn.nat_addr),
                local_port: u16::from_be_bytes(conn.nat_port),
            })
        });
        match decide(existing, e, me) {
            Decision::Keep(why) => return Ok(Applied::Kept(why)),
            Decision::Remove => {
                self.dp.remove_peer_entry(&key, e.owner)?;
                return Ok(Applied::Removed);
            }
            Decision::Install | Decision::Refresh => {}
        }
        let (svc, real) = match self.place(services, e) {
            Ok(p) => p,
            Err(u) => return Ok(Applied::Unplaced(u)),
        };
        let idle = u64::from(e.idle_secs) * u64::from(clock.hz);
        let nat = (e.forward == xlvs_sync::Forward::FullNat)
            .then(|| SocketAddrV4::new(e.local_addr, e.local_port));
        let entry = PeerEntry {
            key,
            svc,
            real,
            state: e.state,
            owner: e.owner,
            nat,
            proxy: e.proxy.map(translate::shift_here),
            last: clock.now.saturating_sub(idle),
        };
        let refresh = existing.is_some_and(|x| x.owner == e.owner) && e.op != Op::Delete;
        Ok(match self.dp.install_peer_entry(&entry)? {
            Installed::KeptOurs => Applied::KeptOurs,
            Installed::Written if refresh => Applied::Refreshed,
            Installed::Written => Applied::Installed,
        })
    }

    /// The service id and real slot here of a received entry or template.
    fn place(&self, services: &[LocalService], e: &Entry) -> Result<(u32, u32), Unplaced> {
        let (svc, (addr, port)) = translate::place(services, e)?;
        let real = self.dp.real_slot(svc, addr, port).ok_or(Unplaced::NoReal)?;
        Ok((svc, real))
    }

    /// A received persistence template: weighed with the same rules as an
    /// entry (the owner's view wins; of two directors that both made one,
    /// the lower owner's), placed on the same service and real, written
    /// into the templates map as the owner's.
    fn apply_peer_template(
        &mut self,
        services: &[LocalService],
        e: &Entry,
        me: Ipv4Addr,
        clock: Clock,
    ) -> Result<Applied, ForwarderError> {
        let key = translate::flow_key(&e.key);
        let existing = self.dp.live_template(&key, clock.now)?.map(|t| Existing {
            owner: t.owner().unwrap_or(me),
            real: Ipv4Addr::from(t.real_addr),
            real_port: u16::from_be_bytes(t.real_port),
            local_addr: Ipv4Addr::UNSPECIFIED,
            local_port: 0,
        });
        let refresh = match decide(existing, e, me) {
            Decision::Keep(why) => return Ok(Applied::Kept(why)),
            // Templates are never deleted (the wire refuses it): they expire.
            Decision::Remove => return Ok(Applied::Kept(Why::NothingToDelete)),
            Decision::Refresh => true,
            Decision::Install => false,
        };
        let (svc, real) = match self.place(services, e) {
            Ok(p) => p,
            Err(u) => return Ok(Applied::Unplaced(u)),
        };
        let idle = u64::from(e.idle_secs) * u64::from(clock.hz);
        self.dp.install_peer_template(&PeerTemplate {
            key,
            svc,
            real,
            owner: e.owner,
            last: clock.now.saturating_sub(idle),
        })?;
        Ok(match refresh {
            true => Applied::Refreshed,
            false => Applied::Installed,
        })
    }

    /// Starts reading the table for a peer's bulk transfer.
    pub fn table_reader(&self) -> Result<TableReader, ForwarderError> {
        Ok(self.dp.table_reader()?)
    }

    /// The live entries among the next `max` of the table as sync records
    /// (`me`: the owner of the entries we made); `None` once it is read.
    pub fn read_table(
        &self,
        reader: &mut TableReader,
        me: Ipv4Addr,
        max: u32,
    ) -> Result<Option<Vec<Entry>>, ForwarderError> {
        // The connection table, then the persistence templates.
        if let Some(chunk) = reader.next_chunk(&self.dp, max)? {
            let entries = chunk
                .iter()
                .filter_map(|s| translate::to_wire(&s.event(), me, s.idle));
            return Ok(Some(entries.collect()));
        }
        let Some(chunk) = reader.next_templates(&self.dp, max)? else {
            return Ok(None);
        };
        let templates = chunk
            .iter()
            .filter_map(|t| translate::to_wire(&t.event(), me, t.idle));
        Ok(Some(templates.collect()))
    }
}
