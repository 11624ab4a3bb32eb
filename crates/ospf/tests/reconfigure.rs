//! Interfaces added to, removed from and changed on a running instance (a
//! config reload), deterministically: the interface that changes forms or
//! drops its adjacency, the Router-LSA follows, and the adjacency on the
//! other interface never flaps.

mod sim;

use sim::{config, ip, p2p_iface, router_lsa_of, Sim};
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;
use xlvs_ospf::wire::{Body, LinkType, RouterLink};
use xlvs_ospf::{Auth, InterfaceConfig, ReconfigError};

const A: &str = "10.255.0.1";
const B: &str = "10.255.0.2";
const C: &str = "10.255.0.3";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn eth2() -> InterfaceConfig {
    p2p_iface("eth2", "10.0.1.0", Auth::None)
}

/// a (the director) on a /31 to b; c on a /31 of its own. With
/// `both`, a also starts with eth2 to c. Returns once a is Full with
/// everyone it has an interface to.
fn network(both: bool) -> Sim {
    let mut s = Sim::new();
    let mut ifaces = vec![p2p_iface("eth1", "10.0.0.0", Auth::None)];
    if both {
        ifaces.push(eth2());
    }
    let a = s.add(config(A, ifaces));
    let b = s.add(config(B, vec![p2p_iface("eth1", "10.0.0.1", Auth::None)]));
    let c = s.add(config(C, vec![p2p_iface("eth1", "10.0.1.1", Auth::None)]));
    s.link(&[(a, 0), (b, 0)]);
    if both {
        s.link(&[(a, 1), (c, 0)]);
    } else {
        s.link(&[(c, 0)]);
    }
    s.up_all();
    s.run(secs(10));
    let full = if both { vec!["Full"; 2] } else { vec!["Full"] };
    assert_eq!(s.states(0), full);
    s
}

/// Records every sign that `node`'s adjacency with a restarted: a DBD
/// from it (a new exchange), or a Hello not listing a (it dropped a).
fn watch_flaps(s: &mut Sim, node: usize) -> Rc<RefCell<Vec<String>>> {
    let flaps = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&flaps);
    s.drop = Some(Box::new(move |from, p| {
        if from == node {
            match &p.body {
                Body::Dbd(_) => seen.borrow_mut().push("DBD".to_string()),
                Body::Hello(h) if !h.neighbors.contains(&ip(A)) => seen
                    .borrow_mut()
                    .push(format!("Hello listing {:?}", h.neighbors)),
                _ => {}
            }
        }
        false
    }));
    flaps
}

/// a's Router-LSA as node `at` holds it: its point-to-point links
/// (neighbor, our address, metric) and its stub networks.
fn links_seen_by(s: &Sim, at: usize) -> (Vec<(Ipv4Addr, Ipv4Addr, u16)>, Vec<Ipv4Addr>) {
    let (_, _, r) = router_lsa_of(s, at, A).expect("a's Router-LSA");
    let of = |kind: LinkType| -> Vec<&RouterLink> {
        r.links.iter().filter(|l| l.kind == kind).collect()
    };
    (
        of(LinkType::PointToPoint)
            .iter()
            .map(|l| (l.id, l.data, l.metric))
            .collect(),
        of(LinkType::Stub).iter().map(|l| l.id).collect(),
    )
}

/// a's neighbor `rid`: (state, seconds up).
fn neighbor_of_a(s: &Sim, rid: &str) -> Option<(&'static str, u64)> {
    s.nodes[0]
        .inst
        .neighbors(s.now)
        .into_iter()
        .find(|n| n.router_id == ip(rid))
        .map(|n| (n.state.name(), n.up_for_s))
}

