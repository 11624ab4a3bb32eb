//! The protocol core against itself, deterministically: adjacencies,
//! announcements, withdrawal, restart takeover, flushing, retransmission,
//! dead neighbors, authentication.

mod sim;

use sim::{config, ip, p2p_iface, router_lsa_of, Sim};
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_ospf::wire::{Body, LinkType, LsaKey, LsaType, PacketType, RouterLsa};
use xlvs_ospf::Auth;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// a (10.255.0.1) and b (10.255.0.2) on a /31.
fn pair(auth_a: Auth, auth_b: Auth) -> Sim {
    let mut s = Sim::new();
    let a = s.add(config(
        "10.255.0.1",
        vec![p2p_iface("eth1", "10.0.0.0", auth_a)],
    ));
    let b = s.add(config(
        "10.255.0.2",
        vec![p2p_iface("eth1", "10.0.0.1", auth_b)],
    ));
    s.link(&[(a, 0), (b, 0)]);
    s.up_all();
    s
}

/// b hands a an instance of a's own Router-LSA with `seq` and `age`, as a
/// router holding an older incarnation's LSA would.
fn hand_back_own_router_lsa(s: &mut Sim, seq: i32, age: u16) {
    use xlvs_ospf::wire::{AuthField, Header, Lsa, LsaHeader, Packet};
    let key = LsaKey {
        kind: LsaType::ROUTER,
        id: ip("10.255.0.1"),
        adv_router: ip("10.255.0.1"),
    };
    let ours = s.nodes[0].inst.lsa(&key, s.now).unwrap();
    let lsa = Lsa::new(
        LsaHeader {
            seq,
            age,
            ..ours.header
        },
        ours.body.clone(),
    );
    let lsu = Packet {
        header: Header {
            kind: PacketType::LsUpdate,
            router_id: ip("10.255.0.2"),
            area_id: ip("0.0.0.0"),
            auth: AuthField::Null,
        },
        body: Body::LsUpdate(vec![lsa]),
    };
    let (now, eth1) = (s.now, s.iface(0, 0));
    s.nodes[0].inst.handle_packet(
        now,
        eth1,
        ip("10.0.0.1"),
        xlvs_ospf::ALL_SPF_ROUTERS,
        &lsu.emit(None),
    );
    s.deliver();
}

fn stubs(r: &RouterLsa) -> Vec<Ipv4Addr> {
    r.links
        .iter()
        .filter(|l| l.kind == LinkType::Stub && l.data == Ipv4Addr::BROADCAST)
        .map(|l| l.id)
        .collect()
}

#[test]
fn point_to_point_pair_goes_full_and_exchanges_router_lsas() {
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    assert_eq!(s.states(0), ["Full"]);
    assert_eq!(s.states(1), ["Full"]);
    for at in 0..2 {
        for rid in ["10.255.0.1", "10.255.0.2"] {
            let (_, _, r) =
                router_lsa_of(&s, at, rid).unwrap_or_else(|| panic!("{at} lacks {rid}"));
            assert!(r.links.iter().any(|l| l.kind == LinkType::PointToPoint));
        }
    }
}

#[test]
fn announce_and_withdraw_reach_the_neighbor_within_min_ls_interval() {
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    let vip = ip("192.0.2.10");
    let now = s.now;
    s.nodes[0].inst.announce(now, vip, 1);
    s.nodes[0].inst.announce(now, ip("192.0.2.11"), 1);
    s.deliver();
    s.run(secs(6));
    let (_, _, r) = router_lsa_of(&s, 1, "10.255.0.1").unwrap();
    assert_eq!(stubs(&r), [vip, ip("192.0.2.11")]);

    let now = s.now;
    s.nodes[0].inst.withdraw(now, vip);
    s.deliver();
    s.run(secs(6)); // at most MinLSInterval later
    let (_, _, r) = router_lsa_of(&s, 1, "10.255.0.1").unwrap();
    assert_eq!(
        stubs(&r),
        [ip("192.0.2.11")],
        "withdrawn VIP gone, the other kept"
    );
}

