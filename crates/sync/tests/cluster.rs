//! Several directors passing datagrams on a fake clock: entries, batching,
//! Hellos and hold times, conflicting owners, status.

mod harness;
mod samples;

use harness::{addr, Net};
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_sync::wire::Kind;
use xlvs_sync::{Event, NodeState, Op, Stats};

const MS: Duration = Duration::from_millis(1);

fn entry(i: u32) -> xlvs_sync::Entry {
    samples::entry(i, Ipv4Addr::UNSPECIFIED)
}

fn installed_everywhere(mut net: Net) {
    net.run_for(10 * MS);
    for i in 0..20 {
        net.publish(0, entry(i));
    }
    net.run_for(10 * MS);
    for n in &net.nodes[1..] {
        assert_eq!(n.table.len(), 20, "{}", n.sync.address());
        assert!(n.table.values().all(|e| e.owner == addr(0)));
        assert_eq!(n.table, net.nodes[0].table);
    }
    // Deletes remove them; a Closing is installed with its op.
    let mut gone = entry(3);
    gone.op = Op::Delete;
    net.publish(0, gone);
    let mut closing = entry(4);
    closing.op = Op::Closing;
    net.publish(0, closing);
    net.run_for(10 * MS);
    for n in &net.nodes[1..] {
        assert_eq!(n.table.len(), 19);
        assert_eq!(n.table[&entry(4).key].op, Op::Closing);
        let removes = n
            .events
            .iter()
            .filter(|e| matches!(e, Event::Remove { .. }));
        assert_eq!(removes.count(), 1);
        let stats = n.sync.stats(net.now);
        let from0 = stats.peers.iter().find(|p| p.addr == addr(0)).unwrap();
        assert_eq!(from0.counters.installs, 21);
        assert_eq!(from0.counters.removes, 1);
        assert_eq!(from0.counters.entries_received, 22);
    }
}

#[test]
fn entries_published_on_one_are_installed_on_the_others_unicast() {
    installed_everywhere(Net::unicast(3));
}

#[test]
fn entries_published_on_one_are_installed_on_the_others_multicast() {
    installed_everywhere(Net::group(3));
}

#[test]
fn unicast_sends_one_copy_per_peer_with_one_sequence_number() {
    let mut net = Net::unicast(3);
    net.pump();
    let hellos = net.sent(0, Kind::Hello, 0);
    assert_eq!(hellos.len(), 2);
    assert_ne!(hellos[0].to, hellos[1].to);
    assert_eq!(hellos[0].bytes, hellos[1].bytes);
    let multicast = {
        let mut net = Net::group(3);
        net.pump();
        net.sent(0, Kind::Hello, 0).len()
    };
    assert_eq!(multicast, 1);
}

#[test]
fn batches_fill_datagrams_to_the_max_size_and_the_rest_leaves_after_the_flush_delay() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let since = net.log.len();
    let t0 = net.now;
    for i in 0..100 {
        net.publish(0, entry(i));
    }
    net.pump();
    let full = net.sent(0, Kind::Entries, since);
    assert_eq!(full.len(), 2, "two full datagrams at once");
    for s in &full {
        assert_eq!(s.header.count, 39);
        assert_eq!(s.bytes.len(), 1468);
        assert!(s.bytes.len() <= 1472);
        assert_eq!(s.at, t0);
    }
    net.run_for(MS + MS / 2);
    assert_eq!(
        net.sent(0, Kind::Entries, since).len(),
        2,
        "not before the delay"
    );
    net.run_for(MS);
    let all = net.sent(0, Kind::Entries, since);
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].header.count, 22);
    assert_eq!(all[2].at, t0 + 2 * MS);
    assert_eq!(net.nodes[1].table.len(), 100);
}

