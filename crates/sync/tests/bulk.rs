//! Table transfers: a starting director fetches the table from a Ready
//! peer, through losses, a lost source, or nobody to ask.

mod harness;
mod samples;

use harness::{addr, Net};
use std::time::Duration;
use xlvs_sync::wire::Kind;
use xlvs_sync::{BulkFailure, BulkStatus, Event, NodeState};

const SEC: Duration = Duration::from_secs(1);

/// Node 0 joining, the others Ready with `table` entries each (node i's
/// entries owned by it, its peers' entries installed from them).
fn cluster(n: usize, table: u32) -> Net {
    let mut net = Net::build(n, false, |i, c| {
        if i > 0 {
            c.state = NodeState::Ready;
        }
    });
    for i in 1..n {
        give_table(&mut net, i, table);
    }
    net
}

/// `n` entries owned by node `i` in its table.
fn give_table(net: &mut Net, i: usize, n: u32) {
    for e in samples::entries(n, addr(i)) {
        net.nodes[i].table.insert(e.key, e);
    }
}

/// Node `i` ended its transfer alone, and said so once.
fn assert_alone(net: &Net, i: usize) {
    assert_eq!(
        net.nodes[i].sync.bulk_status(),
        BulkStatus::Alone,
        "node {i}"
    );
    assert_eq!(
        bulk_events(net, i),
        [&Event::BulkFailed {
            reason: BulkFailure::Alone
        }],
        "node {i}"
    );
}

fn bulk_events(net: &Net, i: usize) -> Vec<&Event> {
    net.nodes[i]
        .peer_events()
        .into_iter()
        .filter(|e| matches!(e, Event::BulkFinished { .. } | Event::BulkFailed { .. }))
        .collect()
}

fn requests(net: &Net, from: usize) -> Vec<u32> {
    net.log
        .iter()
        .filter(|s| s.from == from && s.header.kind == Kind::BulkRequest)
        .map(|s| u32::from_be_bytes(s.bytes[32..36].try_into().unwrap()))
        .collect()
}

#[test]
fn a_hundred_thousand_entries_with_losses_complete_by_asking_again() {
    let mut net = cluster(2, 100_000);
    // Lose three datagrams of the first transfer.
    let mut bulk_seen = 0;
    net.filter = Box::new(move |_, to, h| {
        if to == 0 && h.kind == Kind::BulkEntries {
            bulk_seen += 1;
            return ![5, 700, 2500].contains(&bulk_seen);
        }
        true
    });
    let now = net.now;
    net.nodes[0].sync.start_bulk(now, now + 30 * SEC);
    net.run_for(2 * SEC);

    assert_eq!(
        bulk_events(&net, 0),
        [&Event::BulkFinished {
            from: addr(1),
            entries: 100_000
        }]
    );
    assert_eq!(
        net.nodes[0].sync.bulk_status(),
        BulkStatus::Done {
            peer: addr(1),
            entries: 100_000
        }
    );
    assert_eq!(net.nodes[0].table, net.nodes[1].table);
    let transfers = requests(&net, 0);
    assert_eq!(transfers.len(), 2, "asked again once");
    assert_ne!(transfers[0], transfers[1]);
    // 100 000 entries at 39 a datagram: 2565 BulkEntries a transfer.
    let served = net.sent(1, Kind::BulkEntries, 0);
    assert_eq!(served.len(), 2 * 2565);
    assert!(served.iter().all(|s| s.bytes.len() <= 1472));
    assert_eq!(net.sent(1, Kind::BulkEnd, 0).len(), 2);
    let stats = net.nodes[1].sync.stats(net.now);
    assert_eq!(stats.serving_entries, 0);
}

#[test]
fn proxied_entries_transfer_with_their_shift() {
    let mut net = cluster(2, 100);
    for i in 0..200 {
        let e = samples::proxied(i, addr(1));
        net.nodes[1].table.insert(e.key, e);
    }
    let now = net.now;
    net.nodes[0].sync.start_bulk(now, now + 30 * SEC);
    net.run_for(2 * SEC);
    assert_eq!(net.nodes[0].table, net.nodes[1].table);
    assert_eq!(
        net.nodes[0]
            .table
            .values()
            .filter(|e| e.proxy.is_some())
            .count(),
        200
    );
    let bulk: Vec<_> = net
        .log
        .iter()
        .filter(|s| s.header.kind == Kind::BulkEntries)
        .collect();
    assert!(bulk.iter().all(|s| s.bytes.len() <= 1472));
    // 300 records: 200 of 44 bytes and 100 of 36 need more than 300 / 39.
    assert!(bulk.len() > 8, "{} datagrams", bulk.len());
}

