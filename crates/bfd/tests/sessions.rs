//! The instance's bookkeeping: one session per peer, discriminators
//! unique and non-zero, source ports fixed per session in 49152-65535,
//! removal, determinism from the seed.

mod sim;

use sim::{config, ip, ms};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Instant;
use xlvs_bfd::{Bfd, ControlPacket, SessionError, CONTROL_PORT};

#[test]
fn discriminators_and_ports_are_unique_and_ports_fixed() {
    let now = Instant::now();
    let mut bfd = Bfd::new(3);
    let mut ids = Vec::new();
    for i in 0..2_000u32 {
        let peer = Ipv4Addr::from(0x0a00_0000 + i + 2);
        ids.push(
            bfd.add_session(now, peer, ip("10.0.0.1"), config(100, 3))
                .unwrap(),
        );
    }
    let infos = bfd.sessions(now);
    let discrs: BTreeSet<u32> = infos.iter().map(|s| s.local_discriminator).collect();
    assert_eq!(discrs.len(), 2_000);
    assert!(!discrs.contains(&0));
    let ports: BTreeSet<u16> = infos.iter().map(|s| s.src_port).collect();
    assert_eq!(ports.len(), 2_000);
    assert!(ports.iter().all(|p| *p >= 49152));

    // Every packet of a session leaves from its port, to 3784, with its
    // discriminator.
    let mut t = now;
    for _ in 0..3 {
        while let Some(tx) = bfd.poll_transmit(t) {
            let info = bfd.session(tx.id, t).unwrap();
            assert_eq!(tx.src_port, info.src_port);
            assert_eq!(tx.to.port(), CONTROL_PORT);
            assert_eq!(*tx.to.ip(), info.peer);
            let p = ControlPacket::parse(&tx.bytes).unwrap();
            assert_eq!(p.my_discr, info.local_discriminator);
        }
        t += ms(1_000);
        bfd.handle_timeout(t);
    }
}

#[test]
fn one_session_per_peer_and_ids_are_not_reused() {
    let now = Instant::now();
    let mut bfd = Bfd::new(3);
    let a = bfd
        .add_session(now, ip("10.0.0.2"), ip("10.0.0.1"), config(100, 3))
        .unwrap();
    assert_eq!(
        bfd.add_session(now, ip("10.0.0.2"), ip("10.0.0.1"), config(200, 3)),
        Err(SessionError::PeerExists {
            peer: ip("10.0.0.2"),
            id: a
        })
    );
    assert_eq!(bfd.session_for(ip("10.0.0.2")), Some(a));
    bfd.remove_session(a).unwrap();
    assert_eq!(bfd.remove_session(a), Err(SessionError::Unknown(a)));
    assert_eq!(bfd.session_for(ip("10.0.0.2")), None);
    // Its timers went with it.
    assert_eq!(bfd.poll_timeout(), None);
    assert!(bfd.poll_transmit(now).is_none());
    let b = bfd
        .add_session(now, ip("10.0.0.2"), ip("10.0.0.1"), config(100, 3))
        .unwrap();
    assert_ne!(a, b);
}

#[test]
fn the_same_seed_replays_the_same_packets() {
    let run = |seed| {
        let mut now = Instant::now();
        let start = now;
        let mut bfd = Bfd::new(seed);
        bfd.add_session(now, ip("10.0.0.2"), ip("10.0.0.1"), config(100, 3))
            .unwrap();
        let mut out = Vec::new();
        for _ in 0..10 {
            while let Some(t) = bfd.poll_transmit(now) {
                out.push((now - start, t.bytes));
            }
            now = bfd.poll_timeout().unwrap();
            bfd.handle_timeout(now);
        }
        out
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn the_first_packet_leaves_at_once_then_slowly() {
    let now = Instant::now();
    let mut bfd = Bfd::new(1);
    bfd.add_session(now, ip("10.0.0.2"), ip("10.0.0.1"), config(10, 3))
        .unwrap();
    let t = bfd.poll_transmit(now).expect("at once");
    let p = ControlPacket::parse(&t.bytes).unwrap();
    assert_eq!(p.state, xlvs_bfd::State::Down);
    assert_eq!(p.desired_min_tx_us, 1_000_000);
    assert_eq!(p.required_min_rx_us, 10_000);
    assert_eq!(p.your_discr, 0);
    assert!(bfd.poll_transmit(now).is_none());
    let next = bfd.poll_timeout().unwrap();
    assert!(next - now >= ms(750) && next - now <= ms(1_000));
}
