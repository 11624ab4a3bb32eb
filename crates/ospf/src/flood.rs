//! Section 13: receiving LS Updates, flooding, acknowledgements,
//! retransmission, and aging the database (section 14).

use crate::config::{ACK_DELAY, MIN_LS_ARRIVAL};
use crate::exchange::known_type;
use crate::instance::Instance;
use crate::interface::IfState;
use crate::neighbor::{NbrEvent, NbrState};
use crate::wire::lsa::MAX_SEQ;
use crate::wire::{Body, Lsa, LsaHeader, LsaKey};
use std::cmp::Ordering;
use std::net::Ipv4Addr;
use std::time::Instant;

impl Instance {
    pub(crate) fn rx_lsu(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, lsas: Vec<Lsa>) {
        let before = match self.ifaces[iface].neighbors.get(&rid) {
            Some(n) if n.state >= NbrState::Exchange => n.requests.len(),
            _ => return,
        };
        for lsa in lsas {
            self.rx_lsa(now, iface, rid, lsa);
            // BadLSReq may have restarted the exchange.
            if self.ifaces[iface]
                .neighbors
                .get(&rid)
                .is_none_or(|n| n.state < NbrState::Exchange)
            {
                return;
            }
        }
        let n = &self.ifaces[iface].neighbors[&rid];
        if n.state == NbrState::Loading {
            if n.requests.is_empty() {
                self.ifaces[iface]
                    .neighbors
                    .get_mut(&rid)
                    .expect("present")
                    .lsr_rxmt_due = None;
                self.nbr_event(iface, rid, NbrEvent::LoadingDone, now);
            } else if n.requests.len() < before {
                // Ask for the next batch without waiting for the timer.
                self.send_requests(now, iface, rid);
            }
        }
        self.remove_flushed(now);
        // Our pre-restart LSAs may have arrived (graceful restart).
        self.graceful_progress(now);
    }

    /// Section 13, steps 1-8, for one LSA from neighbor `rid`.
    fn rx_lsa(&mut self, now: Instant, iface: usize, rid: Ipv4Addr, lsa: Lsa) {
        // (1) checksum, (2) type: discard the LSA, go on with the next.
        if !lsa.checksum_ok() {
            self.stats.bad_lsa_checksums += 1;
            return;
        }
        if lsa.header.kind.is_opaque() {
            self.rx_opaque(now, iface, rid, lsa);
            return;
        }
        if !known_type(lsa.header.kind) {
            return;
        }
        let key = lsa.key();
        let db = self.lsdb.get(&key).map(|e| e.header(now));
        // (4) A MaxAge LSA we do not have, with no exchange in progress:
        // acknowledge and discard.
        if lsa.header.is_max_age() && db.is_none() && !self.any_exchanging() {
            self.direct_ack(now, iface, rid, lsa.header);
            return;
        }
        let Some(db) = db.filter(|d| lsa.header.compare(d) != Ordering::Greater) else {
            // (5) No copy, or the received one is newer.
            let arrived = self.lsdb.get(&key).and_then(|e| e.arrived);
            if arrived.is_some_and(|t| now.saturating_duration_since(t) < MIN_LS_ARRIVAL) {
                return; // (5a) too soon after the last one
            }
            let back_out = self.flood(now, &lsa, Some((iface, rid))); // (5b)
            self.remove_from_retransmit(&key); // (5c)
            self.lsdb.install(lsa.clone(), now, true); // (5d)
            if !back_out {
                self.delayed_ack(now, iface, lsa.header); // (5e)
            }
            if key.adv_router == self.router_id {
                self.self_originated_received(now, key); // (5f), 13.4
            }
            return;
        };
        // (6) The neighbor sent an LSA it had told us was newer: the
        // exchange went wrong.
        if self.ifaces[iface].neighbors[&rid]
            .requests
            .contains_key(&key)
        {
            self.nbr_event(iface, rid, NbrEvent::BadLsReq, now);
            return;
        }
        if lsa.header.compare(&db) == Ordering::Equal {
            // (7) A duplicate: an implied acknowledgement if we were waiting
            // for one (a DR Other sends no ack then), else a direct ack.
            let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
            if n.retransmit.remove(&key).is_some() {
                if n.retransmit.is_empty() {
                    n.lsu_rxmt_due = None;
                }
            } else {
                self.direct_ack(now, iface, rid, lsa.header);
            }
            return;
        }
        // (8) Our copy is newer: send it back, unless it is being flushed
        // at the top sequence number.
        if db.is_max_age() && db.seq == MAX_SEQ {
            return;
        }
        let ours = self.lsdb.get(&key).expect("present").lsa(now);
        let dst = self.unicast_dst(iface, rid);
        self.send_lsas(now, iface, dst, vec![ours]);
    }

