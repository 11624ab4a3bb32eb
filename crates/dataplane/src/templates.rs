//! The state XDP keeps for persistence (templates, bpf/persist.h) and for
//! lblc and lblcr (destination address -> reals, bpf/locality.h): read
//! for listings and tests, written for tests; and templates synced
//! between directors: installed from a peer, read for a bulk transfer.

use crate::abi::{
    DstKey, DstReals, FlowKey, SvcKey, SvcVal, SyncEvent, Tmpl, TmplKey, SCHED_MAGLEV,
    SVC_F_PERSIST, SYNC_OP_TEMPLATE,
};
use crate::batch::Walk;
use crate::loader::{map_err, Dataplane, DataplaneError};
use aya::maps::MapError;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use xlvs_config::Forward;

/// A persistence template received from a peer director, in this
/// director's terms (the caller mapped the service and the real, as for
/// a `PeerEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerTemplate {
    /// The service as a flow of the client finds it: src = the client
    /// (masked here again with this director's mask), dst and dport = the
    /// VIP and port, sport 0.
    pub key: FlowKey,
    /// This director's id of that service.
    pub svc: u32,
    /// This director's slot of the template's real.
    pub real: u32,
    /// The director that made it: never this one, so never 0.0.0.0.
    pub owner: Ipv4Addr,
    /// Jiffies of the last packet of a flow it placed, on its owner
    /// (`Clock::now` less the idle time reported; never later than now).
    pub last: u64,
}

/// A live template for a bulk transfer, in addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTemplate {
    /// src = the masked client, dst and dport = one of its service's VIP
    /// and port (0 for a port-0 service), sport 0.
    pub key: FlowKey,
    /// The real, its port as configured (0: the client's destination port).
    pub real: SocketAddrV4,
    pub forward: Forward,
    /// 0 = this director.
    pub owner: [u8; 4],
    /// Since the last packet of a flow it placed.
    pub idle: Duration,
}

impl SyncTemplate {
    /// The template as the ring would report it (SYNC_OP_TEMPLATE), so
    /// ring events and bulk templates travel in one form.
    pub fn event(&self) -> SyncEvent {
        SyncEvent {
            key: self.key,
            real_addr: self.real.ip().octets(),
            owner: self.owner,
            real_port: self.real.port().to_be_bytes(),
            forward: crate::sync::fwd_raw(self.forward),
            op: SYNC_OP_TEMPLATE,
            ..SyncEvent::default()
        }
    }
}

/// The templates map read for a bulk transfer, a batch at a time, after
/// the connection table (`TableReader`). Templates whose service is gone,
/// is no longer persistent, or whose real left it are left out.
#[derive(Default)]
pub(crate) struct TemplateWalk {
    walk: Walk,
    keys: Vec<TmplKey>,
    tmpls: Vec<Tmpl>,
    /// By service id: one of its keys and its value (read once).
    services: Option<HashMap<u32, (SvcKey, SvcVal)>>,
}

impl TemplateWalk {
    pub(crate) fn next_chunk(
        &mut self,
        dp: &Dataplane,
        clock: crate::Clock,
        max: u32,
    ) -> Result<Option<Vec<SyncTemplate>>, DataplaneError> {
        if self.walk.done() {
            return Ok(None);
        }
        let services = match &mut self.services {
            Some(s) => s,
            None => self.services.insert(dp.services_by_id()),
        };
        let fd = crate::batch::fd_of(&dp.templates);
        self.walk
            .next(fd, "templates", &mut self.keys, &mut self.tmpls, max)?;
        let mut out = Vec::with_capacity(self.keys.len());
        for (k, t) in self.keys.iter().zip(&self.tmpls) {
            let Some((svc_key, svc)) = services.get(&k.svc) else {
                continue;
            };
            let Some(forward) = crate::sync::fwd_of(svc.forward) else {
                continue;
            };
            let idle = clock.now.saturating_sub(t.last);
            if !persistent(svc) || idle >= persist_ticks(svc, clock.hz) || !dp.names_real(t, k.svc)
            {
                continue;
            }
            out.push(SyncTemplate {
                key: FlowKey {
                    src: k.client,
                    dst: svc_key.vip,
                    dport: svc_key.port,
                    proto: svc_key.proto,
                    ..FlowKey::default()
                },
                real: SocketAddrV4::new(
                    Ipv4Addr::from(t.real_addr),
                    u16::from_be_bytes(t.real_port),
                ),
                forward,
                owner: t.owner,
                idle: clock.since(t.last),
            });
        }
        Ok(Some(out))
    }
}

/// Whether XDP keeps templates for the service (persistence on a
/// scheduler that does not hash).
fn persistent(svc: &SvcVal) -> bool {
    svc.flags & SVC_F_PERSIST != 0 && svc.sched != SCHED_MAGLEV
}

/// How long a template of `svc` lives after its last packet, in jiffies.
fn persist_ticks(svc: &SvcVal, hz: u32) -> u64 {
    u64::from(svc.persist_s) * u64::from(hz)
}

fn masked(client: [u8; 4], mask: [u8; 4]) -> [u8; 4] {
    (u32::from_be_bytes(client) & u32::from_be_bytes(mask)).to_be_bytes()
}

impl Dataplane {
    /// Up to `limit` persistence templates.
    pub fn templates(&self, limit: usize) -> Vec<(TmplKey, Tmpl)> {
        self.templates
            .iter()
            .filter_map(Result::ok)
            .take(limit)
            .collect()
    }

