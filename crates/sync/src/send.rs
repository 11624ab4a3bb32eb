//! Sending: sequence numbers, destinations, Hellos and the batching of
//! published entries.
//!
//! One encoding per datagram: in unicast mode its copies to the peers
//! share one sequence number (and one HMAC). Each receiver sees only some
//! of our numbers (a transfer we serve to another peer takes its own), and
//! a gap is not a loss to the replay window.

use crate::config::Mode;
use crate::flow_sync::{FlowSync, Queued, Transmit};
use crate::timers::Timer;
use crate::wire::datagram::entries_room;
use crate::wire::{Body, Datagram, Entry, Hello};
use std::net::Ipv4Addr;
use std::time::Instant;

impl FlowSync {
    /// Queues an entry this director forwards: one it created (owner: our
    /// address), or a refresh of another director's flow that the router
    /// moved here (owner: as installed). It leaves in an Entries datagram
    /// when one is full or `flush_delay` after the first entry of the
    /// batch.
    pub fn publish(&mut self, now: Instant, entry: Entry) {
        let room = entries_room(self.config.max_datagram);
        // A record with a proxy shift is 8 bytes longer: it may not fit
        // where a plain one would.
        if self.batch_bytes + entry.wire_len() > room {
            self.flush();
        }
        if self.batch.is_empty() {
            self.timers.set(Timer::Flush, now + self.config.flush_delay);
        }
        self.batch_bytes += entry.wire_len();
        self.batch.push(entry);
        if self.batch_bytes + crate::wire::ENTRY_LEN > room {
            self.flush();
        }
    }

    /// The next datagram to send: queued ones first (Hellos, live entries,
    /// requests), then the next part of a table transfer we serve, so a
    /// large transfer never delays the Hellos that keep us up.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if self.timers.is_due(Timer::Flush, now) {
            self.flush();
        }
        let q = match self.out.pop_front() {
            Some(q) => q,
            None => self.next_served()?,
        };
        self.datagrams_sent += 1;
        self.entries_sent += q.records as u64;
        if let Some(p) = q.peer.and_then(|p| self.peers.get_mut(&p)) {
            p.counters.datagrams_sent += 1;
            p.counters.entries_sent += q.records as u64;
        }
        Some(q.transmit)
    }

    /// Puts the batch in a datagram.
    pub(crate) fn flush(&mut self) {
        self.timers.clear(Timer::Flush);
        self.batch_bytes = 0;
        if !self.batch.is_empty() {
            let entries = std::mem::take(&mut self.batch);
            self.send_all(Body::Entries(entries));
        }
    }

    pub(crate) fn send_hello(&mut self, now: Instant) {
        let c = &self.config;
        let hello = Hello {
            state: c.state,
            hold_secs: c.hold_secs(),
            local_addresses: c.local_addresses.clone(),
            name: c.name.clone(),
        };
        self.send_all(Body::Hello(hello));
        self.timers
            .set(Timer::Hello, now + self.config.hello_interval);
    }

    /// Queues `body` for every configured peer, or for the group.
    pub(crate) fn send_all(&mut self, body: Body) {
        // Where each copy goes, and the peer it counts for.
        let copies: Vec<(Ipv4Addr, Option<Ipv4Addr>)> = match &self.config.mode {
            Mode::Unicast(peers) => peers.iter().map(|p| (*p, Some(*p))).collect(),
            Mode::Group(group) => vec![(*group, None)],
        };
        if copies.is_empty() {
            return;
        }
        let records = body.count();
        let bytes = self.encode(body);
        for (dst, peer) in copies {
            self.out.push_back(Queued {
                transmit: Transmit {
                    to: self.config.socket(dst),
                    bytes: bytes.clone(),
                },
                peer,
                records,
            });
        }
    }

    /// A datagram for one peer, made now (its sequence number is taken at
    /// once, so datagrams leave in sequence order).
    pub(crate) fn datagram_to(&mut self, peer: Ipv4Addr, body: Body) -> Queued {
        let records = body.count();
        Queued {
            transmit: Transmit {
                to: self.config.socket(peer),
                bytes: self.encode(body),
            },
            peer: Some(peer),
            records,
        }
    }

    fn encode(&mut self, body: Body) -> Vec<u8> {
        self.seq += 1;
        Datagram {
            sender: self.config.address,
            session: self.session,
            seq: self.seq,
            body,
        }
        .encode(&self.key)
    }
}
