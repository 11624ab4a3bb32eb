//! MD5 sequence numbers across retransmissions (RFC 2328 D.3, D.5.2).
//!
//! A receiver drops a packet whose cryptographic sequence number is lower
//! than the last one it accepted from the sender. Every retransmission path
//! is driven here by losing one packet under MD5; between the two speakers
//! sits a receiver model that enforces D.5.2 as FRR and BIRD do, so a
//! retransmission carrying a stale number would be dropped and the
//! exchange would stall.
//!
//! In the pair, b (10.255.0.2) has the higher router id: it is master of
//! the database exchange and a is slave.

mod sim;

use sim::{config, ip, p2p_iface, Sim};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use xlvs_ospf::wire::{AuthField, Body, Packet, PacketType};
use xlvs_ospf::Auth;

const A: usize = 0;
const B: usize = 1;

/// One packet put on the wire.
#[derive(Debug, Clone)]
struct Sent {
    from: usize,
    kind: PacketType,
    /// What makes two packets copies of one another (a retransmission):
    /// LSA instances without their ages, which grow in transit.
    what: String,
    seq: u32,
    /// Lost on purpose by the scenario.
    lost: bool,
    /// Dropped by the D.5.2 receiver model: the number went back.
    replay: bool,
}

type Log = Rc<RefCell<Vec<Sent>>>;

fn what(p: &Packet) -> String {
    match &p.body {
        Body::Hello(_) => String::new(),
        Body::Dbd(d) => format!("dd {:#x} {:?}", d.seq, d.flags),
        Body::LsRequest(keys) => format!("{keys:?}"),
        Body::LsUpdate(lsas) => {
            let v: Vec<_> = lsas.iter().map(|l| (l.key(), l.header.seq)).collect();
            format!("{v:?}")
        }
        Body::LsAck(hs) => {
            let v: Vec<_> = hs.iter().map(|h| (h.key(), h.seq)).collect();
            format!("{v:?}")
        }
    }
}

/// An MD5 pair whose wire loses the packets `lose` picks. Runs until both
/// are Full.
fn md5_pair(lose: impl FnMut(usize, &Packet) -> bool + 'static) -> (Sim, Log) {
    let mut s = Sim::new();
    let md5 = || Auth::md5(3, b"xlvs-md5");
    s.add(config(
        "10.255.0.1",
        vec![p2p_iface("eth1", "10.0.0.0", md5())],
    ));
    s.add(config(
        "10.255.0.2",
        vec![p2p_iface("eth1", "10.0.0.1", md5())],
    ));
    s.link(&[(A, 0), (B, 0)]);
    let log = Log::default();
    wire(&mut s, &log, lose);
    s.up_all();
    s.run(Duration::from_secs(30));
    (s, log)
}

/// Puts a wire between the pair that loses what `lose` picks and drops,
/// as a D.5.2 receiver would, any packet whose number is lower than the
/// last one delivered from its sender. Every packet is logged in `log`,
/// whose delivered packets also seed the model.
fn wire(s: &mut Sim, log: &Log, mut lose: impl FnMut(usize, &Packet) -> bool + 'static) {
    let mut last: BTreeMap<usize, u32> = BTreeMap::new();
    for p in log.borrow().iter().filter(|p| !p.lost && !p.replay) {
        last.insert(p.from, p.seq);
    }
    let log = log.clone();
    s.drop = Some(Box::new(move |from, p| {
        let AuthField::Md5 { seq, .. } = p.header.auth else {
            panic!("an unauthenticated packet under MD5: {p:?}");
        };
        let lost = lose(from, p);
        let replay = !lost && last.get(&from).is_some_and(|&l| seq < l);
        if !lost && !replay {
            last.insert(from, seq);
        }
        log.borrow_mut().push(Sent {
            from,
            kind: p.header.kind,
            what: what(p),
            seq,
            lost,
            replay,
        });
        lost || replay
    }));
}

/// `pick`, true at most once.
fn once(mut pick: impl FnMut(usize, &Packet) -> bool) -> impl FnMut(usize, &Packet) -> bool {
    let mut armed = true;
    move |from, p| {
        let hit = armed && pick(from, p);
        armed &= !hit;
        hit
    }
}

/// The lost packet and every later copy of it, in order.
fn lost_and_copies(log: &Log) -> Vec<Sent> {
    let log = log.borrow();
    let i = log.iter().position(|p| p.lost).expect("a packet was lost");
    let lost = &log[i];
    log[i..]
        .iter()
        .filter(|p| p.from == lost.from && p.kind == lost.kind && p.what == lost.what)
        .cloned()
        .collect()
}

