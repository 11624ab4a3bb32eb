//! Which BFD sessions should run, from the OSPF neighbors: one per
//! neighbor at 2-Way or better on an interface with BFD on (RFC 5882
//! section 4.1: the session follows the adjacency it protects). Pure: the
//! driver applies the steps.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use xlvs_bfd::{SessionConfig, SessionId};
use xlvs_ospf::neighbor::NbrState;
use xlvs_ospf::{IfaceId, NeighborRef};

/// The OSPF neighbor a session protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Peer {
    pub iface: IfaceId,
    pub router_id: Ipv4Addr,
    pub address: Ipv4Addr,
}

/// An interface with BFD on, as the driver knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdInterface {
    pub name: String,
    /// Our address on it: the sessions' local address.
    pub local: Ipv4Addr,
    pub config: SessionConfig,
}

/// A session that should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub peer: Peer,
    pub ifname: String,
    pub local: Ipv4Addr,
    pub config: SessionConfig,
}

/// A session that runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    pub id: SessionId,
    pub local: Ipv4Addr,
    pub config: SessionConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Remove(Peer, SessionId),
    Add(Wanted),
    /// Same neighbor, new interval or multiplier: live, through Poll/Final.
    Reconfigure(SessionId, SessionConfig),
}

/// The sessions the neighbors call for. `bfd_on` gives an interface's BFD
/// setting, None where BFD is off.
pub fn wanted(
    neighbors: &[NeighborRef],
    bfd_on: impl Fn(IfaceId) -> Option<BfdInterface>,
) -> Vec<Wanted> {
    neighbors
        .iter()
        .filter(|n| n.state >= NbrState::TwoWay)
        .filter_map(|n| {
            let i = bfd_on(n.iface)?;
            Some(Wanted {
                peer: Peer {
                    iface: n.iface,
                    router_id: n.router_id,
                    address: n.address,
                },
                ifname: i.name,
                local: i.local,
                config: i.config,
            })
        })
        .collect()
}

/// The neighbor of a session is still there at 2-Way or better: a session
/// removed anyway goes because of the configuration, not the neighbor.
pub fn remains(neighbors: &[NeighborRef], peer: &Peer) -> bool {
    neighbors.iter().any(|n| {
        n.state >= NbrState::TwoWay
            && (n.iface, n.router_id, n.address) == (peer.iface, peer.router_id, peer.address)
    })
}

