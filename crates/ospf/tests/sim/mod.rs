//! A deterministic network of protocol cores: packets are delivered at
//! once between instances on the same segment, time jumps from deadline to
//! deadline. No sockets, no sleeping.
//!
//! Shared by several test files, each using a part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use xlvs_ospf::wire::{LsaKey, LsaType, Packet, PacketType, RouterLsa};
use xlvs_ospf::{Auth, Config, IfaceId, Instance, InterfaceConfig, NetworkType, Output, VipMode};

pub struct Node {
    pub inst: Instance,
    /// Interface addresses.
    pub addrs: BTreeMap<IfaceId, Ipv4Addr>,
    pub alive: bool,
}

/// A filter deciding whether a packet from node `from` is delivered.
pub type Drop = Box<dyn FnMut(usize, &Packet) -> bool>;

pub struct Sim {
    pub now: Instant,
    pub nodes: Vec<Node>,
    /// Segments: the (node, interface) pairs attached to each.
    pub segments: Vec<Vec<(usize, IfaceId)>>,
    pub drop: Option<Drop>,
    /// Packets for which this returns true are delivered twice.
    pub duplicate: Option<Drop>,
    pub delivered: Vec<(usize, PacketType)>,
}

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn p2p_iface(name: &str, addr: &str, auth: Auth) -> InterfaceConfig {
    InterfaceConfig {
        name: name.into(),
        address: ip(addr),
        prefix_len: 31,
        mtu: 1500,
        network: NetworkType::PointToPoint,
        cost: 10,
        hello_interval: 1,
        dead_interval: 4,
        mtu_ignore: false,
        auth,
    }
}

pub fn config(rid: &str, ifaces: Vec<InterfaceConfig>) -> Config {
    Config {
        router_id: ip(rid),
        area_id: ip("0.0.0.0"),
        vip_mode: VipMode::RouterLsa,
        interfaces: ifaces,
    }
}

impl Default for Sim {
    fn default() -> Sim {
        Sim::new()
    }
}

impl Sim {
    pub fn new() -> Sim {
        Sim {
            now: Instant::now(),
            nodes: Vec::new(),
            segments: Vec::new(),
            drop: None,
            duplicate: None,
            delivered: Vec::new(),
        }
    }

    pub fn add(&mut self, config: Config) -> usize {
        let inst = Instance::new(config.clone(), self.now, 1_700_000_000);
        let addrs = addresses(&inst, &config);
        self.nodes.push(Node {
            inst,
            addrs,
            alive: true,
        });
        self.nodes.len() - 1
    }

    /// Replaces node `n` by a fresh instance (a restart).
    pub fn restart(&mut self, n: usize, config: Config) {
        self.nodes[n].inst = Instance::new(config, self.now, 1_700_000_100);
        self.nodes[n].alive = true;
    }

    /// The id of node `n`'s interface number `i` (in order of its config).
    pub fn iface(&self, n: usize, i: usize) -> IfaceId {
        self.nodes[n].inst.interface_ids()[i]
    }

    /// A segment joining the (node, interface number) pairs.
    pub fn link(&mut self, ends: &[(usize, usize)]) {
        let ends = ends.iter().map(|&(n, i)| (n, self.iface(n, i))).collect();
        self.segments.push(ends);
    }

    pub fn up_all(&mut self) {
        for s in self.segments.clone() {
            for (n, i) in s {
                self.nodes[n].inst.interface_up(i, self.now);
            }
        }
        self.deliver();
    }

    /// Delivers every queued packet (and the replies they cause) until the
    /// network is quiet.
    pub fn deliver(&mut self) {
        for _ in 0..10_000 {
            let mut any = false;
            for from in 0..self.nodes.len() {
                let out = self.nodes[from].inst.drain_output();
                any |= self.transmit(from, out);
            }
            if !any {
                return;
            }
        }
        panic!("network never went quiet");
    }

