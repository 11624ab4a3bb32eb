//! Which FULLNAT local addresses this director announces with sync on,
//! and at what metric: a pure rule (the sync task does the announcing).
//!
//! A real answers the local address its flow was translated to, and the
//! inside router sends that answer to whoever announces the address at
//! the lowest metric. With sync every director holds every translation,
//! so:
//! - our own addresses at the owner's metric, the peers' at a higher one:
//!   answers go to their owner while it lives, to a survivor when it goes;
//! - none at all while one of our XDP interfaces is down: we could
//!   translate an answer but not send it on (a director that lost its
//!   outside arm still reaches the inside router), so the peers take
//!   them, ours included;
//! - only ours while we leave: the VIPs are withdrawn, answers in flight
//!   still come here until the flush (leave.rs).

use crate::ospf::ANNOUNCE_METRIC;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The metric of the other directors' FULLNAT local addresses here.
pub const PEER_LOCAL_METRIC: u16 = 100;

/// The local addresses to announce, with their metrics.
pub fn local_routes(
    arms_up: bool,
    leaving: bool,
    own: &[Ipv4Addr],
    peers: impl IntoIterator<Item = Ipv4Addr>,
) -> BTreeMap<Ipv4Addr, u16> {
    if !arms_up {
        return BTreeMap::new();
    }
    let peers = peers
        .into_iter()
        .filter(|_| !leaving)
        .filter(|a| !own.contains(a))
        .map(|a| (a, PEER_LOCAL_METRIC));
    let own = own.iter().map(|&a| (a, ANNOUNCE_METRIC));
    peers.chain(own).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn ours_at_the_owner_metric_the_peers_above_none_with_an_arm_down_only_ours_leaving() {
        let own = [a("10.255.1.1"), a("10.255.1.2")];
        let peers = [a("10.255.2.1"), a("10.255.1.1")];
        let routes = local_routes(true, false, &own, peers);
        let want = BTreeMap::from([
            (a("10.255.1.1"), ANNOUNCE_METRIC),
            (a("10.255.1.2"), ANNOUNCE_METRIC),
            (a("10.255.2.1"), PEER_LOCAL_METRIC),
        ]);
        assert_eq!(routes, want);
        const { assert!(PEER_LOCAL_METRIC > ANNOUNCE_METRIC) };
        assert!(local_routes(false, false, &own, peers).is_empty());
        let leaving = local_routes(true, true, &own, peers);
        assert_eq!(
            leaving.keys().collect::<Vec<_>>(),
            own.iter().collect::<Vec<_>>()
        );
    }
}
