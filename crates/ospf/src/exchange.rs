//! Database exchange (RFC 2328 10.6-10.8): DBDs as master or slave, then
//! LS Requests for what the neighbor has newer.

use crate::instance::Instance;
use crate::neighbor::{DbdSeen, NbrEvent, NbrState};
use crate::wire::hello::options;
use crate::wire::{Body, Dbd, DbdFlags, Lsa, LsaHeader, LsaKey, LsaType};
use std::net::Ipv4Addr;
use std::time::Instant;

/// OSPF header and DBD fixed fields.
const DBD_FIXED: usize = 24 + 8;
const LSU_FIXED: usize = 24 + 4;

impl Instance {
    /// ExStart (10.3): "the router increments the DD sequence number ...
    /// declares itself master (sets the master/slave bit to master), and
    /// starts sending Database Description Packets, with the initialize (I),
    /// more (M) and master (MS) bits set."
    pub(crate) fn start_exchange(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let seed = self.next_dd_seq(now);
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        n.master = true;
        n.dd_seq = seed;
        n.last_rx_dbd = None;
        n.sent_all = false;
        let flags = DbdFlags {
            init: true,
            more: true,
            master: true,
        };
        self.send_dbd(now, iface, rid, flags, Vec::new());
    }

    /// A DD sequence number that differs across restarts and exchanges:
    /// from the wall-clock seed, the time since start and a counter.
    fn next_dd_seq(&self, now: Instant) -> u32 {
        let ms = now.saturating_duration_since(self.started).as_millis() as u32;
        self.crypto_seed.wrapping_mul(2_654_435_761) ^ ms ^ (self.stats.tx_packets as u32)
    }

    fn send_dbd(
        &mut self,
        now: Instant,
        iface: usize,
        rid: Ipv4Addr,
        flags: DbdFlags,
        headers: Vec<LsaHeader>,
    ) {
        let mtu = self.ifaces[iface].config.mtu;
        let n = &self.ifaces[iface].neighbors[&rid];
        let dbd = Dbd {
            mtu,
            options: options::E,
            flags,
            seq: n.dd_seq,
            headers,
        };
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        n.last_tx_dbd = Some(dbd.clone());
        // Only the master retransmits on a timer; the slave answers.
        n.dbd_rxmt_due = n.master.then(|| Instance::rxmt_deadline(now));
        let dst = self.unicast_dst(iface, rid);
        self.send(now, iface, dst, Body::Dbd(dbd));
    }

    pub(crate) fn retransmit_dbd(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        let active = matches!(n.state, NbrState::ExStart | NbrState::Exchange) && n.master;
        match (&n.last_tx_dbd, active) {
            (Some(dbd), true) => {
                n.dbd_rxmt_due = Some(Instance::rxmt_deadline(now));
                let dbd = dbd.clone();
                self.resend_dbd(now, iface, rid, dbd);
            }
            _ => n.dbd_rxmt_due = None,
        }
    }

    /// Sends our last DBD again: the same body, emitted anew so that its
    /// MD5 sequence number is not lower than that of any packet sent since
    /// (a receiver drops a packet whose number went back, D.5.2).
    fn resend_dbd(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, dbd: Dbd) {
        let dst = self.unicast_dst(iface, rid);
        self.send(now, iface, dst, Body::Dbd(dbd));
    }

    /// NegotiationDone: the summary list gets every LSA in the database;
    /// MaxAge ones go on the retransmission list instead (10.3).
    pub(crate) fn build_summary(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let mut summary = Vec::new();
        let mut aged = Vec::new();
        for (key, e) in self.lsdb.iter() {
            if e.is_max_age(now) {
                aged.push((*key, e.header(now)));
            } else {
                summary.push(e.header(now));
            }
        }
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        n.summary = summary.into();
        for (k, h) in aged {
            n.retransmit.insert(k, h);
        }
        if !n.retransmit.is_empty() && n.lsu_rxmt_due.is_none() {
            n.lsu_rxmt_due = Some(Instance::rxmt_deadline(now));
        }
    }

    /// How many LSA headers fit in one DBD or LSAck on this interface.
    pub(crate) fn headers_per_packet(&self, iface: usize) -> usize {
        (self.max_payload(iface).saturating_sub(DBD_FIXED) / LsaHeader::LEN).max(1)
    }

