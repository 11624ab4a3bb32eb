//! What a receiver refuses, and counts: replays, old sessions, unknown
//! senders, forged or altered datagrams.

mod harness;
mod samples;

use harness::{addr, Net};
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_sync::wire::Kind;
use xlvs_sync::{Config, Drops, Event, Mode};

const MS: Duration = Duration::from_millis(1);

/// Node `at`'s drops of datagrams from node `from`.
fn drops(net: &Net, at: usize, from: usize) -> Drops {
    let stats = net.nodes[at].sync.stats(net.now);
    let p = stats.peers.iter().find(|p| p.addr == addr(from)).unwrap();
    p.counters.drops.clone()
}

fn installs(net: &Net, at: usize) -> usize {
    let n = &net.nodes[at];
    n.events
        .iter()
        .filter(|e| matches!(e, Event::Install { .. }))
        .count()
}

/// Node 0 publishes one entry; the Entries datagram it sent.
fn publish_one(net: &mut Net, i: u32) -> Vec<u8> {
    let since = net.log.len();
    net.publish(0, samples::entry(i, addr(0)));
    net.run_for(3 * MS);
    net.sent(0, Kind::Entries, since)[0].bytes.clone()
}

#[test]
fn the_same_datagram_twice_is_a_replay() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let bytes = publish_one(&mut net, 1);
    assert_eq!(installs(&net, 1), 1);
    net.deliver(0, 1, &bytes);
    net.pump();
    assert_eq!(installs(&net, 1), 1, "no second install");
    assert_eq!(drops(&net, 1, 0).replay, 1);
    assert_eq!(drops(&net, 1, 0).total(), 1);
}

#[test]
fn a_late_datagram_is_accepted_inside_the_window_and_refused_outside() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    net.filter = Box::new(|_, _, h| h.kind != Kind::Entries);
    let lost_early = publish_one(&mut net, 1);
    let lost_late = publish_one(&mut net, 2);
    net.filter = Box::new(|_, _, _| true);
    for i in 3..66 {
        publish_one(&mut net, i);
    }
    // Node 0's Hello was 1, the lost ones 2 and 3, the highest now 66:
    // 2 is 64 behind, outside the 64-wide window; 3 is 63 behind, inside.
    let before = installs(&net, 1);
    net.deliver(0, 1, &lost_late);
    net.deliver(0, 1, &lost_early);
    net.pump();
    assert_eq!(installs(&net, 1), before + 1, "the later one only");
    let late = samples::entry(2, addr(0));
    assert!(
        matches!(net.nodes[1].events.last(), Some(Event::Install { entry, .. }) if *entry == late)
    );
    assert_eq!(drops(&net, 1, 0).replay, 1);
}

#[test]
fn an_old_session_is_stale_and_a_restarted_peer_is_accepted() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let old = publish_one(&mut net, 1);
    let session = |net: &Net| net.nodes[1].sync.stats(net.now).peers[0].session;
    let before = session(&net).unwrap();

    let mut c = Config::new(addr(0), Mode::Unicast(vec![addr(1)]), harness::KEY);
    c.name = "director-0".into();
    net.restart(0, c);
    net.run_for(10 * MS);
    assert!(session(&net).unwrap() > before, "the new session is known");
    assert_eq!(drops(&net, 1, 0).total(), 0, "seq 1 again, accepted");
    // Its entries get through (its sequence numbers started over).
    publish_one(&mut net, 2);
    assert_eq!(net.nodes[1].table.len(), 2);

    net.deliver(0, 1, &old);
    assert_eq!(drops(&net, 1, 0).stale_session, 1);
    assert_eq!(drops(&net, 1, 0).total(), 1);
}

#[test]
fn only_authenticated_datagrams_move_the_replay_state() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    // A forged datagram claiming node 0 with a far later session.
    let mut forged = publish_one(&mut net, 1);
    forged[12..20].copy_from_slice(&u64::MAX.to_be_bytes());
    net.deliver(0, 1, &forged);
    assert_eq!(drops(&net, 1, 0).auth, 1);
    // Node 0 is not locked out.
    publish_one(&mut net, 2);
    assert_eq!(net.nodes[1].table.len(), 2);
    assert_eq!(drops(&net, 1, 0).total(), 1);
}

#[test]
fn unicast_drops_senders_that_are_not_configured_peers() {
    let mut net = Net::build(3, false, |i, c| {
        if i == 0 {
            c.mode = Mode::Unicast(vec![addr(1)]);
        }
    });
    net.run_for(Duration::from_secs(2));
    let stats = net.nodes[0].sync.stats(net.now);
    assert_eq!(stats.peers.len(), 1);
    assert!(
        stats.unknown_drops.unknown_peer >= 3,
        "{:?}",
        stats.unknown_drops
    );
    assert!(!net.nodes[0]
        .events
        .iter()
        .any(|e| matches!(e, Event::PeerUp { addr, .. } if *addr == harness::addr(2))));
}

#[test]
fn a_group_learns_every_sender_with_the_key() {
    let mut net = Net::build(3, true, |i, c| {
        if i == 2 {
            c.key = b"not the cluster key".to_vec();
        }
    });
    net.run_for(Duration::from_secs(2));
    let stats = net.nodes[0].sync.stats(net.now);
    let learned: Vec<Ipv4Addr> = stats.peers.iter().map(|p| p.addr).collect();
    assert_eq!(learned, [addr(1)], "node 2 has another key");
    assert!(!stats.peers[0].configured && stats.peers[0].up);
    assert_eq!(stats.unknown_drops.auth, 3, "node 2's three Hellos");
}

#[test]
fn a_peer_with_another_key_is_counted_against_it_and_never_up() {
    let mut net = Net::build(2, false, |i, c| {
        if i == 1 {
            c.key = b"not the cluster key".to_vec();
        }
    });
    net.run_for(Duration::from_secs(2));
    assert_eq!(drops(&net, 0, 1).auth, 3);
    assert!(!net.nodes[0].sync.stats(net.now).peers[0].up);
    assert!(net.nodes[0].peer_events().is_empty());
}

#[test]
fn malformed_datagrams_are_counted_by_reason() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let good = publish_one(&mut net, 1);
    net.deliver(0, 1, &good[..good.len() - 1]);
    net.deliver(0, 1, &good[..10]);
    net.deliver(0, 1, &vec![0; 9001]);
    let mut v2 = good.clone();
    v2[2] = 2;
    net.deliver(0, 1, &v2);
    let mut flipped = good.clone();
    flipped[40] ^= 1;
    net.deliver(0, 1, &flipped);
    let d = drops(&net, 1, 0);
    assert_eq!(
        (d.truncated, d.oversized, d.bad_version, d.auth),
        (2, 1, 1, 1)
    );
    assert_eq!(d.total(), 5);
}

#[test]
fn our_own_datagrams_looped_back_are_ignored() {
    let mut net = Net::group(2);
    net.run_for(10 * MS);
    let own = net.sent(0, Kind::Hello, 0)[0].bytes.clone();
    net.deliver(0, 0, &own);
    let stats = net.nodes[0].sync.stats(net.now);
    assert_eq!(stats.peers.len(), 1);
    assert_eq!(stats.unknown_drops.total(), 0);
    assert_eq!(stats.peers[0].counters.drops.total(), 0);
}