/// What takes the running sessions to the wanted ones: removals first (a
/// neighbor that moved to another interface keeps its address, and the
/// core has one session per peer address), then additions and changes. A
/// new local address (the interface was readdressed) is a new session.
pub fn plan(wanted: &[Wanted], running: &BTreeMap<Peer, Running>) -> Vec<Step> {
    let mut steps = Vec::new();
    let find = |p: &Peer| wanted.iter().find(|w| w.peer == *p);
    for (peer, r) in running {
        match find(peer) {
            Some(w) if w.local == r.local => {}
            _ => steps.push(Step::Remove(*peer, r.id)),
        }
    }
    for w in wanted {
        match running.get(&w.peer) {
            Some(r) if r.local == w.local => {
                if r.config != w.config {
                    steps.push(Step::Reconfigure(r.id, w.config));
                }
            }
            _ => steps.push(Step::Add(w.clone())),
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn cfg(ms: u64) -> SessionConfig {
        SessionConfig::new(Duration::from_millis(ms), 3).unwrap()
    }

    /// The id of the `n`th interface of an instance with two.
    fn iface(n: usize) -> IfaceId {
        let spec = |name: &str| crate::InterfaceSpec {
            name: name.into(),
            network: xlvs_ospf::NetworkType::PointToPoint,
            cost: 10,
            hello_interval: 1,
            dead_interval: 4,
            mtu_ignore: false,
            auth: xlvs_ospf::Auth::None,
            bfd: None,
        };
        let config = xlvs_ospf::Config {
            router_id: ip("10.255.0.1"),
            area_id: Ipv4Addr::UNSPECIFIED,
            vip_mode: xlvs_ospf::VipMode::RouterLsa,
            interfaces: [spec("eth1"), spec("eth2")]
                .iter()
                .map(crate::interface_config)
                .collect(),
        };
        let inst = xlvs_ospf::Instance::new(config, std::time::Instant::now(), 0);
        inst.interface_ids()[n]
    }

    fn nbr(i: usize, rid: &str, addr: &str, state: NbrState) -> NeighborRef {
        NeighborRef {
            iface: iface(i),
            router_id: ip(rid),
            address: ip(addr),
            state,
        }
    }

    /// BFD on interface 0 (eth1, 10.0.0.1, `ms`), off on the others.
    fn eth1(ms: u64) -> impl Fn(IfaceId) -> Option<BfdInterface> {
        move |i| {
            (i == iface(0)).then(|| BfdInterface {
                name: "eth1".into(),
                local: ip("10.0.0.1"),
                config: cfg(ms),
            })
        }
    }

    fn running(w: &[Wanted]) -> BTreeMap<Peer, Running> {
        w.iter()
            .enumerate()
            .map(|(n, w)| {
                let r = Running {
                    id: SessionId(n as u32 + 1),
                    local: w.local,
                    config: w.config,
                };
                (w.peer, r)
            })
            .collect()
    }

    #[test]
    fn two_way_or_better_on_a_bfd_interface() {
        let nbrs = [
            nbr(0, "1.1.1.1", "10.0.0.2", NbrState::Init),
            nbr(0, "2.2.2.2", "10.0.0.3", NbrState::TwoWay),
            nbr(0, "3.3.3.3", "10.0.0.4", NbrState::Full),
            nbr(1, "4.4.4.4", "10.0.1.2", NbrState::Full),
        ];
        let w = wanted(&nbrs, eth1(100));
        let rids: Vec<_> = w.iter().map(|w| w.peer.router_id).collect();
        assert_eq!(rids, [ip("2.2.2.2"), ip("3.3.3.3")]);
        assert!(w
            .iter()
            .all(|w| w.ifname == "eth1" && w.local == ip("10.0.0.1")));
    }

    #[test]
    fn add_then_nothing_then_remove() {
        let nbrs = [nbr(0, "2.2.2.2", "10.0.0.2", NbrState::Full)];
        let w = wanted(&nbrs, eth1(100));
        assert_eq!(plan(&w, &BTreeMap::new()), [Step::Add(w[0].clone())]);
        let r = running(&w);
        assert_eq!(plan(&w, &r), []);
        // The neighbor went (KillNbr, dead interval, back to Init).
        let peer = w[0].peer;
        assert_eq!(plan(&[], &r), [Step::Remove(peer, SessionId(1))]);
        let init = [nbr(0, "2.2.2.2", "10.0.0.2", NbrState::Init)];
        assert_eq!(plan(&wanted(&init, eth1(100)), &r).len(), 1);
    }

    #[test]
    fn new_interval_is_live_new_local_address_is_a_new_session() {
        let nbrs = [nbr(0, "2.2.2.2", "10.0.0.2", NbrState::Full)];
        let r = running(&wanted(&nbrs, eth1(100)));
        let slower = wanted(&nbrs, eth1(300));
        assert_eq!(
            plan(&slower, &r),
            [Step::Reconfigure(SessionId(1), cfg(300))]
        );
        let mut moved = slower.clone();
        moved[0].local = ip("10.0.0.9");
        let steps = plan(&moved, &r);
        assert_eq!(
            steps,
            [
                Step::Remove(moved[0].peer, SessionId(1)),
                Step::Add(moved[0].clone())
            ]
        );
        // BFD off on the interface: every session goes, its neighbor stays.
        assert_eq!(plan(&wanted(&nbrs, |_| None), &r).len(), 1);
        assert!(remains(&nbrs, &moved[0].peer));
        let init = [nbr(0, "2.2.2.2", "10.0.0.2", NbrState::Init)];
        assert!(!remains(&init, &moved[0].peer), "below 2-Way: gone");
        assert!(!remains(&[], &moved[0].peer));
    }
}