    /// The next DBD of the exchange: as many summary headers as fit.
    fn send_next_dbd(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let per = self.headers_per_packet(iface);
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        let take = per.min(n.summary.len());
        let headers: Vec<LsaHeader> = n.summary.drain(..take).collect();
        let more = !n.summary.is_empty();
        n.sent_all = !more;
        let flags = DbdFlags {
            init: false,
            more,
            master: n.master,
        };
        self.send_dbd(now, iface, rid, flags, headers);
    }

    pub(crate) fn rx_dbd(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, d: Dbd) {
        let mtu = self.ifaces[iface].config.mtu;
        if d.mtu > mtu && !self.ifaces[iface].config.mtu_ignore {
            let src = self.ifaces[iface].neighbors[&rid].addr;
            self.mismatch(iface, src, "MTU", mtu.to_string(), d.mtu.to_string());
            return;
        }
        // Init: "the packet should be processed as if a 2-WayReceived
        // event had occurred first."
        if self.ifaces[iface].neighbors[&rid].state == NbrState::Init {
            let i = &self.ifaces[iface];
            let adjacent = i.should_be_adjacent(&i.neighbors[&rid]);
            self.nbr_event(iface, rid, NbrEvent::TwoWayReceived { adjacent }, now);
        }
        let seen = DbdSeen {
            init: d.flags.init,
            more: d.flags.more,
            master: d.flags.master,
            options: d.options,
            seq: d.seq,
        };
        let n = &self.ifaces[iface].neighbors[&rid];
        let duplicate = n.last_rx_dbd == Some(seen);
        match n.state {
            NbrState::ExStart => self.dbd_negotiate(now, iface, rid, d, seen),
            NbrState::Exchange if duplicate => self.dbd_duplicate(now, iface, rid),
            NbrState::Exchange => self.dbd_exchange(now, iface, rid, d, seen),
            NbrState::Loading | NbrState::Full if duplicate => self.dbd_duplicate(now, iface, rid),
            NbrState::Loading | NbrState::Full => {
                self.nbr_event(iface, rid, NbrEvent::SeqNumberMismatch, now)
            }
            // Down, Init (not adjacent), 2-Way: ignored.
            _ => {}
        }
    }

    /// "The master must discard duplicates; the slave must respond to a
    /// duplicate by repeating the last Database Description packet."
    fn dbd_duplicate(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let n = &self.ifaces[iface].neighbors[&rid];
        if !n.master {
            if let Some(dbd) = n.last_tx_dbd.clone() {
                self.resend_dbd(now, iface, rid, dbd);
            }
        }
    }

    /// ExStart: decide who is master (10.6).
    fn dbd_negotiate(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, d: Dbd, seen: DbdSeen) {
        let our_seq = self.ifaces[iface].neighbors[&rid].dd_seq;
        let f = d.flags;
        if f.init && f.more && f.master && d.headers.is_empty() && rid > self.router_id {
            // "The neighbor is the master... the router is now slave. Set
            // the master/slave bit to slave, and set the neighbor data
            // structure's DD sequence number to that specified by the master."
            let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
            n.master = false;
            n.dd_seq = d.seq;
            n.dbd_rxmt_due = None;
            n.last_rx_dbd = Some(seen);
            n.options = d.options;
            self.nbr_event(iface, rid, NbrEvent::NegotiationDone, now);
            self.send_next_dbd(now, iface, rid);
        } else if !f.init && !f.master && d.seq == our_seq && rid < self.router_id {
            // "The neighbor's DD sequence number matches ours and its router
            // id is lower: the router is master." The packet already carries
            // the slave's first headers.
            let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
            n.options = d.options;
            self.nbr_event(iface, rid, NbrEvent::NegotiationDone, now);
            self.dbd_exchange(now, iface, rid, d, seen);
        }
        // Otherwise the packet is ignored.
    }