#[test]
fn a_lost_bulk_end_is_asked_again_after_the_bulk_timeout() {
    let mut net = cluster(2, 1000);
    let mut ends = 0;
    net.filter = Box::new(move |_, _, h| {
        if h.kind == Kind::BulkEnd {
            ends += 1;
            return ends > 1;
        }
        true
    });
    let now = net.now;
    net.nodes[0].sync.start_bulk(now, now + 30 * SEC);
    net.run_for(SEC / 2);
    assert!(matches!(
        net.nodes[0].sync.bulk_status(),
        BulkStatus::Fetching {
            received: 1000,
            total: None,
            ..
        }
    ));
    net.run_for(SEC);
    assert_eq!(requests(&net, 0).len(), 2);
    assert!(matches!(
        net.nodes[0].sync.bulk_status(),
        BulkStatus::Done { entries: 1000, .. }
    ));
}

#[test]
fn a_silent_source_is_replaced_by_another_ready_peer() {
    let mut net = cluster(3, 5000);
    let now = net.now;
    net.run_for(Duration::from_millis(10));
    // Node 1 (asked first: fewest attempts, then the lowest address) goes
    // silent towards node 0 after 50 datagrams.
    let mut from1 = 0;
    net.filter = Box::new(move |from, to, _| {
        if from == 1 && to == 0 {
            from1 += 1;
            return from1 <= 50;
        }
        true
    });
    net.nodes[0].sync.start_bulk(now, now + 30 * SEC);
    net.run_for(3 * SEC);
    assert_eq!(
        bulk_events(&net, 0),
        [&Event::BulkFinished {
            from: addr(2),
            entries: 5000
        }]
    );
    assert_eq!(net.nodes[0].table, net.nodes[2].table);
}

#[test]
fn the_fetch_waits_for_a_ready_peer() {
    // Node 0 is Joining with a lower address: node 1 waits for it to be
    // Ready rather than start first.
    let mut net = Net::unicast(2);
    give_table(&mut net, 0, 100);
    let now = net.now;
    net.nodes[1].sync.start_bulk(now, now + 30 * SEC);
    net.run_for(2 * SEC);
    assert_eq!(net.nodes[1].sync.bulk_status(), BulkStatus::WaitingForPeer);
    assert!(requests(&net, 1).is_empty(), "a joining peer is not asked");
    let now = net.now;
    net.nodes[0].sync.set_state(now, NodeState::Ready);
    net.pump();
    assert_eq!(
        net.nodes[1].sync.bulk_status(),
        BulkStatus::Done {
            peer: addr(0),
            entries: 100
        }
    );
}

#[test]
fn a_peer_not_heard_by_the_deadline_leaves_us_alone() {
    // Node 1 is configured but silent: it may be Ready, so node 0 waits
    // for it until the deadline.
    let mut net = Net::unicast(2);
    net.filter = Box::new(|from, _, _| from != 1);
    let now = net.now;
    net.nodes[0].sync.start_bulk(now, now + 5 * SEC);
    net.run_for(4 * SEC);
    assert_eq!(net.nodes[0].sync.bulk_status(), BulkStatus::WaitingForPeer);
    net.run_for(SEC);
    assert_alone(&net, 0);
}

#[test]
fn no_peer_configured_is_alone_at_once() {
    let mut net = Net::unicast(1);
    let now = net.now;
    net.nodes[0].sync.start_bulk(now, now + 5 * SEC);
    assert_eq!(net.nodes[0].sync.bulk_status(), BulkStatus::Alone);
    // Said once, not again at the deadline.
    net.run_for(6 * SEC);
    assert_alone(&net, 0);
}