    /// The template of service `svc` for `client` (already masked).
    pub fn template(&self, svc: u32, client: Ipv4Addr) -> Option<Tmpl> {
        let key = TmplKey {
            svc,
            client: client.octets(),
        };
        self.templates.get(&key, 0).ok()
    }

    /// Writes a template (its `real` must be a slot of service `key.svc`).
    pub fn set_template(&mut self, key: TmplKey, t: Tmpl) -> Result<(), DataplaneError> {
        self.templates
            .insert(key, t, 0)
            .map_err(map_err("templates"))
    }

    /// Every service by id, with one of its keys (a service of several
    /// ports has one id).
    fn services_by_id(&self) -> HashMap<u32, (SvcKey, SvcVal)> {
        let mut by_id = HashMap::new();
        for (k, v) in self.services.iter().filter_map(Result::ok) {
            by_id.entry(v.id).or_insert((k, v));
        }
        by_id
    }

    /// Whether template `t` of service `svc` still names its real: its
    /// slot in use by the service, with the address and port it was made
    /// for (as bpf/persist.h template_real checks).
    fn names_real(&self, t: &Tmpl, svc: u32) -> bool {
        self.reals.get(&t.real, 0).is_ok_and(|r| {
            r.flags != 0
                && u32::from(r.svc) == svc
                && r.addr == t.real_addr
                && r.port == t.real_port
        })
    }

    /// The live template a new flow of the client of `key` would follow
    /// (its service found as XDP finds it, the client masked with the
    /// service's mask), at jiffies `now`: what a received template is
    /// weighed against. None for a service without templates.
    pub fn live_template(&self, key: &FlowKey, now: u64) -> Result<Option<Tmpl>, DataplaneError> {
        let Some(svc) = self.service_of(key)? else {
            return Ok(None);
        };
        if !persistent(&svc) {
            return Ok(None);
        }
        let tk = TmplKey {
            svc: svc.id,
            client: masked(key.src, svc.src_mask),
        };
        let t = match self.templates.get(&tk, 0) {
            Ok(t) => t,
            Err(MapError::KeyNotFound) => return Ok(None),
            Err(e) => return Err(map_err("templates")(e)),
        };
        let live = now.saturating_sub(t.last) < persist_ticks(&svc, self.hz);
        Ok((live && self.names_real(&t, svc.id)).then_some(t))
    }

    /// Installs a template received from a peer (with its owner, which
    /// marks it as a peer's), so the client's new flows here go to the
    /// real its owner chose. It replaces any template of the client: the
    /// caller weighed it first (xlvs_sync::decide, the owner's view wins).
    /// The client is masked with this director's mask for the service.
    pub fn install_peer_template(&mut self, t: &PeerTemplate) -> Result<(), DataplaneError> {
        let bad = |why| DataplaneError::PeerEntry {
            flow: format!(
                "template {} -> {}:{}",
                Ipv4Addr::from(t.key.src),
                Ipv4Addr::from(t.key.dst),
                u16::from_be_bytes(t.key.dport)
            ),
            why,
        };
        if t.owner.is_unspecified() {
            return Err(bad("owner 0.0.0.0 means this director"));
        }
        let svc = self
            .service_of(&t.key)?
            .ok_or_else(|| bad("no service for its VIP, port and protocol"))?;
        if svc.id != t.svc {
            return Err(bad(
                "its VIP, port and protocol belong to another service id",
            ));
        }
        if !persistent(&svc) {
            return Err(bad("the service here keeps no persistence templates"));
        }
        let real = match self.reals.get(&t.real, 0) {
            Ok(r) if r.flags != 0 && u32::from(r.svc) == t.svc => r,
            Ok(_) | Err(MapError::OutOfBounds { .. }) => {
                return Err(bad("the real slot is not one of its service's"))
            }
            Err(e) => return Err(map_err("reals")(e)),
        };
        let key = TmplKey {
            svc: t.svc,
            client: masked(t.key.src, svc.src_mask),
        };
        let value = Tmpl {
            last: t.last,
            real: t.real,
            real_addr: real.addr,
            real_port: real.port,
            owner: t.owner.octets(),
            // As fresh as the peer's report: a flow placed here reports it
            // again once the cluster's copies are sync_refresh_ticks old.
            synced: t.last as u32,
            ..Tmpl::default()
        };
        self.templates
            .insert(key, value, 0)
            .map_err(map_err("templates"))
    }

    /// Every live template, for a bulk transfer: the template part of
    /// [`crate::TableReader`] read to the end.
    pub fn sync_templates(&self) -> Result<Vec<SyncTemplate>, DataplaneError> {
        let clock = self.clock()?;
        let mut walk = TemplateWalk::default();
        let mut all = Vec::new();
        while let Some(chunk) = walk.next_chunk(self, clock, crate::batch::BATCH)? {
            all.extend(chunk);
        }
        Ok(all)
    }

    /// lblc, lblcr: the reals of destination `dst` of service `svc`.
    pub fn locality_entry(&self, svc: u32, dst: Ipv4Addr) -> Option<DstReals> {
        let key = DstKey {
            svc,
            dst: dst.octets(),
        };
        self.locality.get(&key, 0).ok()
    }

    pub fn set_locality_entry(
        &mut self,
        svc: u32,
        dst: Ipv4Addr,
        e: DstReals,
    ) -> Result<(), DataplaneError> {
        let key = DstKey {
            svc,
            dst: dst.octets(),
        };
        self.locality.insert(key, e, 0).map_err(map_err("locality"))
    }
}
