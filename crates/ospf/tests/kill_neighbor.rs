//! `kill_neighbor`: what a BFD session going down does to the OSPF core.
//! The neighbor is Down and forgotten at once (no dead interval), the
//! Router-LSA loses the link, and the next Hello brings it back.

mod sim;

use sim::{config, ip, p2p_iface, router_lsa_of, Sim};
use std::time::Duration;
use xlvs_ospf::neighbor::NbrState;
use xlvs_ospf::Auth;

const A: &str = "10.255.0.1";
const B: &str = "10.255.0.2";

/// a and b Full on a /31.
fn pair() -> Sim {
    let mut s = Sim::new();
    let a = s.add(config(A, vec![p2p_iface("eth1", "10.0.0.0", Auth::None)]));
    let b = s.add(config(B, vec![p2p_iface("eth1", "10.0.0.1", Auth::None)]));
    s.link(&[(a, 0), (b, 0)]);
    s.up_all();
    s.run(Duration::from_secs(10));
    assert_eq!(s.states(0), ["Full"]);
    s
}

#[test]
fn the_neighbor_goes_at_once_and_the_router_lsa_follows() {
    let mut s = pair();
    let eth1 = s.iface(0, 0);
    let refs = s.nodes[0].inst.neighbor_refs();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (
            refs[0].iface,
            refs[0].router_id,
            refs[0].address,
            refs[0].state
        ),
        (eth1, ip(B), ip("10.0.0.1"), NbrState::Full)
    );
    // b falls silent (as a dead director would).
    s.nodes[1].alive = false;
    assert!(s.nodes[0].inst.kill_neighbor(s.now, eth1, ip(B)));
    assert!(
        s.nodes[0].inst.neighbor_refs().is_empty(),
        "forgotten at once"
    );
    let (_, _, lsa) = router_lsa_of(&s, 0, A).expect("a's own Router-LSA");
    assert!(
        lsa.links.iter().all(|l| l.id != ip(B)),
        "the point-to-point link to b is gone from a's Router-LSA: {lsa:?}"
    );
    // Unknown neighbor or interface: nothing happens.
    assert!(!s.nodes[0].inst.kill_neighbor(s.now, eth1, ip(B)));
    assert!(!s.nodes[0].inst.kill_neighbor(s.now, eth1, ip(A)));
}

#[test]
fn a_live_neighbor_comes_back_with_its_next_hello() {
    let mut s = pair();
    let eth1 = s.iface(0, 0);
    assert!(s.nodes[0].inst.kill_neighbor(s.now, eth1, ip(B)));
    s.run(Duration::from_secs(12));
    assert_eq!(
        s.states(0),
        ["Full"],
        "b is still there: the adjacency forms again"
    );
}