#[test]
fn proxied_records_fill_datagrams_by_their_bytes_and_arrive_with_their_shift() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let since = net.log.len();
    // Every proxied record is 44 bytes: 32 fill a 1472-byte datagram.
    for i in 0..40 {
        net.publish(0, samples::proxied(i, Ipv4Addr::UNSPECIFIED));
    }
    // Then a mix: 36 and 44 bytes.
    for i in 0..60 {
        match i % 3 {
            0 => net.publish(0, samples::proxied(100 + i, Ipv4Addr::UNSPECIFIED)),
            _ => net.publish(0, entry(i)),
        }
    }
    net.run_for(10 * MS);
    let sent = net.sent(0, Kind::Entries, since);
    assert_eq!(sent[0].header.count, 32);
    assert_eq!(sent[0].bytes.len(), 1472);
    let total: usize = sent.iter().map(|s| usize::from(s.header.count)).sum();
    assert_eq!(total, 100);
    assert!(sent.iter().all(|s| s.bytes.len() <= 1472));
    let table = &net.nodes[1].table;
    assert_eq!(table.len(), 100);
    for i in 0..40 {
        let want = samples::proxied(i, Ipv4Addr::UNSPECIFIED);
        assert_eq!(table[&want.key].proxy, want.proxy, "{i}");
        assert!(want.proxy.is_some());
    }
    assert_eq!(table[&entry(1).key].proxy, None);
}

#[test]
fn the_flush_delay_counts_from_the_first_entry_of_the_batch() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let since = net.log.len();
    let t0 = net.now;
    net.publish(0, entry(1));
    net.run_for(MS);
    net.publish(0, entry(2));
    net.run_for(MS / 2);
    assert!(net.sent(0, Kind::Entries, since).is_empty());
    net.run_for(MS);
    let sent = net.sent(0, Kind::Entries, since);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header.count, 2);
    assert_eq!(sent[0].at, t0 + 2 * MS);
}

#[test]
fn larger_datagrams_hold_more_records() {
    let mut net = Net::build(2, false, |_, c| c.max_datagram = 8972);
    net.run_for(10 * MS);
    let since = net.log.len();
    for i in 0..300 {
        net.publish(0, entry(i));
    }
    net.run_for(10 * MS);
    let counts: Vec<u16> = net
        .sent(0, Kind::Entries, since)
        .iter()
        .map(|s| s.header.count)
        .collect();
    assert_eq!(counts, [247, 53]);
}

#[test]
fn hellos_bring_peers_up_and_silence_takes_them_down_after_the_hold_time() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    assert_eq!(
        net.nodes[0].peer_events(),
        [&Event::PeerUp {
            addr: addr(1),
            name: "director-1".into(),
            state: NodeState::Joining,
            local_addresses: vec![Ipv4Addr::new(10, 1, 1, 1)],
        }]
    );
    net.run_for(Duration::from_secs(10));
    assert_eq!(net.nodes[0].peer_events().len(), 1, "hellos keep it up");

    // Node 1 falls silent: down one hold time (3 s) after its last Hello.
    net.filter = Box::new(|from, _, _| from != 1);
    let last_hello = net.sent(1, Kind::Hello, 0).last().unwrap().at;
    net.run_for(Duration::from_millis(2900));
    assert_eq!(net.nodes[0].peer_events().len(), 1);
    net.run_for(Duration::from_millis(1200));
    assert_eq!(
        net.nodes[0].peer_events()[1],
        &Event::PeerDown {
            addr: addr(1),
            local_addresses: vec![Ipv4Addr::new(10, 1, 1, 1)],
        }
    );
    assert!(net.now - last_hello >= Duration::from_secs(3));
    assert!(!net.nodes[0].sync.stats(net.now).peers[0].up);

    // Back: up again at its next Hello.
    net.filter = Box::new(|_, _, _| true);
    net.run_for(Duration::from_secs(1));
    assert!(matches!(
        net.nodes[0].peer_events()[2],
        Event::PeerUp { .. }
    ));
}