    /// Puts packets of node `from` on their segments; whether any went.
    fn transmit(&mut self, from: usize, out: Vec<Output>) -> bool {
        if !self.nodes[from].alive {
            return false;
        }
        let any = !out.is_empty();
        for o in out {
            let src = self.nodes[from].addrs[&o.iface];
            let packet = Packet::parse(&o.bytes).expect("we emit valid packets");
            if let Some(drop) = self.drop.as_mut() {
                if drop(from, &packet) {
                    continue;
                }
            }
            let twice = self
                .duplicate
                .as_mut()
                .is_some_and(|dup| dup(from, &packet));
            let copies = if twice { 2 } else { 1 };
            let seg = self
                .segments
                .iter()
                .find(|s| s.contains(&(from, o.iface)))
                .cloned()
                .unwrap_or_default();
            for (to, ti) in seg {
                if to == from || !self.nodes[to].alive {
                    continue;
                }
                let mine = self.nodes[to].addrs[&ti];
                if o.dst.is_multicast() || o.dst == mine {
                    for _ in 0..copies {
                        self.delivered.push((to, packet.header.kind));
                        self.nodes[to]
                            .inst
                            .handle_packet(self.now, ti, src, o.dst, &o.bytes);
                    }
                }
            }
        }
        any
    }

    /// Adds an interface to running node `n` on segment `seg` and brings
    /// it up (a reload adding it); returns its id.
    pub fn add_iface(&mut self, n: usize, config: InterfaceConfig, seg: usize) -> IfaceId {
        let addr = config.address;
        let i = self.nodes[n]
            .inst
            .add_interface(config, self.now)
            .expect("a new name");
        self.nodes[n].addrs.insert(i, addr);
        self.segments[seg].push((n, i));
        self.nodes[n].inst.interface_up(i, self.now);
        self.deliver();
        i
    }

    /// Removes interface `i` of running node `n` (a reload dropping it):
    /// its last packets go out on its segment, then it leaves the segment.
    pub fn remove_iface(&mut self, n: usize, i: IfaceId) {
        self.deliver();
        let last = self.nodes[n]
            .inst
            .remove_interface(i, self.now)
            .expect("a configured interface");
        assert!(
            last.iter().all(|o| o.iface == i),
            "only the removed interface's packets: {last:?}"
        );
        self.transmit(n, last);
        for seg in &mut self.segments {
            seg.retain(|e| *e != (n, i));
        }
        self.nodes[n].addrs.remove(&i);
        self.deliver();
    }

    /// Advances time by `d`, firing every deadline on the way.
    pub fn run(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..1_000_000 {
            let next = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.inst.poll_at())
                .min()
                .unwrap_or(end)
                .max(self.now);
            if next > end {
                break;
            }
            self.now = next;
            for n in self.nodes.iter_mut().filter(|n| n.alive) {
                if n.inst.poll_at().is_some_and(|t| t <= self.now) {
                    n.inst.handle_timeout(self.now);
                }
            }
            self.deliver();
        }
        self.now = end;
    }

    pub fn states(&self, n: usize) -> Vec<&'static str> {
        self.nodes[n]
            .inst
            .neighbors(self.now)
            .iter()
            .map(|x| x.state.name())
            .collect()
    }
}

/// Each interface's address, by id.
fn addresses(inst: &Instance, config: &Config) -> BTreeMap<IfaceId, Ipv4Addr> {
    inst.interface_ids()
        .into_iter()
        .zip(config.interfaces.iter().map(|i| i.address))
        .collect()
}

/// (seq, age, body) of router `rid`'s Router-LSA in node `at`'s database.
pub fn router_lsa_of(s: &Sim, at: usize, rid: &str) -> Option<(i32, u16, RouterLsa)> {
    let key = LsaKey {
        kind: LsaType::ROUTER,
        id: ip(rid),
        adv_router: ip(rid),
    };
    let lsa = s.nodes[at].inst.lsa(&key, s.now)?;
    Some((
        lsa.header.seq,
        lsa.header.age,
        RouterLsa::parse(&lsa.body).unwrap(),
    ))
}