#[test]
fn an_added_interface_forms_its_adjacency_and_a_removed_one_drops_it() {
    let mut s = network(false);
    let flaps = watch_flaps(&mut s, 1);
    let (_, b_up) = neighbor_of_a(&s, B).unwrap();
    let start = s.now;

    // Reload adds eth2: hellos start, c goes Full, the link is announced.
    let eth2 = s.add_iface(0, eth2(), 1);
    assert_eq!(s.nodes[0].inst.interface_id("eth2"), Some(eth2));
    assert_ne!(eth2, s.iface(0, 0), "its own id");
    s.run(secs(10));
    assert_eq!(s.states(2), ["Full"], "c sees a Full");
    assert_eq!(neighbor_of_a(&s, C).unwrap().0, "Full");
    let want = (
        vec![(ip(B), ip("10.0.0.0"), 10), (ip(C), ip("10.0.1.0"), 10)],
        vec![ip("10.0.0.0"), ip("10.0.1.0")],
    );
    for at in 0..3 {
        assert_eq!(links_seen_by(&s, at), want, "node {at}'s copy");
    }

    // Reload removes eth2: the goodbye Hello drops c to Init at once,
    // c forgets a after its dead interval, the link leaves the LSA.
    s.remove_iface(0, eth2);
    assert_ne!(s.states(2), ["Full"], "dropped at once, not after 4 s");
    assert_eq!(neighbor_of_a(&s, C), None);
    s.run(secs(6));
    assert!(s.states(2).is_empty(), "c forgot a");
    let want = (vec![(ip(B), ip("10.0.0.0"), 10)], vec![ip("10.0.0.0")]);
    for at in 0..2 {
        assert_eq!(links_seen_by(&s, at), want, "node {at}'s copy");
    }

    // Meanwhile b's adjacency never moved.
    assert_eq!(flaps.borrow().as_slice(), &[] as &[String]);
    let (state, up) = neighbor_of_a(&s, B).unwrap();
    assert_eq!(state, "Full");
    assert_eq!(up, b_up + (s.now - start).as_secs(), "up all along");
    assert_eq!(s.states(1), ["Full"]);
}

#[test]
fn removing_the_first_interface_keeps_the_second_running_under_its_id() {
    let mut s = network(true);
    let flaps = watch_flaps(&mut s, 2);
    let (eth1, eth2) = (s.iface(0, 0), s.iface(0, 1));

    s.remove_iface(0, eth1);
    assert_ne!(s.states(1), ["Full"], "b dropped a at once");
    assert_eq!(s.nodes[0].inst.interface_id("eth2"), Some(eth2));
    // Well past the dead interval: eth2's Hellos go on.
    s.run(secs(20));
    assert_eq!(s.states(0), ["Full"]);
    assert_eq!(s.states(2), ["Full"]);
    assert!(s.states(1).is_empty(), "b forgot a");
    assert_eq!(
        links_seen_by(&s, 2),
        (vec![(ip(C), ip("10.0.1.0"), 10)], vec![ip("10.0.1.0")])
    );
    assert_eq!(flaps.borrow().as_slice(), &[] as &[String]);
}

#[test]
fn a_changed_interface_restarts_alone() {
    let mut s = network(true);
    let flaps = watch_flaps(&mut s, 1);

    // A new cost on eth2 is a remove and an add of eth2 only, under a new
    // id (nothing queued for the old one goes out of the new one).
    let old = s.iface(0, 1);
    s.remove_iface(0, old);
    let new = s.add_iface(0, InterfaceConfig { cost: 30, ..eth2() }, 1);
    assert_ne!(new, old);
    s.run(secs(10));
    assert_eq!(s.states(2), ["Full"], "c Full again");
    let (p2p, _) = links_seen_by(&s, 1);
    assert_eq!(
        p2p,
        [(ip(B), ip("10.0.0.0"), 10), (ip(C), ip("10.0.1.0"), 30)],
        "b holds the new metric"
    );
    assert_eq!(flaps.borrow().as_slice(), &[] as &[String]);
    assert_eq!(s.states(1), ["Full"]);
}

