//! An OSPF interface: its state, its neighbors, the DR election as seen by a
//! router that is never eligible (RFC 2328 9.4), and the Hellos it sends.

use crate::config::{InterfaceConfig, NetworkType};
use crate::crypto_seq::CryptoSeq;
use crate::lsdb::Entry;
use crate::neighbor::{NbrState, Neighbor};
use crate::wire::hello::options;
use crate::wire::{Hello, LsaHeader};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

/// Interface states we can be in (RFC 2328 9.1). With priority 0 we never
/// wait for an election and are never DR or BDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfState {
    Down,
    PointToPoint,
    DrOther,
}

impl IfState {
    pub fn name(self) -> &'static str {
        match self {
            IfState::Down => "Down",
            IfState::PointToPoint => "Point-To-Point",
            IfState::DrOther => "DROther",
        }
    }
}

/// A configured interface's name in the core and its driver: given when
/// the interface is added, never reused, and unchanged when another is
/// removed (a position in a list would shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IfaceId(u32);

impl IfaceId {
    /// The id after this one.
    pub(crate) fn next(self) -> IfaceId {
        IfaceId(self.0 + 1)
    }
}

impl std::fmt::Display for IfaceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[derive(Debug)]
pub struct Interface {
    pub id: IfaceId,
    pub config: InterfaceConfig,
    pub state: IfState,
    /// DR and BDR interface addresses (0.0.0.0 when none).
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    /// Keyed by router id.
    pub neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    pub hello_due: Instant,
    pub delayed_acks: Vec<LsaHeader>,
    pub ack_due: Option<Instant>,
    /// The MD5 sequence number of the packets this interface sends.
    pub crypto_seq: CryptoSeq,
    /// Our grace-LSA on this link (its link-local database), kept for
    /// retransmission (graceful.rs).
    pub grace: Option<Entry>,
}

impl Interface {
    pub fn new(id: IfaceId, config: InterfaceConfig, now: Instant) -> Interface {
        Interface {
            id,
            config,
            state: IfState::Down,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: BTreeMap::new(),
            hello_due: now,
            delayed_acks: Vec::new(),
            ack_due: None,
            crypto_seq: CryptoSeq::new(),
            grace: None,
        }
    }

    /// InterfaceUp (RFC 2328 9.3): "If the network is point-to-point, the
    /// new state is Point-to-point... Otherwise, if the router is not
    /// eligible to become Designated Router the interface state
    /// transitions to DR Other."
    pub fn up(&mut self, now: Instant) {
        self.state = match self.config.network {
            NetworkType::PointToPoint => IfState::PointToPoint,
            NetworkType::Broadcast => IfState::DrOther,
        };
        self.hello_due = now;
    }

    pub fn is_broadcast(&self) -> bool {
        self.config.network == NetworkType::Broadcast
    }

    /// Section 10.4: on point-to-point every neighbor becomes adjacent; on
    /// a broadcast network a DR Other is adjacent to the DR and BDR only.
    pub fn should_be_adjacent(&self, nbr: &Neighbor) -> bool {
        match self.config.network {
            NetworkType::PointToPoint => true,
            NetworkType::Broadcast => {
                let a = nbr.addr;
                !a.is_unspecified() && (a == self.dr || a == self.bdr)
            }
        }
    }

    /// Runs the election of section 9.4 steps 2 and 3 over the neighbors in
    /// 2-Way or above (we take no part: priority 0). Returns whether the DR
    /// or BDR changed.
    pub fn elect(&mut self) -> bool {
        let eligible: Vec<&Neighbor> = self
            .neighbors
            .values()
            .filter(|n| n.priority > 0 && n.state >= NbrState::TwoWay)
            .collect();
        let best = |c: &[&&Neighbor]| {
            c.iter()
                .max_by_key(|n| (n.priority, n.router_id))
                .map(|n| n.addr)
        };
        // Step 2: the BDR, from those not declaring themselves DR;
        // preferably one declaring itself BDR.
        let not_dr: Vec<&&Neighbor> = eligible.iter().filter(|n| n.dr != n.addr).collect();
        let declared_bdr: Vec<&&Neighbor> =
            not_dr.iter().copied().filter(|n| n.bdr == n.addr).collect();
        let bdr = if declared_bdr.is_empty() {
            best(&not_dr)
        } else {
            best(&declared_bdr)
        };
        // Step 3: the DR, from those declaring themselves DR; if none, the
        // new BDR is promoted.
        let declared_dr: Vec<&&Neighbor> = eligible.iter().filter(|n| n.dr == n.addr).collect();
        let (dr, bdr) = match best(&declared_dr) {
            Some(dr) => (Some(dr), bdr),
            None => (bdr, None),
        };
        let dr = dr.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let bdr = bdr.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let changed = (dr, bdr) != (self.dr, self.bdr);
        self.dr = dr;
        self.bdr = bdr;
        changed
    }