#[test]
fn state_and_address_changes_reach_peers_at_once() {
    let mut net = Net::unicast(2);
    net.run_for(10 * MS);
    let now = net.now;
    net.nodes[1].sync.set_state(now, NodeState::Ready);
    net.pump();
    let new = vec![Ipv4Addr::new(10, 1, 1, 1), Ipv4Addr::new(10, 1, 1, 2)];
    net.nodes[1]
        .sync
        .set_local_addresses(now, new.clone())
        .unwrap();
    net.pump();
    // The same again changes nothing.
    net.nodes[1].sync.set_state(now, NodeState::Ready);
    net.pump();
    let events = net.nodes[0].peer_events();
    assert_eq!(events.len(), 3);
    assert!(matches!(
        events[1],
        Event::PeerChanged {
            state: NodeState::Ready,
            ..
        }
    ));
    assert!(
        matches!(events[2], Event::PeerChanged { local_addresses, .. } if *local_addresses == new)
    );
    // Too many addresses for one Hello are refused.
    let many = (0..=255u32).map(Ipv4Addr::from).collect();
    assert!(net.nodes[1].sync.set_local_addresses(now, many).is_err());
}

#[test]
fn a_removed_peer_goes_down_and_is_no_longer_sent_to() {
    let mut net = Net::unicast(3);
    net.run_for(10 * MS);
    let now = net.now;
    net.nodes[0].sync.set_peers(now, vec![addr(1)]);
    net.pump();
    assert_eq!(net.nodes[0].peer_events().len(), 3);
    assert_eq!(
        net.nodes[0].events.last(),
        Some(&Event::PeerDown {
            addr: addr(2),
            local_addresses: vec![Ipv4Addr::new(10, 1, 2, 1)]
        })
    );
    let since = net.log.len();
    net.publish(0, entry(1));
    net.run_for(10 * MS);
    let sent = net.sent(0, Kind::Entries, since);
    assert_eq!(sent.len(), 1);
    assert_eq!(*sent[0].to.ip(), addr(1));
    // Node 2 still sends to node 0, which now drops it as unknown.
    net.run_for(Duration::from_secs(1));
    assert!(net.nodes[0].sync.stats(net.now).unknown_drops.unknown_peer > 0);
}

#[test]
fn two_owners_of_one_flow_converge_on_the_lower_address_on_both() {
    for (a, b) in [(0, 1), (1, 0)] {
        let mut net = Net::unicast(2);
        net.run_for(10 * MS);
        // Both create the flow before either hears the other.
        let mut theirs = entry(7);
        theirs.real = Ipv4Addr::new(172, 16, 9, 9);
        net.publish(a, entry(7));
        net.publish(b, theirs);
        net.run_for(10 * MS);
        let key = entry(7).key;
        for n in &net.nodes {
            assert_eq!(n.table[&key].owner, addr(0), "on {}", n.sync.address());
        }
        assert_eq!(net.nodes[0].table[&key], net.nodes[1].table[&key]);
    }
}

#[test]
fn stats_serialize_for_status_and_metrics() {
    let mut net = Net::unicast(2);
    net.run_for(Duration::from_secs(2));
    net.deliver(1, 0, b"garbage");
    let stats = net.nodes[0].sync.stats(net.now);
    assert_eq!(stats.peers.len(), 1);
    let p = &stats.peers[0];
    assert!(p.up && p.configured);
    assert_eq!(p.name, "director-1");
    assert_eq!(p.state, Some(NodeState::Joining));
    assert_eq!(p.counters.datagrams_received, 3, "three Hellos in 2 s");
    assert_eq!(p.counters.datagrams_sent, 3);
    assert_eq!(p.counters.drops.total(), 1, "garbage from a peer's address");
    assert_eq!(p.counters.drops.bad_format, 1);
    assert_eq!(p.last_heard_ms_ago, Some(0));
    assert_eq!(stats.datagrams_sent, 3);
    let json = serde_json::to_string(&stats).unwrap();
    assert!(
        json.contains("\"bulk\":{\"status\":\"not_started\"}"),
        "{json}"
    );
    let back: Stats = serde_json::from_str(&json).unwrap();
    assert_eq!(back, stats);
}