#[test]
fn a_duplicate_name_is_refused_and_an_unknown_id_reported() {
    let mut s = network(true);
    let now = s.now;
    let inst = &mut s.nodes[0].inst;
    assert_eq!(
        inst.add_interface(p2p_iface("eth2", "10.0.9.0", Auth::None), now),
        Err(ReconfigError::Duplicate("eth2".into()))
    );
    // An id that was removed is never given again.
    let eth9 = inst
        .add_interface(p2p_iface("eth9", "10.0.9.0", Auth::None), now)
        .unwrap();
    inst.remove_interface(eth9, now).unwrap();
    assert_eq!(
        inst.remove_interface(eth9, now),
        Err(ReconfigError::NoSuchInterface(eth9))
    );
    assert!(!inst.interface_ids().contains(&eth9));
    assert_eq!(s.states(0), ["Full", "Full"], "nothing changed");
}

#[test]
fn removal_hands_back_only_the_removed_interfaces_packets() {
    let mut s = network(true);
    let now = s.now + secs(1);
    // Hellos due on both interfaces, queued and not yet sent.
    let (eth1, eth2) = (s.iface(0, 0), s.iface(0, 1));
    s.nodes[0].inst.handle_timeout(now);
    let last = s.nodes[0].inst.remove_interface(eth1, now).unwrap();
    assert!(!last.is_empty() && last.iter().all(|o| o.iface == eth1));
    let out = s.nodes[0].inst.drain_output();
    assert!(!out.is_empty(), "eth2's Hello still queued");
    assert!(out.iter().all(|o| o.iface == eth2), "{out:?}");
}

#[test]
fn what_follows_an_interface_down_at_once_goes_out_with_it_not_5_s_later() {
    let mut s = network(true);
    let lip = ip("10.255.1.1");
    s.nodes[0].inst.announce(s.now, lip, 1);
    s.run(secs(6));
    assert!(
        links_seen_by(&s, 2).1.contains(&lip),
        "c learns the address"
    );

    // eth1 (to b) goes down, and a moment later the node withdraws the
    // address because of it (as xlvsd does for a director's FULLNAT local
    // addresses when an arm goes down): c gets both within the hold, not
    // the second after MinLSInterval.
    let eth1 = s.iface(0, 0);
    s.nodes[0].inst.interface_down(eth1, s.now);
    s.run(Duration::from_millis(20));
    s.nodes[0].inst.withdraw(s.now, lip);
    s.run(Duration::from_millis(500));
    let want = (vec![(ip(C), ip("10.0.1.0"), 10)], vec![ip("10.0.1.0")]);
    assert_eq!(links_seen_by(&s, 2), want, "c's copy within half a second");
}

#[test]
fn changes_made_together_leave_in_one_lsa_not_5_s_apart() {
    let mut s = network(true);
    let (vip, local, peer) = (ip("192.0.2.50"), ip("10.255.1.1"), ip("10.255.2.1"));
    for addr in [vip, local, peer] {
        s.nodes[0].inst.announce(s.now, addr, 1);
        s.run(Duration::from_millis(1));
    }
    s.run(Duration::from_millis(500));
    let stubs = links_seen_by(&s, 2).1;
    assert!(
        [vip, local, peer].iter().all(|a| stubs.contains(a)),
        "c learns the three within half a second: {stubs:?}"
    );

    // A node that leaves withdraws its VIP and its peers' addresses, one
    // call each a moment apart (xlvsd's leave.rs): c sees both gone at
    // once, MinLSInterval does not hold the second back.
    s.run(secs(10));
    s.nodes[0].inst.withdraw(s.now, peer);
    s.run(Duration::from_millis(2));
    s.nodes[0].inst.withdraw(s.now, vip);
    s.run(Duration::from_millis(500));
    assert_eq!(
        links_seen_by(&s, 2).1,
        [ip("10.0.0.0"), ip("10.0.1.0"), local]
    );
}
