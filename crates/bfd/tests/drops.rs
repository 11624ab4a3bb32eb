//! What is not accepted is dropped, counted by reason on the instance and
//! on the session the source address names, and changes nothing.

mod sim;

use sim::{config, ip, ms, Sim};
use std::time::Instant;
use xlvs_bfd::{Bfd, ControlPacket, Diag, DropReason, SessionId, State, TTL};

const PEER: &str = "10.0.0.2";
const LOCAL: &str = "10.0.0.1";

/// One instance with a session to PEER, and a valid Down packet from it.
fn one() -> (Bfd, SessionId, Instant, ControlPacket) {
    let now = Instant::now();
    let mut bfd = Bfd::new(9);
    let id = bfd
        .add_session(now, ip(PEER), ip(LOCAL), config(100, 3))
        .unwrap();
    let p = ControlPacket {
        diag: Diag::None,
        state: State::Down,
        poll: false,
        fin: false,
        cpi: false,
        demand: false,
        detect_mult: 3,
        my_discr: 77,
        your_discr: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 100_000,
        required_min_echo_rx_us: 0,
    };
    (bfd, id, now, p)
}

fn local_discr(bfd: &Bfd, id: SessionId, now: Instant) -> u32 {
    bfd.session(id, now).unwrap().local_discriminator
}

#[test]
fn ttl_254_is_dropped_and_counted() {
    let (mut bfd, id, now, p) = one();
    bfd.handle_packet(now, ip(PEER), ip(LOCAL), 254, &p.to_bytes());
    let info = bfd.session(id, now).unwrap();
    assert_eq!(info.state, State::Down, "not Init: the packet was not used");
    assert_eq!(info.counters.dropped.get(DropReason::Ttl), 1);
    assert_eq!(info.counters.received, 0);
    assert_eq!(bfd.counters().dropped.get(DropReason::Ttl), 1);
    assert_eq!(bfd.counters().received, 1);
    // The same packet with TTL 255 is taken.
    bfd.handle_packet(now, ip(PEER), ip(LOCAL), TTL, &p.to_bytes());
    assert_eq!(bfd.session(id, now).unwrap().state, State::Init);
}

#[test]
fn a_peer_beyond_one_hop_never_keeps_a_session_up() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    sim.nodes[1].ttl = 254;
    sim.run_for(ms(1_000));
    assert_eq!(sim.state(0, a), State::Down);
    let info = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert_eq!(info.last_diag, Diag::ControlDetectionExpired);
    assert!(info.counters.dropped.get(DropReason::Ttl) >= 5);
}

#[test]
fn wrong_your_discriminator_is_dropped() {
    let (mut bfd, id, now, p) = one();
    let ours = local_discr(&bfd, id, now);
    let stale = ControlPacket {
        state: State::Init,
        your_discr: ours.wrapping_add(1).max(1),
        ..p
    };
    bfd.handle_packet(now, ip(PEER), ip(LOCAL), TTL, &stale.to_bytes());
    let info = bfd.session(id, now).unwrap();
    assert_eq!(info.state, State::Down);
    assert_eq!(info.remote_discriminator, 0);
    assert_eq!(info.counters.dropped.get(DropReason::UnknownSession), 1);
    assert_eq!(bfd.counters().dropped.get(DropReason::UnknownSession), 1);

    // Our discriminator, but from another address: not this peer's.
    let spoofed = ControlPacket {
        state: State::Init,
        your_discr: ours,
        ..p
    };
    bfd.handle_packet(now, ip("10.0.0.9"), ip(LOCAL), TTL, &spoofed.to_bytes());
    assert_eq!(bfd.counters().dropped.get(DropReason::AddressMismatch), 1);
    // ... or to another of our addresses.
    bfd.handle_packet(now, ip(PEER), ip("10.0.1.1"), TTL, &spoofed.to_bytes());
    assert_eq!(bfd.counters().dropped.get(DropReason::AddressMismatch), 2);
    assert_eq!(bfd.session(id, now).unwrap().state, State::Down);
    // From the peer to us it is taken: Init -> Up.
    bfd.handle_packet(now, ip(PEER), ip(LOCAL), TTL, &spoofed.to_bytes());
    assert_eq!(bfd.session(id, now).unwrap().state, State::Up);
}

#[test]
fn unknown_peers_and_bad_packets_are_counted_by_reason() {
    let (mut bfd, id, now, p) = one();
    let good = p.to_bytes();
    let mut cases: Vec<(Vec<u8>, DropReason)> = Vec::new();
    cases.push((good[..10].to_vec(), DropReason::BadLength));
    cases.push((good[..2].to_vec(), DropReason::Truncated));
    let mut b = good.clone();
    b[0] = 0x40; // version 2
    cases.push((b, DropReason::BadVersion));
    let mut b = good.clone();
    b[3] = 20;
    cases.push((b, DropReason::Truncated));
    let mut b = good.clone();
    b[2] = 0;
    cases.push((b, DropReason::ZeroMultiplier));
    let mut b = good.clone();
    b[1] |= 0x01;
    cases.push((b, DropReason::Multipoint));
    let mut b = good.clone();
    b[4..8].fill(0);
    cases.push((b, DropReason::ZeroDiscriminator));
    let mut b = good.clone();
    b[1] = 0xc0; // Up, your discriminator 0
    cases.push((b, DropReason::ZeroDiscriminator));
    let mut b = good.clone();
    b[1] |= 0x04;
    b[3] = 26;
    b.extend_from_slice(&[1, 2]);
    cases.push((b, DropReason::Authentication));
    for (bytes, reason) in &cases {
        let before = bfd.counters().dropped.get(*reason);
        bfd.handle_packet(now, ip(PEER), ip(LOCAL), TTL, bytes);
        assert_eq!(
            bfd.counters().dropped.get(*reason),
            before + 1,
            "{reason:?}"
        );
    }
    // A valid packet from an address with no session.
    bfd.handle_packet(now, ip("10.0.0.3"), ip(LOCAL), TTL, &good);
    assert_eq!(bfd.counters().dropped.get(DropReason::UnknownSession), 1);

    let info = bfd.session(id, now).unwrap();
    assert_eq!(info.state, State::Down);
    assert_eq!(info.counters.dropped.total(), cases.len() as u64);
    assert_eq!(bfd.counters().dropped.total(), cases.len() as u64 + 1);
    assert_eq!(bfd.counters().received, cases.len() as u64 + 1);
    // The view serializes with reasons by name.
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["counters"]["dropped"]["multipoint"], 1);
    assert_eq!(json["state"], "Down");
}

#[test]
fn nothing_periodic_while_the_peer_requires_no_packets() {
    let (mut bfd, id, mut now, p) = one();
    while bfd.poll_transmit(now).is_some() {}
    let silent = ControlPacket {
        required_min_rx_us: 0,
        ..p
    };
    bfd.handle_packet(now, ip(PEER), ip(LOCAL), TTL, &silent.to_bytes());
    assert_eq!(bfd.session(id, now).unwrap().tx_interval_us, None);
    for _ in 0..50 {
        now += ms(100);
        bfd.handle_timeout(now);
        assert!(bfd.poll_transmit(now).is_none());
    }
    // A Poll is still answered.
    let poll = ControlPacket {
        poll: true,
        your_discr: local_discr(&bfd, id, now),
        ..silent
    };
    bfd.handle_packet(now, ip(PEER), ip(LOCAL), TTL, &poll.to_bytes());
    let t = bfd.poll_transmit(now).expect("a Final");
    assert!(ControlPacket::parse(&t.bytes).unwrap().fin);
    assert!(bfd.poll_transmit(now).is_none());
}