#[test]
fn restarted_node_takes_over_its_old_lsa() {
    let mut s = pair(Auth::None, Auth::None);
    let now = s.now;
    s.nodes[0].inst.announce(now, ip("192.0.2.10"), 1);
    s.run(secs(30));
    let (old_seq, _, _) = router_lsa_of(&s, 1, "10.255.0.1").unwrap();
    assert!(
        old_seq > i32::MIN + 1,
        "re-originated past the initial number"
    );

    // a restarts without warning: b still holds its old LSA
    s.restart(
        0,
        config(
            "10.255.0.1",
            vec![p2p_iface("eth1", "10.0.0.0", Auth::None)],
        ),
    );
    let (now, eth1) = (s.now, s.iface(0, 0));
    s.nodes[0].inst.interface_up(eth1, now);
    s.deliver();
    s.run(secs(20));
    assert_eq!(s.states(0), ["Full"]);
    let (seq_b, _, r) = router_lsa_of(&s, 1, "10.255.0.1").unwrap();
    let (seq_a, _, _) = router_lsa_of(&s, 0, "10.255.0.1").unwrap();
    assert!(seq_b > old_seq, "new instance is past the old one");
    assert_eq!(seq_a, seq_b, "both hold the same, single current instance");
    assert!(
        stubs(&r).is_empty(),
        "the restarted node announces nothing yet"
    );
}

#[test]
fn shutdown_flushes_our_lsas_and_the_neighbor_drops_us_at_once() {
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    let now = s.now;
    s.nodes[0].inst.shutdown(now);
    s.deliver();
    assert!(
        !s.nodes[0].inst.flushed(),
        "waiting for b's acknowledgement"
    );
    s.run(secs(2)); // b acknowledges with a delayed ack
    assert!(s.nodes[0].inst.flushed(), "b acknowledged the flush");
    let now = s.now;
    s.nodes[0].inst.say_goodbye(now);
    s.deliver();
    s.nodes[0].alive = false;
    // b dropped the adjacency right away (1-way), not after the dead interval
    assert_ne!(s.states(1), ["Full"]);
    s.run(secs(1));
    assert!(
        router_lsa_of(&s, 1, "10.255.0.1").is_none(),
        "flushed LSA removed"
    );
}

#[test]
fn a_silent_neighbor_is_declared_down_after_the_dead_interval() {
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    s.nodes[0].alive = false;
    s.run(secs(3));
    assert_eq!(s.states(1), ["Full"], "still within the dead interval");
    s.run(secs(2));
    assert!(s.states(1).is_empty(), "gone after 4 s");
    // and b's Router-LSA no longer lists a p2p link to a
    let (_, _, r) = router_lsa_of(&s, 1, "10.255.0.2").unwrap();
    s.run(secs(6));
    let (_, _, r2) = router_lsa_of(&s, 1, "10.255.0.2").unwrap();
    assert!(
        r2.links.iter().all(|l| l.kind != LinkType::PointToPoint),
        "{r:?} -> {r2:?}"
    );
}

#[test]
fn lost_acks_are_made_good_by_retransmission() {
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    // b's acknowledgements are lost for a while
    let mut lost = 0;
    s.drop = Some(Box::new(move |from, p| {
        if from == 1 && p.header.kind == PacketType::LsAck && lost < 3 {
            lost += 1;
            return true;
        }
        false
    }));
    let now = s.now;
    s.nodes[0].inst.announce(now, ip("192.0.2.10"), 1);
    s.deliver();
    let before = s
        .delivered
        .iter()
        .filter(|(to, k)| *to == 1 && *k == PacketType::LsUpdate)
        .count();
    s.run(secs(20));
    let after = s
        .delivered
        .iter()
        .filter(|(to, k)| *to == 1 && *k == PacketType::LsUpdate)
        .count();
    assert!(after > before, "a retransmitted the LSU");
    assert!(
        s.nodes[0].inst.neighbors(s.now)[0].retransmit == 0,
        "eventually acknowledged"
    );
}