    /// Exchange: an in-sequence DBD is accepted and answered (10.6, 10.8).
    fn dbd_exchange(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, d: Dbd, seen: DbdSeen) {
        let n = &self.ifaces[iface].neighbors[&rid];
        let in_sequence = if n.master {
            d.seq == n.dd_seq
        } else {
            d.seq == n.dd_seq.wrapping_add(1)
        };
        let options_changed = n.last_rx_dbd.is_some_and(|l| l.options != d.options);
        // The neighbor must claim the opposite role, never re-initialize,
        // keep its options, and follow the sequence.
        if d.flags.master == n.master || d.flags.init || options_changed || !in_sequence {
            tracing::debug!(neighbor = %rid, ?seen, ours = n.dd_seq, "DBD out of sequence");
            self.nbr_event(iface, rid, NbrEvent::SeqNumberMismatch, now);
            return;
        }
        for h in &d.headers {
            // Only LSA types we know may be described (10.6).
            if !known_type(h.kind) {
                self.nbr_event(iface, rid, NbrEvent::SeqNumberMismatch, now);
                return;
            }
            let newer = match self.lsdb.get(&h.key()) {
                None => true,
                Some(e) => h.compare(&e.header(now)).is_gt(),
            };
            if newer {
                let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
                n.requests.insert(h.key(), *h);
            }
        }
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        n.last_rx_dbd = Some(seen);
        if n.master {
            // The slave acknowledged our last packet.
            n.dd_seq = n.dd_seq.wrapping_add(1);
            if n.sent_all && !d.flags.more {
                n.dbd_rxmt_due = None;
                self.exchange_done(now, iface, rid);
            } else {
                self.send_next_dbd(now, iface, rid);
            }
        } else {
            n.dd_seq = d.seq;
            self.send_next_dbd(now, iface, rid);
            let n = &self.ifaces[iface].neighbors[&rid];
            if !d.flags.more && n.sent_all {
                self.exchange_done(now, iface, rid);
            }
        }
    }

    /// Both sides have described their databases: Loading if we still
    /// need LSAs from the neighbor, else Full.
    fn exchange_done(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let requests_pending = !self.ifaces[iface].neighbors[&rid].requests.is_empty();
        self.nbr_event(iface, rid, NbrEvent::ExchangeDone { requests_pending }, now);
    }

    /// Sends an LS Request for as many pending requests as fit (10.9).
    pub(crate) fn send_requests(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let per = (self.max_payload(iface).saturating_sub(24) / LsaKey::LEN).max(1);
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        if n.requests.is_empty() || n.state < NbrState::Exchange {
            n.lsr_rxmt_due = None;
            return;
        }
        let keys: Vec<LsaKey> = n.requests.keys().take(per).copied().collect();
        n.lsr_rxmt_due = Some(Instance::rxmt_deadline(now));
        let dst = self.unicast_dst(iface, rid);
        self.send(now, iface, dst, Body::LsRequest(keys));
    }

    /// An LS Request: answer with our copies, or BadLSReq if we lack one.
    pub(crate) fn rx_lsr(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, keys: Vec<LsaKey>) {
        if self.ifaces[iface].neighbors[&rid].state < NbrState::Exchange {
            return;
        }
        let mut lsas = Vec::with_capacity(keys.len());
        for k in &keys {
            match self.lsdb.get(k) {
                Some(e) => lsas.push(e.lsa(now)),
                None => {
                    tracing::debug!(neighbor = %rid, lsa = %k, "LS request for an LSA we do not have");
                    self.nbr_event(iface, rid, NbrEvent::BadLsReq, now);
                    return;
                }
            }
        }
        let dst = self.unicast_dst(iface, rid);
        self.send_lsas(now, iface, dst, lsas);
    }

    /// Sends LSAs in as few LS Updates as the MTU allows, each LSA aged by
    /// InfTransDelay. An LSA larger than the MTU goes alone (the kernel
    /// fragments it).
    pub(crate) fn send_lsas(&mut self, now: Instant, iface: usize, dst: Ipv4Addr, lsas: Vec<Lsa>) {
        let room = self.max_payload(iface).saturating_sub(LSU_FIXED);
        let mut batch: Vec<Lsa> = Vec::new();
        let mut size = 0;
        for mut lsa in lsas {
            if lsa.header.adv_router == self.router_id {
                self.origin.sent.insert(lsa.key(), now);
            }
            lsa.header.age = lsa
                .header
                .age()
                .saturating_add(crate::config::INF_TRANS_DELAY)
                .min(crate::wire::lsa::MAX_AGE);
            let len = usize::from(lsa.header.length);
            if !batch.is_empty() && size + len > room {
                self.send(now, iface, dst, Body::LsUpdate(std::mem::take(&mut batch)));
                size = 0;
            }
            size += len;
            batch.push(lsa);
        }
        if !batch.is_empty() {
            self.send(now, iface, dst, Body::LsUpdate(batch));
        }
    }
}

/// Whether an LSA type is flooded in our (normal) area at all.
pub(crate) fn known_type(kind: LsaType) -> bool {
    (1..=5).contains(&kind.0)
}
