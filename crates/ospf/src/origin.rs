//! Our own LSAs (RFC 2328 12.4): the Router-LSA with the links that attach
//! us and one /32 stub per announced address, or one AS-external LSA per
//! address; MinLSInterval, refresh, premature aging (14.1), and what to do
//! when the network hands back an instance of ours (13.4).

use crate::config::{VipMode, LS_REFRESH_TIME, MIN_LS_INTERVAL, SENT_GAP};
use crate::instance::Instance;
use crate::interface::IfState;
use crate::lsdb::Lsdb;
use crate::neighbor::NbrState;
use crate::wire::hello::options;
use crate::wire::lsa::{INITIAL_SEQ, MAX_AGE, MAX_SEQ};
use crate::wire::lsa_router::flags;
use crate::wire::{ExternalLsa, LinkType, Lsa, LsaHeader, LsaKey, LsaType, RouterLink, RouterLsa};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Instant;

const HOST_MASK: Ipv4Addr = Ipv4Addr::BROADCAST;

#[derive(Debug)]
pub(crate) struct Origin {
    pub mode: VipMode,
    /// Addresses to announce, with their metric.
    pub announced: BTreeMap<Ipv4Addr, u16>,
    /// When each of our LSAs was last originated (MinLSInterval).
    last: BTreeMap<LsaKey, Instant>,
    /// Re-originate even if unchanged: the network holds a newer instance.
    force: BTreeSet<LsaKey>,
    /// The highest sequence number the network showed us for each of our
    /// LSAs: the next instance must go past it even if the copy we
    /// received was flushed and has left our database since.
    seen_seq: BTreeMap<LsaKey, i32>,
    /// When an instance of each of our LSAs was last sent (any packet):
    /// a newer one sent within MinLSArrival of it would be dropped by the
    /// receiver (RFC 2328 13, step 5a), so origination waits that long.
    pub sent: BTreeMap<LsaKey, Instant>,
    /// A change held back by MinLSInterval, due then.
    pending: Option<Instant>,
    /// Originations wait until then: an interface went down, and what
    /// follows from it comes in a moment (see [`LINK_DOWN_HOLD`]).
    hold_until: Option<Instant>,
}

/// How long origination waits after an interface goes down. The Router-LSA
/// changes at once for the interface, and again a moment later for what
/// the node does about it (xlvsd withdraws the FULLNAT local addresses of
/// a director that lost an arm, sync/routes.rs): originated together,
/// MinLSInterval does not hold the second change back 5 s.
pub const LINK_DOWN_HOLD: std::time::Duration = std::time::Duration::from_millis(100);

/// How long origination waits after an announcement or withdrawal for the
/// others made with it: a node that leaves withdraws its VIPs and its
/// peers' addresses one call each, and a node that starts announces its
/// addresses so; originated apart, MinLSInterval would hold all but the
/// first back 5 s.
pub const CHANGE_COALESCE: std::time::Duration = std::time::Duration::from_millis(20);

impl Origin {
    pub fn new(mode: VipMode) -> Origin {
        Origin {
            mode,
            announced: BTreeMap::new(),
            last: BTreeMap::new(),
            force: BTreeSet::new(),
            seen_seq: BTreeMap::new(),
            sent: BTreeMap::new(),
            pending: None,
            hold_until: None,
        }
    }

    /// The next deferred origination or refresh.
    pub fn next_due(&self, lsdb: &Lsdb, router_id: Ipv4Addr) -> Option<Instant> {
        let refresh = lsdb
            .iter()
            .filter(|(k, e)| k.adv_router == router_id && !e.max_age_flooded)
            .map(|(_, e)| e.installed + LS_REFRESH_TIME);
        refresh.chain(self.pending).min()
    }

    /// Holds originations back for [`LINK_DOWN_HOLD`] from `now`.
    pub fn hold(&mut self, now: Instant) {
        let until = now + LINK_DOWN_HOLD;
        self.hold_until = Some(until);
        self.pending = Some(self.pending.map_or(until, |p| p.max(until)));
    }

    /// Holds originations back [`CHANGE_COALESCE`] from `now`, unless a
    /// hold is on already (changes that keep coming do not postpone it).
    fn coalesce(&mut self, now: Instant) {
        if self.hold_until.is_some_and(|h| h > now) {
            return;
        }
        let until = now + CHANGE_COALESCE;
        self.hold_until = Some(until);
        self.pending = Some(self.pending.map_or(until, |p| p.max(until)));
    }
}