#[test]
fn md5_pair_goes_full_and_a_wrong_key_never_does() {
    let mut s = pair(Auth::md5(1, b"secret"), Auth::md5(1, b"secret"));
    s.run(secs(10));
    assert_eq!(s.states(0), ["Full"]);

    let mut s = pair(Auth::md5(1, b"secret"), Auth::md5(1, b"other"));
    s.run(secs(10));
    assert!(s.states(0).is_empty());
    assert!(s.nodes[0].inst.stats().auth_failures > 0);
    assert!(s.nodes[0]
        .inst
        .stats()
        .mismatches
        .contains_key("authentication digest"));

    let mut s = pair(Auth::md5(1, b"secret"), Auth::None);
    s.run(secs(5));
    assert!(s.states(0).is_empty());
    assert!(s.nodes[0]
        .inst
        .stats()
        .mismatches
        .contains_key("authentication type"));
}

#[test]
fn hello_and_dead_interval_mismatches_are_counted_and_block_adjacency() {
    let mut s = Sim::new();
    let a = s.add(config(
        "10.255.0.1",
        vec![p2p_iface("eth1", "10.0.0.0", Auth::None)],
    ));
    let mut other = p2p_iface("eth1", "10.0.0.1", Auth::None);
    other.dead_interval = 40;
    let b = s.add(config("10.255.0.2", vec![other]));
    s.link(&[(a, 0), (b, 0)]);
    s.up_all();
    s.run(secs(10));
    assert!(s.states(0).is_empty());
    assert!(s.nodes[0].inst.stats().mismatches["dead interval"] > 0);
}

#[test]
fn duplicate_and_stray_dbds_do_not_break_the_exchange() {
    let mut s = Sim::new();
    let a = s.add(config(
        "10.255.0.1",
        vec![p2p_iface("eth1", "10.0.0.0", Auth::None)],
    ));
    let b = s.add(config(
        "10.255.0.2",
        vec![p2p_iface("eth1", "10.0.0.1", Auth::None)],
    ));
    s.link(&[(a, 0), (b, 0)]);
    // Deliver every DBD twice: duplicates are discarded by the master and
    // answered by the slave; the exchange still completes.
    s.duplicate = Some(Box::new(|_, p| p.header.kind == PacketType::DbDescription));
    s.up_all();
    s.run(secs(10));
    s.duplicate = None;
    assert_eq!(s.states(0), ["Full"]);
    // A DBD out of sequence in Full is a SeqNumberMismatch: the adjacency
    // restarts and comes back.
    let stray = xlvs_ospf::wire::Packet {
        header: xlvs_ospf::wire::Header {
            kind: PacketType::DbDescription,
            router_id: ip("10.255.0.2"),
            area_id: ip("0.0.0.0"),
            auth: xlvs_ospf::wire::AuthField::Null,
        },
        body: Body::Dbd(xlvs_ospf::wire::Dbd {
            mtu: 1500,
            options: 2,
            flags: Default::default(),
            seq: 12345,
            headers: vec![],
        }),
    };
    let (now, eth1) = (s.now, s.iface(0, 0));
    s.nodes[0].inst.handle_packet(
        now,
        eth1,
        ip("10.0.0.1"),
        xlvs_ospf::ALL_SPF_ROUTERS,
        &stray.emit(None),
    );
    assert_eq!(s.states(0), ["ExStart"]);
    s.deliver();
    s.run(secs(15));
    assert_eq!(s.states(0), ["Full"]);
    assert_eq!(s.states(1), ["Full"]);
}

#[test]
fn sequence_number_wrap_flushes_then_restarts_at_the_initial_number() {
    use xlvs_ospf::wire::lsa::{INITIAL_SEQ, MAX_SEQ};
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    // As if a had originated 2^31 times.
    hand_back_own_router_lsa(&mut s, MAX_SEQ, 1);
    // a cannot go past MaxSequenceNumber: it flushes that instance, waits
    // until it is gone everywhere, and starts over at InitialSequenceNumber.
    s.run(secs(20));
    for at in 0..2 {
        let (seq, age, _) = router_lsa_of(&s, at, "10.255.0.1").unwrap();
        assert_eq!(seq, INITIAL_SEQ, "node {at}");
        assert!(age < 3600, "node {at}: a live instance");
    }
    assert_eq!(s.states(0), ["Full"]);
}