    fn any_exchanging(&self) -> bool {
        self.ifaces
            .iter()
            .flat_map(|i| i.neighbors.values())
            .any(|n| matches!(n.state, NbrState::Exchange | NbrState::Loading))
    }

    /// Section 13.3: puts the LSA on the retransmission list of every
    /// adjacency that should get it and sends it out of each interface that
    /// needs it. `from` is the interface and neighbor it came from (None
    /// for our own). Returns whether it went back out the receiving
    /// interface.
    pub(crate) fn flood(
        &mut self,
        now: Instant,
        lsa: &Lsa,
        from: Option<(usize, Ipv4Addr)>,
    ) -> bool {
        let key = lsa.key();
        let mut back_out = false;
        for iface in 0..self.ifaces.len() {
            if self.ifaces[iface].state == IfState::Down {
                continue;
            }
            let mut added = false;
            for n in self.ifaces[iface].neighbors.values_mut() {
                // (1a) Not yet exchanging: it gets the LSA in its summary.
                if n.state < NbrState::Exchange {
                    continue;
                }
                // (1b) Still loading: the request list may already want it.
                if n.state < NbrState::Full {
                    if let Some(req) = n.requests.get(&key) {
                        match lsa.header.compare(req) {
                            Ordering::Less => continue,
                            Ordering::Equal => {
                                n.requests.remove(&key);
                                continue;
                            }
                            Ordering::Greater => {
                                n.requests.remove(&key);
                            }
                        }
                    }
                }
                // (1c) Not back to where it came from.
                if from == Some((iface, n.router_id)) {
                    continue;
                }
                // (1d)
                n.retransmit.insert(key, lsa.header);
                if n.lsu_rxmt_due.is_none() {
                    n.lsu_rxmt_due = Some(Instance::rxmt_deadline(now));
                }
                added = true;
            }
            // (2) Nobody on this interface needs it.
            if !added {
                continue;
            }
            if let Some((from_iface, from_rid)) = from {
                if from_iface == iface {
                    // (3) The DR (or BDR) floods what it sent to the others.
                    let i = &self.ifaces[iface];
                    let sender = i.neighbors.get(&from_rid).map(|n| n.addr);
                    if i.is_broadcast() && sender.is_some_and(|a| a == i.dr || a == i.bdr) {
                        continue;
                    }
                    back_out = true;
                }
            }
            // (5) Flood out this interface.
            let dst = self.flood_dst(iface);
            self.send_lsas(now, iface, dst, vec![lsa.clone()]);
        }
        back_out
    }

    pub(crate) fn remove_from_retransmit(&mut self, key: &LsaKey) {
        for n in self
            .ifaces
            .iter_mut()
            .flat_map(|i| i.neighbors.values_mut())
        {
            n.retransmit.remove(key);
            if n.retransmit.is_empty() {
                n.lsu_rxmt_due = None;
            }
        }
    }

    pub(crate) fn direct_ack(
        &mut self,
        now: Instant,
        iface: usize,
        rid: Ipv4Addr,
        header: LsaHeader,
    ) {
        let dst = self.unicast_dst(iface, rid);
        self.send(now, iface, dst, Body::LsAck(vec![header]));
    }