#[test]
fn a_cluster_started_together_goes_first_by_the_lowest_address() {
    // Three directors start at once, each waiting for a Ready peer. Once
    // each has heard the others Joining, node 0 (the lowest address) goes
    // first without a table, and the others fetch its table (10 entries
    // here, as a daemon restarted over its pinned maps holds) as soon as it
    // is Ready, well before their deadline.
    let mut net = Net::unicast(3);
    give_table(&mut net, 0, 10);
    let now = net.now;
    for i in 0..3 {
        net.nodes[i].sync.start_bulk(now, now + 10 * SEC);
        assert_eq!(net.nodes[i].sync.bulk_status(), BulkStatus::WaitingForPeer);
    }
    // Within a Hello interval and a half each has heard both others.
    net.run_for(Duration::from_millis(1500));
    assert_alone(&net, 0);
    for i in 1..3 {
        assert_eq!(
            net.nodes[i].sync.bulk_status(),
            BulkStatus::WaitingForPeer,
            "node {i}"
        );
    }
    assert!(requests(&net, 0).is_empty());
    // What the daemon does once the bulk has ended: announce, Ready.
    let now = net.now;
    net.nodes[0].sync.set_state(now, NodeState::Ready);
    net.run_for(SEC);
    for i in 1..3 {
        assert_eq!(
            net.nodes[i].sync.bulk_status(),
            BulkStatus::Done {
                peer: addr(0),
                entries: 10
            },
            "node {i}"
        );
    }
}

#[test]
fn one_peer_not_heard_keeps_a_starting_cluster_waiting() {
    // Node 2 is silent: it may be Ready, with the table. Nodes 0 and 1,
    // both starting, wait for it until their deadline.
    let mut net = Net::unicast(3);
    net.filter = Box::new(|from, _, _| from != 2);
    let now = net.now;
    for i in 0..2 {
        net.nodes[i].sync.start_bulk(now, now + 5 * SEC);
    }
    net.run_for(4 * SEC);
    for i in 0..2 {
        assert_eq!(
            net.nodes[i].sync.bulk_status(),
            BulkStatus::WaitingForPeer,
            "node {i}"
        );
    }
    net.run_for(SEC);
    for i in 0..2 {
        assert_eq!(
            net.nodes[i].sync.bulk_status(),
            BulkStatus::Alone,
            "node {i}"
        );
    }
}

#[test]
fn a_group_waits_for_the_deadline() {
    // A group's members are not known in advance: one more may be Ready.
    let mut net = Net::group(2);
    let now = net.now;
    for i in 0..2 {
        net.nodes[i].sync.start_bulk(now, now + 5 * SEC);
    }
    net.run_for(4 * SEC);
    assert_eq!(net.nodes[0].sync.bulk_status(), BulkStatus::WaitingForPeer);
    net.run_for(SEC);
    assert_eq!(net.nodes[0].sync.bulk_status(), BulkStatus::Alone);
}

#[test]
fn a_ready_peer_that_never_answers_times_out_after_asking_again() {
    let mut net = cluster(2, 10);
    net.nodes[1].serve = false;
    let now = net.now;
    net.nodes[0].sync.start_bulk(now, now + 25 * SEC);
    net.run_for(30 * SEC);
    assert_eq!(net.nodes[0].sync.bulk_status(), BulkStatus::TimedOut);
    assert_eq!(
        bulk_events(&net, 0),
        [&Event::BulkFailed {
            reason: BulkFailure::TimedOut
        }]
    );
    // Asked every first wait (10 s: the peer may be reading a large table,
    // its Hellos say it lives) until the deadline: at 0, 10 and 20 s.
    let asked = requests(&net, 0).len();
    assert_eq!(asked, 3, "{asked} requests");
    let requested = net.nodes[1]
        .events
        .iter()
        .filter(|e| matches!(e, Event::BulkRequested { .. }))
        .count();
    assert_eq!(requested, asked);
}

#[test]
fn datagrams_of_an_abandoned_transfer_are_ignored() {
    let mut net = cluster(2, 200);
    let now = net.now;
    // Node 1 serves an old transfer id nobody waits for.
    net.run_for(Duration::from_millis(10));
    let table: Vec<_> = net.nodes[1].table.values().copied().collect();
    net.nodes[1].sync.serve_bulk(now, addr(0), 12345, table);
    net.pump();
    assert!(net.nodes[0].table.is_empty());
    let stats = net.nodes[0].sync.stats(net.now);
    assert_eq!(
        stats.peers[0].counters.bulk_ignored, 7,
        "six BulkEntries and the end"
    );
    assert_eq!(stats.bulk, BulkStatus::NotStarted);
}