#[test]
fn lsas_flood_between_our_interfaces() {
    // b -- a -- c: a has two interfaces; b's announcement reaches c.
    let mut s = Sim::new();
    let a = s.add(config(
        "10.255.0.1",
        vec![
            p2p_iface("eth1", "10.0.0.0", Auth::None),
            p2p_iface("eth2", "10.0.1.0", Auth::None),
        ],
    ));
    let b = s.add(config(
        "10.255.0.2",
        vec![p2p_iface("eth1", "10.0.0.1", Auth::None)],
    ));
    let c = s.add(config(
        "10.255.0.3",
        vec![p2p_iface("eth1", "10.0.1.1", Auth::None)],
    ));
    s.link(&[(a, 0), (b, 0)]);
    s.link(&[(a, 1), (c, 0)]);
    s.up_all();
    s.run(secs(10));
    assert_eq!(s.states(a), ["Full", "Full"]);
    let now = s.now;
    s.nodes[b].inst.announce(now, ip("192.0.2.20"), 1);
    s.deliver();
    s.run(secs(10));
    let (_, _, r) = router_lsa_of(&s, c, "10.255.0.2").expect("c learned b's LSA through a");
    assert_eq!(stubs(&r), [ip("192.0.2.20")]);
}

#[test]
fn a_flushed_instance_of_ours_is_gone_past_even_after_it_left_the_database() {
    use xlvs_ospf::wire::lsa::{INITIAL_SEQ, MAX_AGE};
    let mut s = pair(Auth::None, Auth::None);
    s.run(secs(10));
    // a has just originated (as a restarted daemon has), so MinLSInterval
    // holds its answer back while the flushed copy leaves its database.
    let now = s.now;
    s.nodes[0].inst.announce(now, ip("192.0.2.10"), 1);
    s.deliver();
    // As after a graceful restart against FRR (which keeps MaxAge copies
    // for a while): the flushed instance of a previous run, far past a's.
    let old = INITIAL_SEQ + 100;
    hand_back_own_router_lsa(&mut s, old, MAX_AGE);
    s.run(secs(20));
    for at in 0..2 {
        let (seq, age, _) = router_lsa_of(&s, at, "10.255.0.1").expect("a live instance");
        assert!(seq > old, "node {at}: {seq:#x} must be past {old:#x}");
        assert!(age < MAX_AGE);
    }
}

#[test]
fn restart_after_a_graceful_shutdown_goes_past_the_flushed_instance() {
    let mut s = pair(Auth::None, Auth::None);
    let now = s.now;
    s.nodes[0].inst.announce(now, ip("192.0.2.10"), 1);
    s.run(secs(30));
    // a shuts down cleanly: its LSA is flushed (MaxAge) at b
    let now = s.now;
    s.nodes[0].inst.shutdown(now);
    s.deliver();
    s.run(secs(2));
    let now = s.now;
    s.nodes[0].inst.say_goodbye(now);
    s.deliver();
    s.nodes[0].alive = false;
    s.run(secs(1));
    // and starts again at once
    s.restart(
        0,
        config(
            "10.255.0.1",
            vec![p2p_iface("eth1", "10.0.0.0", Auth::None)],
        ),
    );
    let now = s.now;
    s.nodes[0].inst.announce(now, ip("192.0.2.10"), 1);
    let eth1 = s.iface(0, 0);
    s.nodes[0].inst.interface_up(eth1, now);
    s.deliver();
    s.run(secs(30));
    let (seq_a, _, _) = router_lsa_of(&s, 0, "10.255.0.1").unwrap();
    let (seq_b, age_b, r) = router_lsa_of(&s, 1, "10.255.0.1").unwrap();
    assert_eq!(seq_a, seq_b, "one current instance");
    assert!(age_b < 3600, "live, not the flushed one");
    assert_eq!(stubs(&r), [ip("192.0.2.10")]);
}
