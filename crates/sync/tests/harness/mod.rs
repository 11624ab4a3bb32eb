//! Directors wired together without sockets: datagrams are passed between
//! `FlowSync` cores on a fake clock, and a small driver per node keeps a
//! connection table the way the daemon will (decide() on every Install and
//! Remove, serve_bulk on every BulkRequested).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};
use xlvs_sync::config::DEFAULT_PORT;
use xlvs_sync::wire::Header;
use xlvs_sync::{decide, Config, Decision, Entry, Event, Existing, FlowKey, FlowSync, Mode};

pub const KEY: &[u8] = b"cluster key";
pub const GROUP: Ipv4Addr = Ipv4Addr::new(239, 0, 0, 81);

/// Node `i`'s sync address: 10.0.0.(i+1).
pub fn addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, i as u8 + 1)
}

pub struct Node {
    pub sync: FlowSync,
    pub table: BTreeMap<FlowKey, Entry>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Whether the driver answers BulkRequested.
    pub serve: bool,
}

impl Node {
    fn apply(&mut self, now: Instant, event: &Event) {
        let me = self.sync.address();
        match event {
            Event::Install { entry, .. } | Event::Remove { entry, .. } => {
                let existing = self.table.get(&entry.key).map(|e| Existing {
                    owner: e.owner,
                    real: e.real,
                    real_port: e.real_port,
                    local_addr: e.local_addr,
                    local_port: e.local_port,
                });
                match decide(existing, entry, me) {
                    Decision::Install | Decision::Refresh => {
                        self.table.insert(entry.key, *entry);
                    }
                    Decision::Remove => {
                        self.table.remove(&entry.key);
                    }
                    Decision::Keep(_) => {}
                }
            }
            Event::BulkRequested { from, transfer } if self.serve => {
                let table: Vec<Entry> = self.table.values().copied().collect();
                self.sync.serve_bulk(now, *from, *transfer, table);
            }
            _ => {}
        }
    }

    /// The events other than Install and Remove.
    pub fn peer_events(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| !matches!(e, Event::Install { .. } | Event::Remove { .. }))
            .collect()
    }
}

/// A datagram as it left a node.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub from: usize,
    pub to: SocketAddrV4,
    pub header: Header,
    pub bytes: Vec<u8>,
}

/// Decides whether a datagram from node `from` reaches node `to`.
pub type Filter = Box<dyn FnMut(usize, usize, &Header) -> bool>;

pub struct Net {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub group: bool,
    pub filter: Filter,
    pub log: Vec<Sent>,
}

impl Net {
    /// `n` nodes, each configured with all the others as peers.
    pub fn unicast(n: usize) -> Net {
        Net::build(n, false, |_, _| {})
    }

    /// `n` nodes on a multicast group.
    pub fn group(n: usize) -> Net {
        Net::build(n, true, |_, _| {})
    }

    /// `n` nodes, each config passed through `tweak` before use.
    pub fn build(n: usize, group: bool, tweak: impl Fn(usize, &mut Config)) -> Net {
        let now = Instant::now();
        let nodes = (0..n)
            .map(|i| {
                let mode = match group {
                    true => Mode::Group(GROUP),
                    false => Mode::Unicast((0..n).filter(|j| *j != i).map(addr).collect()),
                };
                let mut c = Config::new(addr(i), mode, KEY);
                c.name = format!("director-{i}");
                c.local_addresses = vec![Ipv4Addr::new(10, 1, i as u8, 1)];
                tweak(i, &mut c);
                Node {
                    sync: FlowSync::new(c, now, 1_000_000 + i as u64).unwrap(),
                    table: BTreeMap::new(),
                    events: Vec::new(),
                    serve: true,
                }
            })
            .collect();
        Net {
            now,
            nodes,
            group,
            filter: Box::new(|_, _, _| true),
            log: Vec::new(),
        }
    }

    /// Node `i` restarts: a new core with a later session, an empty table.
    pub fn restart(&mut self, i: usize, config: Config) {
        let session = self.nodes[i].sync.stats(self.now).session + 1_000;
        self.nodes[i].sync = FlowSync::new(config, self.now, session).unwrap();
        self.nodes[i].table.clear();
    }

    /// Publishes one of node `i`'s entries (its table first, as the data
    /// plane would have it).
    pub fn publish(&mut self, i: usize, mut entry: Entry) {
        entry.owner = addr(i);
        match entry.op {
            xlvs_sync::Op::Delete => self.nodes[i].table.remove(&entry.key),
            _ => self.nodes[i].table.insert(entry.key, entry),
        };
        self.nodes[i].sync.publish(self.now, entry);
    }

    /// Hands `bytes` to node `to` as if sent by node `from`.
    pub fn deliver(&mut self, from: usize, to: usize, bytes: &[u8]) {
        let src = SocketAddrV4::new(addr(from), DEFAULT_PORT);
        self.nodes[to].sync.handle_datagram(self.now, src, bytes);
    }

    fn drain_events(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        while let Some(e) = node.sync.poll_event() {
            node.apply(now, &e);
            node.events.push(e);
        }
    }

    /// Delivers everything the nodes have to send, and what that makes
    /// them send, until all are quiet.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                self.drain_events(i);
                while let Some(t) = self.nodes[i].sync.poll_transmit(self.now) {
                    moved = true;
                    let header = Header::parse(&t.bytes).expect("we send valid datagrams");
                    let targets: Vec<usize> = match *t.to.ip() == GROUP {
                        true => (0..self.nodes.len()).filter(|j| *j != i).collect(),
                        false => (0..self.nodes.len())
                            .filter(|j| addr(*j) == *t.to.ip())
                            .collect(),
                    };
                    for j in targets {
                        if (self.filter)(i, j, &header) {
                            self.deliver(i, j, &t.bytes);
                            self.drain_events(j);
                        }
                    }
                    self.log.push(Sent {
                        at: self.now,
                        from: i,
                        to: t.to,
                        header,
                        bytes: t.bytes,
                    });
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Lets `d` pass, firing every timer on time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.pump();
            let next = self
                .nodes
                .iter()
                .filter_map(|n| n.sync.poll_timeout())
                .min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    for n in &mut self.nodes {
                        if n.sync.poll_timeout().is_some_and(|t| t <= self.now) {
                            n.sync.handle_timeout(self.now);
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = until;
        self.pump();
    }

    /// Datagrams node `from` sent, of `kind`, since log position `since`.
    pub fn sent(&self, from: usize, kind: xlvs_sync::wire::Kind, since: usize) -> Vec<&Sent> {
        self.log[since..]
            .iter()
            .filter(|s| s.from == from && s.header.kind == kind)
            .collect()
    }
}