    fn delayed_ack(&mut self, now: Instant, iface: usize, header: LsaHeader) {
        let i = &mut self.ifaces[iface];
        i.delayed_acks.push(header);
        i.ack_due.get_or_insert(now + ACK_DELAY);
    }

    pub(crate) fn send_delayed_acks(&mut self, now: Instant, iface: usize) {
        let per = self.headers_per_packet(iface);
        let i = &mut self.ifaces[iface];
        i.ack_due = None;
        let acks = std::mem::take(&mut i.delayed_acks);
        let dst = self.flood_dst(iface);
        for chunk in acks.chunks(per) {
            self.send(now, iface, dst, Body::LsAck(chunk.to_vec()));
        }
    }

    /// Section 13.7: an acknowledgement takes the LSA off the neighbor's
    /// retransmission list if it names the instance we sent.
    pub(crate) fn rx_ack(
        &mut self,
        now: Instant,
        iface: usize,
        rid: Ipv4Addr,
        headers: Vec<LsaHeader>,
    ) {
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        if n.state < NbrState::Exchange {
            return;
        }
        for h in headers {
            let key = h.key();
            match n.retransmit.get(&key) {
                Some(sent) if h.compare(sent) == Ordering::Equal => {
                    n.retransmit.remove(&key);
                }
                _ => {
                    tracing::trace!(neighbor = %rid, lsa = %key, "acknowledgement for an instance we did not send")
                }
            }
        }
        if n.retransmit.is_empty() {
            n.lsu_rxmt_due = None;
        }
        self.remove_flushed(now);
    }

    /// RxmtInterval passed: send the unacknowledged LSAs again, directly to
    /// the neighbor.
    pub(crate) fn retransmit_lsas(&mut self, now: Instant, iface: usize, rid: Ipv4Addr) {
        let n = &self.ifaces[iface].neighbors[&rid];
        let keys: Vec<LsaKey> = n.retransmit.keys().copied().collect();
        let mut lsas = Vec::new();
        let mut gone = Vec::new();
        for k in keys {
            match self.stored_lsa(iface, &k) {
                Some(e) => lsas.push(e.lsa(now)),
                None => gone.push(k),
            }
        }
        let n = self.ifaces[iface].neighbors.get_mut(&rid).expect("present");
        for k in gone {
            n.retransmit.remove(&k);
        }
        if lsas.is_empty() {
            n.lsu_rxmt_due = None;
            return;
        }
        n.lsu_rxmt_due = Some(Instance::rxmt_deadline(now));
        let dst = self.unicast_dst(iface, rid);
        self.send_lsas(now, iface, dst, lsas);
    }

    /// Section 14: an LSA that reaches MaxAge is flooded once more, and
    /// removed when no neighbor still owes us an acknowledgement for it.
    pub(crate) fn age_database(&mut self, now: Instant) {
        for key in self.lsdb.newly_max_aged(now) {
            let lsa = self.lsdb.get(&key).expect("listed").lsa(now);
            self.lsdb.mark_max_age_flooded(&key);
            self.flood(now, &lsa, None);
        }
        self.remove_flushed(now);
    }

    /// Removes MaxAge LSAs that are acknowledged by everyone, unless an
    /// exchange is running (it may still describe them).
    pub(crate) fn remove_flushed(&mut self, now: Instant) {
        if self.any_exchanging() {
            return;
        }
        for key in self.lsdb.max_aged(now) {
            let owed = self
                .ifaces
                .iter()
                .flat_map(|i| i.neighbors.values())
                .any(|n| n.retransmit.contains_key(&key));
            if !owed {
                self.lsdb.remove(&key);
                tracing::debug!(lsa = %key, "MaxAge LSA removed from the database");
            }
        }
    }

    pub(crate) fn lsdb_next_due(&self) -> Option<Instant> {
        self.lsdb.next_max_age()
    }
}
