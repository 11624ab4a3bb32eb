//! Receiving and sending Hellos (RFC 2328 9.5 and 10.5).

use crate::instance::{Instance, ALL_SPF_ROUTERS};
use crate::interface::IfState;
use crate::neighbor::{NbrEvent, Neighbor};
use crate::wire::hello::options;
use crate::wire::{Body, Hello};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

impl Instance {
    pub(crate) fn rx_hello(
        &mut self,
        now: Instant,
        iface: usize,
        src: Ipv4Addr,
        rid: Ipv4Addr,
        h: Hello,
    ) {
        if !self.hello_matches(iface, src, &h) {
            return;
        }
        let i = &mut self.ifaces[iface];
        let nbr = i
            .neighbors
            .entry(rid)
            .or_insert_with(|| Neighbor::new(rid, src, now));
        // A priority or DR/BDR declaration change is a NeighborChange (10.5).
        let declared_before = (nbr.priority, nbr.dr == nbr.addr, nbr.bdr == nbr.addr);
        nbr.addr = src;
        nbr.priority = h.priority;
        nbr.options = h.options;
        nbr.dr = h.dr;
        nbr.bdr = h.bdr;
        let declared_now = (nbr.priority, nbr.dr == nbr.addr, nbr.bdr == nbr.addr);
        if nbr.state == crate::neighbor::NbrState::Down {
            nbr.up_since = now;
        }

        self.nbr_event(iface, rid, NbrEvent::HelloReceived, now);
        if h.neighbors.contains(&self.router_id) {
            let i = &self.ifaces[iface];
            let adjacent = i.should_be_adjacent(&i.neighbors[&rid]);
            self.nbr_event(iface, rid, NbrEvent::TwoWayReceived { adjacent }, now);
        } else {
            // "...the processing of the Hello Packet stops."
            self.nbr_event(iface, rid, NbrEvent::OneWayReceived, now);
            return;
        }
        if self.ifaces[iface].is_broadcast() && declared_before != declared_now {
            self.neighbor_change(now, iface);
        }
    }

    /// The parameters that must agree (10.5), each mismatch logged once.
    fn hello_matches(&mut self, iface: usize, src: Ipv4Addr, h: &Hello) -> bool {
        let c = &self.ifaces[iface].config;
        let (mask, hello, dead) = (c.mask(), c.hello_interval, c.dead_interval);
        if self.ifaces[iface].is_broadcast() && h.network_mask != mask {
            self.mismatch(
                iface,
                src,
                "network mask",
                mask.to_string(),
                h.network_mask.to_string(),
            );
            return false;
        }
        // FRR's `dead-interval minimal` sends HelloInterval 0: accept it as
        // FRR does, and only compare the dead interval.
        if h.hello_interval != 0 && h.hello_interval != hello {
            self.mismatch(
                iface,
                src,
                "hello interval",
                hello.to_string(),
                h.hello_interval.to_string(),
            );
            return false;
        }
        if h.dead_interval != dead {
            self.mismatch(
                iface,
                src,
                "dead interval",
                dead.to_string(),
                h.dead_interval.to_string(),
            );
            return false;
        }
        if h.options & options::E == 0 {
            self.mismatch(
                iface,
                src,
                "area type (E bit)",
                "normal".into(),
                "stub/NSSA".into(),
            );
            return false;
        }
        true
    }

    /// A goodbye Hello lists no neighbors: every neighbor drops us to
    /// Init at once (1-WayReceived) instead of after the dead interval.
    pub(crate) fn send_hello(&mut self, now: Instant, iface: usize, goodbye: bool) {
        let i = &mut self.ifaces[iface];
        i.hello_due = now + Duration::from_secs(u64::from(i.config.hello_interval.max(1)));
        let mut hello = i.hello();
        if goodbye {
            hello.neighbors.clear();
        }
        self.send(now, iface, ALL_SPF_ROUTERS, Body::Hello(hello));
    }

    /// Sends a goodbye Hello on every interface now (used at shutdown).
    pub(crate) fn send_goodbyes(&mut self, now: Instant) {
        for iface in 0..self.ifaces.len() {
            if self.ifaces[iface].state != IfState::Down {
                self.send_hello(now, iface, true);
            }
        }
    }
}