impl Instance {
    pub fn announce(&mut self, now: Instant, addr: Ipv4Addr, metric: u16) {
        if self.origin.announced.insert(addr, metric) != Some(metric) {
            tracing::info!(address = %addr, metric, "announcing over OSPF");
            self.origin.coalesce(now);
            self.originate(now);
            self.graceful_progress(now);
        }
    }

    pub fn withdraw(&mut self, now: Instant, addr: Ipv4Addr) {
        if self.origin.announced.remove(&addr).is_some() {
            tracing::info!(address = %addr, "withdrawing from OSPF");
            self.origin.coalesce(now);
            self.originate(now);
        }
    }

    pub fn announced(&self) -> Vec<(Ipv4Addr, u16)> {
        self.origin
            .announced
            .iter()
            .map(|(a, m)| (*a, *m))
            .collect()
    }

    /// Flushes every LSA of ours by premature aging, so routers drop them
    /// now rather than after the dead interval. Call `say_goodbye` once
    /// `flushed` (or a time limit) says so.
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        for key in self.own_keys(now) {
            self.flush(now, key);
        }
        self.end_grace(now);
    }

    /// Whether every neighbor acknowledged our flushed LSAs.
    pub fn flushed(&self) -> bool {
        !self
            .ifaces
            .iter()
            .flat_map(|i| i.neighbors.values())
            .any(|n| n.retransmit.keys().any(|k| k.adv_router == self.router_id))
    }

    /// Last Hellos with no neighbors listed: routers drop the adjacency at
    /// once (1-WayReceived).
    pub fn say_goodbye(&mut self, now: Instant) {
        self.send_goodbyes(now);
    }

    pub(crate) fn own_keys(&self, now: Instant) -> Vec<LsaKey> {
        self.lsdb
            .iter()
            .filter(|(k, e)| k.adv_router == self.router_id && !e.is_max_age(now))
            .map(|(k, _)| *k)
            .collect()
    }

    /// What we want in the database now: key -> body.
    fn desired(&self) -> BTreeMap<LsaKey, Vec<u8>> {
        let mut want = BTreeMap::new();
        if self.ifaces.iter().all(|i| i.state == IfState::Down) {
            return want;
        }
        let rid = self.router_id;
        let external = self.origin.mode == VipMode::External;
        let mut lsa = RouterLsa {
            flags: if external && !self.origin.announced.is_empty() {
                flags::E
            } else {
                0
            },
            links: Vec::new(),
        };
        for i in self.ifaces.iter().filter(|i| i.state != IfState::Down) {
            let c = &i.config;
            let stub = RouterLink {
                kind: LinkType::Stub,
                id: c.network_address(),
                data: c.mask(),
                metric: c.cost,
            };
            match i.state {
                // 12.4.1.1: a p2p link to each Full neighbor, plus the subnet.
                IfState::PointToPoint => {
                    for n in i.neighbors.values().filter(|n| n.state == NbrState::Full) {
                        lsa.links.push(RouterLink {
                            kind: LinkType::PointToPoint,
                            id: n.router_id,
                            data: c.address,
                            metric: c.cost,
                        });
                    }
                    lsa.links.push(stub);
                }
                // 12.4.1.2: a transit link when Full with the DR, else a stub.
                IfState::DrOther => match i.dr_neighbor() {
                    Some(dr) if dr.state == NbrState::Full => lsa.links.push(RouterLink {
                        kind: LinkType::Transit,
                        id: i.dr,
                        data: c.address,
                        metric: c.cost,
                    }),
                    _ => lsa.links.push(stub),
                },
                IfState::Down => {}
            }
        }
        for (addr, metric) in &self.origin.announced {
            if external {
                let ext = ExternalLsa {
                    mask: HOST_MASK,
                    type2: true,
                    metric: u32::from(*metric),
                    forwarding: Ipv4Addr::UNSPECIFIED,
                    tag: 0,
                };
                want.insert(key(LsaType::EXTERNAL, *addr, rid), ext.to_bytes());
            } else {
                lsa.links.push(RouterLink {
                    kind: LinkType::Stub,
                    id: *addr,
                    data: HOST_MASK,
                    metric: *metric,
                });
            }
        }
        want.insert(key(LsaType::ROUTER, rid, rid), lsa.to_bytes());
        want
    }

    /// Brings our LSAs in line with what we want, within MinLSInterval:
    /// new or changed ones are originated, refreshed ones re-originated,
    /// unwanted ones flushed.
    pub(crate) fn originate(&mut self, now: Instant) {
        // Restarting gracefully: what the network holds stands (graceful.rs).
        if self.shutting_down || self.restarting() {
            return;
        }
        if let Some(until) = self.origin.hold_until {
            if now < until {
                return;
            }
            self.origin.hold_until = None;
        }
        let mut pending: Option<Instant> = None;
        for (key, body) in self.desired() {
            let current = self.lsdb.get(&key);
            let changed = current.is_none_or(|e| e.is_max_age(now) || e.lsa.body != body);
            let refresh = current.is_some_and(|e| now >= e.installed + LS_REFRESH_TIME);
            if !(changed || refresh || self.origin.force.contains(&key)) {
                continue;
            }
            let after_origination = self.origin.last.get(&key).map(|t| *t + MIN_LS_INTERVAL);
            let after_sending = self.origin.sent.get(&key).map(|t| *t + SENT_GAP);
            if let Some(earliest) = after_origination.max(after_sending).filter(|t| now < *t) {
                pending = Some(pending.map_or(earliest, |p| p.min(earliest)));
                continue;
            }
            let held = current.map(|e| e.lsa.header.seq);
            let seen = self.origin.seen_seq.get(&key).copied();
            let seq = match held.max(seen) {
                None => INITIAL_SEQ,
                // 12.1.6: the sequence space is exhausted; flush the old
                // instance and start over once it is gone.
                Some(MAX_SEQ) => {
                    self.origin.seen_seq.remove(&key);
                    if !current.is_some_and(|e| e.is_max_age(now)) {
                        self.flush(now, key);
                    }
                    pending = Some(
                        pending.map_or(now + MIN_LS_INTERVAL, |p| p.min(now + MIN_LS_INTERVAL)),
                    );
                    continue;
                }
                Some(s) => s + 1,
            };
            let lsa = Lsa::new(
                LsaHeader {
                    age: 0,
                    options: options::E,
                    kind: key.kind,
                    id: key.id,
                    adv_router: key.adv_router,
                    seq,
                    checksum: 0,
                    length: 0,
                },
                body,
            );
            tracing::debug!(lsa = %key, seq = format_args!("{:#010x}", seq as u32), "originating");
            self.remove_from_retransmit(&key);
            self.lsdb.install(lsa.clone(), now, false);
            self.origin.last.insert(key, now);
            self.origin.force.remove(&key);
            self.flood(now, &lsa, None);
        }
        let wanted = self.desired();
        for key in self.own_keys(now) {
            if !wanted.contains_key(&key) {
                self.flush(now, key);
            }
        }
        self.origin.pending = pending;
    }

    /// Every instance of ours the network holds (kept through a graceful
    /// restart) is gone past, or flushed if we no longer want it.
    pub(crate) fn take_over_own_lsas(&mut self, now: Instant) {
        for key in self.own_keys(now) {
            self.origin.force.insert(key);
        }
        self.originate(now);
    }

    /// Premature aging (14.1): set the age to MaxAge and flood.
    pub(crate) fn flush(&mut self, now: Instant, key: LsaKey) {
        let Some(e) = self.lsdb.get(&key) else {
            return;
        };
        let mut lsa = e.lsa.clone();
        lsa.header.age = MAX_AGE;
        tracing::debug!(lsa = %key, "flushing (premature aging)");
        self.remove_from_retransmit(&key);
        self.lsdb.install(lsa.clone(), now, false);
        self.flood(now, &lsa, None);
    }

    /// Section 13.4: the network holds a newer instance of an LSA of ours
    /// (we restarted). Re-originate it past that sequence number if we
    /// still want it, else flush it.
    pub(crate) fn self_originated_received(&mut self, now: Instant, key: LsaKey) {
        if let Some(e) = self.lsdb.get(&key) {
            let seq = e.lsa.header.seq;
            let seen = self.origin.seen_seq.entry(key).or_insert(seq);
            *seen = (*seen).max(seq);
        }
        if self.restarting() {
            tracing::debug!(lsa = %key, "kept as received until the graceful restart ends");
            return;
        }
        if self.shutting_down || !self.desired().contains_key(&key) {
            tracing::info!(lsa = %key, "flushing a stale LSA of ours the network still held");
            self.flush(now, key);
        } else {
            tracing::info!(lsa = %key, "taking over an LSA of ours the network still held");
            self.origin.force.insert(key);
            self.originate(now);
        }
    }
}

fn key(kind: LsaType, id: Ipv4Addr, adv_router: Ipv4Addr) -> LsaKey {
    LsaKey {
        kind,
        id,
        adv_router,
    }
}