/// The checks every scenario shares: nothing was dropped as a replay, the
/// lost packet was sent again with a strictly higher number, every
/// sender's numbers never went back, and the pair is Full.
fn assert_recovered(s: &Sim, log: &Log, kind: PacketType) {
    let copies = lost_and_copies(log);
    assert_eq!(copies[0].kind, kind, "the scenario lost a {kind:?}");
    assert!(copies.len() >= 2, "never sent again: {copies:?}");
    assert!(
        copies[1].seq > copies[0].seq,
        "the copy's number is not higher than the lost one's: {copies:?}"
    );
    let log = log.borrow();
    let replays: Vec<&Sent> = log.iter().filter(|p| p.replay).collect();
    assert!(replays.is_empty(), "dropped as replays: {replays:?}");
    for from in [A, B] {
        let seqs: Vec<u32> = log
            .iter()
            .filter(|p| p.from == from)
            .map(|p| p.seq)
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] <= w[1]),
            "node {from}'s numbers went back: {seqs:?}"
        );
    }
    assert_eq!(s.states(A), ["Full"]);
    assert_eq!(s.states(B), ["Full"]);
}

fn is_dbd(p: &Packet, init: bool) -> bool {
    matches!(&p.body, Body::Dbd(d) if d.flags.init == init)
}

#[test]
fn the_masters_first_dbd_is_sent_again_with_a_higher_number() {
    let (s, log) = md5_pair(once(|from, p| from == B && is_dbd(p, true)));
    assert_recovered(&s, &log, PacketType::DbDescription);
}

#[test]
fn the_masters_dbd_in_exchange_is_sent_again_with_a_higher_number() {
    let (s, log) = md5_pair(once(|from, p| from == B && is_dbd(p, false)));
    assert_recovered(&s, &log, PacketType::DbDescription);
}

#[test]
fn the_slave_repeats_its_dbd_with_a_higher_number() {
    // The slave's answer is lost: the master sends its DBD again, and the
    // slave answers the duplicate by repeating its last DBD (10.8).
    let (s, log) = md5_pair(once(|from, p| from == A && is_dbd(p, false)));
    assert_recovered(&s, &log, PacketType::DbDescription);
}

#[test]
fn a_lost_ls_request_is_sent_again_with_a_higher_number() {
    // b's LSUs are lost too until a asks again: else b's flood of its new
    // Router-LSA, on going Full, would answer the request in its place.
    let mut requests = 0;
    let (s, log) = md5_pair(move |from, p| match (from, p.header.kind) {
        (A, PacketType::LsRequest) => {
            requests += 1;
            requests == 1
        }
        (B, PacketType::LsUpdate) => requests == 1,
        _ => false,
    });
    assert_recovered(&s, &log, PacketType::LsRequest);
}

#[test]
fn a_flooded_lsu_is_sent_again_with_a_higher_number() {
    // Full first, then a announces a VIP and its first LSU is lost.
    let (mut s, log) = md5_pair(|_, _| false);
    wire(
        &mut s,
        &log,
        once(|from, p| from == A && p.header.kind == PacketType::LsUpdate),
    );
    let vip = ip("192.0.2.10");
    let now = s.now;
    s.nodes[A].inst.announce(now, vip, 1);
    s.run(Duration::from_secs(30));
    assert_recovered(&s, &log, PacketType::LsUpdate);
    let (_, _, lsa) = sim::router_lsa_of(&s, B, "10.255.0.1").expect("a's Router-LSA at b");
    assert!(lsa.links.iter().any(|l| l.id == vip), "the VIP reached b");
}

#[test]
fn a_lost_ack_is_made_good_by_an_ack_with_a_higher_number() {
    // b's acknowledgement is lost: a sends the LSU again, and b answers
    // the duplicate with a direct acknowledgement.
    let (mut s, log) = md5_pair(|_, _| false);
    wire(
        &mut s,
        &log,
        once(|from, p| from == B && p.header.kind == PacketType::LsAck),
    );
    let now = s.now;
    s.nodes[A].inst.announce(now, ip("192.0.2.10"), 1);
    s.run(Duration::from_secs(30));
    assert_recovered(&s, &log, PacketType::LsAck);
    assert_eq!(
        s.nodes[A].inst.neighbors(s.now)[0].retransmit,
        0,
        "acknowledged"
    );
}