    /// The neighbor that is DR, if we know it.
    pub fn dr_neighbor(&self) -> Option<&Neighbor> {
        self.neighbors
            .values()
            .find(|n| !self.dr.is_unspecified() && n.addr == self.dr)
    }

    pub fn hello(&self) -> Hello {
        Hello {
            network_mask: self.config.mask(),
            hello_interval: self.config.hello_interval,
            options: options::OURS,
            priority: 0,
            dead_interval: self.config.dead_interval,
            dr: self.dr,
            bdr: self.bdr,
            // Section 9.5: every router heard from recently (Init or above).
            neighbors: self
                .neighbors
                .values()
                .filter(|n| n.state >= NbrState::Init)
                .map(|n| n.router_id)
                .collect(),
        }
    }

    pub fn next_due(&self) -> Option<Instant> {
        if self.state == IfState::Down {
            return None;
        }
        std::iter::once(Some(self.hello_due))
            .chain(std::iter::once(self.ack_due))
            .chain(self.neighbors.values().map(|n| n.next_due()))
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Auth;

    fn iface() -> Interface {
        Interface::new(
            IfaceId::default(),
            InterfaceConfig {
                name: "eth1".into(),
                address: Ipv4Addr::new(10, 0, 1, 11),
                prefix_len: 24,
                mtu: 1500,
                network: NetworkType::Broadcast,
                cost: 10,
                hello_interval: 1,
                dead_interval: 4,
                mtu_ignore: false,
                auth: Auth::None,
            },
            Instant::now(),
        )
    }

    fn nbr(id: u8, prio: u8, dr: u8, bdr: u8) -> Neighbor {
        let addr = |x: u8| {
            if x == 0 {
                Ipv4Addr::UNSPECIFIED
            } else {
                Ipv4Addr::new(10, 0, 1, x)
            }
        };
        let mut n = Neighbor::new(Ipv4Addr::new(10, 255, 0, id), addr(id), Instant::now());
        n.priority = prio;
        n.dr = addr(dr);
        n.bdr = addr(bdr);
        n.state = NbrState::TwoWay;
        n
    }

    fn with(ns: Vec<Neighbor>) -> Interface {
        let mut i = iface();
        for n in ns {
            i.neighbors.insert(n.router_id, n);
        }
        i
    }

    #[test]
    fn declared_dr_and_bdr_are_accepted() {
        let mut i = with(vec![nbr(1, 1, 1, 2), nbr(2, 1, 1, 2), nbr(3, 1, 1, 2)]);
        assert!(i.elect());
        assert_eq!(
            (i.dr, i.bdr),
            (Ipv4Addr::new(10, 0, 1, 1), Ipv4Addr::new(10, 0, 1, 2))
        );
        assert!(i.should_be_adjacent(&i.neighbors[&Ipv4Addr::new(10, 255, 0, 2)]));
        assert!(!i.should_be_adjacent(&i.neighbors[&Ipv4Addr::new(10, 255, 0, 3)]));
        assert!(!i.elect(), "second run changes nothing");
    }

    #[test]
    fn without_a_declared_dr_the_bdr_is_promoted() {
        // nobody declares anything yet: the highest (priority, id) becomes
        // BDR and, with no DR, is promoted
        let mut i = with(vec![nbr(1, 1, 0, 0), nbr(2, 5, 0, 0), nbr(3, 5, 0, 0)]);
        i.elect();
        assert_eq!(i.dr, Ipv4Addr::new(10, 0, 1, 3));
        assert_eq!(i.bdr, Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn ineligible_and_one_way_neighbors_do_not_count() {
        let mut a = nbr(1, 0, 1, 0);
        a.priority = 0;
        let mut b = nbr(2, 1, 2, 0);
        b.state = NbrState::Init;
        let mut i = with(vec![a, b]);
        i.elect();
        assert_eq!(
            (i.dr, i.bdr),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED)
        );
    }

    #[test]
    fn hello_lists_neighbors_heard_from_and_priority_zero() {
        let mut i = with(vec![nbr(1, 1, 1, 0)]);
        i.elect();
        let h = i.hello();
        assert_eq!(h.priority, 0);
        assert_eq!(h.neighbors, [Ipv4Addr::new(10, 255, 0, 1)]);
        assert_eq!(h.dr, Ipv4Addr::new(10, 0, 1, 1));
        assert_eq!(h.network_mask, Ipv4Addr::new(255, 255, 255, 0));
    }
}
