//! Two (or more) BFD cores wired back to back on one link, on a
//! simulated clock: time jumps from deadline to deadline, packets arrive
//! after a fixed latency. No sockets, no sleeping; a run replays exactly.
//!
//! Shared by several test files, each using a part of it.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use xlvs_bfd::{Bfd, ControlPacket, Event, SessionConfig, SessionId, TTL};

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn config(interval_ms: u64, multiplier: u8) -> SessionConfig {
    SessionConfig::new(ms(interval_ms), multiplier).unwrap()
}

pub struct Node {
    pub bfd: Bfd,
    pub addr: Ipv4Addr,
    /// What this node sends is lost (it crashed, or its cable is cut).
    pub muted: bool,
    /// The TTL its packets arrive with.
    pub ttl: u8,
}

/// A packet as it left a node, whether or not it arrived.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub from: usize,
    pub packet: ControlPacket,
    pub src_port: u16,
    pub delivered: bool,
}

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub latency: Duration,
    pub nodes: Vec<Node>,
    /// (arrival, to, from address, to address, ttl, bytes)
    in_flight: Vec<(Instant, usize, Ipv4Addr, Ipv4Addr, u8, Vec<u8>)>,
    pub sent: Vec<Sent>,
    pub events: Vec<(Instant, usize, Event)>,
    /// Packets (sender, packet) for which this returns true are lost.
    pub lose: Option<Lose>,
}

pub type Lose = Box<dyn FnMut(usize, &ControlPacket) -> bool>;

impl Sim {
    /// Two nodes, 10.0.0.1 and 10.0.0.2, each with a session to the other
    /// (ids returned), 1 ms apart.
    pub fn pair(a: SessionConfig, b: SessionConfig) -> (Sim, SessionId, SessionId) {
        let mut sim = Sim {
            start: Instant::now(),
            now: Instant::now(),
            latency: ms(1),
            nodes: Vec::new(),
            in_flight: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
            lose: None,
        };
        sim.start = sim.now;
        for (seed, addr) in [(1, "10.0.0.1"), (2, "10.0.0.2")] {
            sim.nodes.push(Node {
                bfd: Bfd::new(seed),
                addr: ip(addr),
                muted: false,
                ttl: TTL,
            });
        }
        let (a0, a1) = (sim.nodes[0].addr, sim.nodes[1].addr);
        let now = sim.now;
        let sa = sim.nodes[0].bfd.add_session(now, a1, a0, a).unwrap();
        let sb = sim.nodes[1].bfd.add_session(now, a0, a1, b).unwrap();
        sim.flush();
        (sim, sa, sb)
    }

    fn node_of(&self, addr: Ipv4Addr) -> Option<usize> {
        self.nodes.iter().position(|n| n.addr == addr)
    }

    /// Takes every packet and event the nodes have ready at `now`, as a
    /// driver does after each call into the core.
    pub fn flush(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(t) = self.nodes[i].bfd.poll_transmit(self.now) {
                assert_eq!(t.to.port(), 3784);
                let packet = ControlPacket::parse(&t.bytes).expect("we send what we accept");
                let node = &self.nodes[i];
                let to = self.node_of(*t.to.ip());
                let lost = self.lose.as_mut().is_some_and(|f| f(i, &packet));
                let delivered = !node.muted && !lost && to.is_some();
                if let (true, Some(to)) = (delivered, to) {
                    let at = self.now + self.latency;
                    self.in_flight
                        .push((at, to, t.from, *t.to.ip(), node.ttl, t.bytes.clone()));
                }
                self.sent.push(Sent {
                    at: self.now,
                    from: i,
                    packet,
                    src_port: t.src_port,
                    delivered,
                });
            }
            while let Some(e) = self.nodes[i].bfd.poll_event() {
                self.events.push((self.now, i, e));
            }
        }
    }

    /// The next instant anything happens.
    fn next_deadline(&self) -> Option<Instant> {
        let timers = self.nodes.iter().filter_map(|n| n.bfd.poll_timeout());
        let arrivals = self.in_flight.iter().map(|f| f.0);
        timers.chain(arrivals).min()
    }

    /// Runs every deadline up to and including `until`, then sets the
    /// clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        while let Some(at) = self.next_deadline().filter(|at| *at <= until) {
            self.now = self.now.max(at);
            self.step();
        }
        self.now = until;
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs until `done` holds (checked after each step) or `limit`
    /// passes; returns whether it held.
    pub fn run_until_cond(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let until = self.now + limit;
        while !done(self) {
            match self.next_deadline().filter(|at| *at <= until) {
                Some(at) => {
                    self.now = self.now.max(at);
                    self.step();
                }
                None => return false,
            }
        }
        true
    }

    fn step(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|f| f.0 <= now);
        self.in_flight = later;
        for (_, to, from, dst, ttl, bytes) in due {
            self.nodes[to]
                .bfd
                .handle_packet(now, from, dst, ttl, &bytes);
        }
        for n in &mut self.nodes {
            n.bfd.handle_timeout(now);
        }
        self.flush();
    }

    pub fn state(&self, node: usize, id: SessionId) -> xlvs_bfd::State {
        self.nodes[node].bfd.session(id, self.now).unwrap().state
    }

    pub fn both_up(&self, a: SessionId, b: SessionId) -> bool {
        self.state(0, a) == xlvs_bfd::State::Up && self.state(1, b) == xlvs_bfd::State::Up
    }

    /// The packets node `from` sent at or after `since`.
    pub fn sent_by(&self, from: usize, since: Instant) -> Vec<Sent> {
        self.sent
            .iter()
            .filter(|s| s.from == from && s.at >= since)
            .cloned()
            .collect()
    }

    /// When the last packet node `from` sent that was delivered arrived.
    pub fn last_arrival(&self, from: usize) -> Instant {
        self.sent
            .iter()
            .filter(|s| s.from == from && s.delivered)
            .map(|s| s.at + self.latency)
            .max()
            .expect("a delivered packet")
    }

    /// Node `node`'s events, with their time.
    pub fn events_of(&self, node: usize) -> Vec<(Instant, Event)> {
        self.events
            .iter()
            .filter(|(_, n, _)| *n == node)
            .map(|(t, _, e)| (*t, *e))
            .collect()
    }

    /// Brings a pair Up and past both Poll Sequences: the fast rate on
    /// both sides.
    pub fn settle(&mut self, a: SessionId, b: SessionId) {
        assert!(
            self.run_until_cond(ms(10_000), |s| s.both_up(a, b)),
            "no Up"
        );
        let fast = |s: &Sim, n: usize, id| !s.nodes[n].bfd.session(id, s.now).unwrap().polling;
        assert!(
            self.run_until_cond(ms(5_000), |s| fast(s, 0, a) && fast(s, 1, b)),
            "a Poll Sequence never ended"
        );
    }
}

/// Gaps between consecutive periodic packets (Finals, which leave out of
/// cadence, are left out).
pub fn periodic_gaps(sent: &[Sent]) -> Vec<Duration> {
    let periodic: Vec<&Sent> = sent.iter().filter(|s| !s.packet.fin).collect();
    periodic.windows(2).map(|w| w[1].at - w[0].at).collect()
}
