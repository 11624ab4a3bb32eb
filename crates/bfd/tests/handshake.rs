//! A session comes Up through RFC 5880's three-way handshake at the slow
//! rate, then reaches the configured rate through a Poll/Final sequence.

mod sim;

use sim::{config, ms, periodic_gaps, Sim};
use xlvs_bfd::{Event, State, SLOW_TX};

#[test]
fn comes_up_through_down_init_up() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    assert!(sim.run_until_cond(ms(10_000), |s| s.both_up(a, b)));

    // Each side's transitions, in order: Down -> Init -> Up on at least
    // one side (the one that heard Down first), Down -> Up or the same
    // on the other; nothing else.
    let mut through_init = 0;
    for node in 0..2 {
        let changes: Vec<(State, State)> = sim
            .events_of(node)
            .into_iter()
            .filter_map(|(_, e)| match e {
                Event::StateChanged { from, to, .. } => Some((from, to)),
                _ => None,
            })
            .collect();
        match changes.as_slice() {
            [(State::Down, State::Init), (State::Init, State::Up)] => through_init += 1,
            [(State::Down, State::Up)] => {}
            other => panic!("node {node}: {other:?}"),
        }
        let ups = sim
            .events_of(node)
            .iter()
            .filter(|(_, e)| matches!(e, Event::SessionUp { .. }))
            .count();
        assert_eq!(ups, 1);
    }
    assert!(through_init >= 1);

    // Until Up every packet advertised the slow rate and they left no
    // faster than 75% of a second apart.
    let first_up = sim
        .events
        .iter()
        .find(|(_, _, e)| matches!(e, Event::SessionUp { .. }))
        .unwrap()
        .0;
    for node in 0..2 {
        let before: Vec<_> = sim
            .sent_by(node, sim.start)
            .into_iter()
            .filter(|s| s.at < first_up)
            .collect();
        assert!(!before.is_empty());
        for s in &before {
            assert_eq!(s.packet.desired_min_tx_us as u128, SLOW_TX.as_micros());
            assert_eq!(s.packet.required_min_rx_us, 100_000);
        }
        for gap in periodic_gaps(&before) {
            assert!(gap >= ms(750), "node {node}: {gap:?} before Up");
        }
    }
    // Both sides learnt each other's discriminators.
    let ia = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    let ib = sim.nodes[1].bfd.session(b, sim.now).unwrap();
    assert_eq!(ia.remote_discriminator, ib.local_discriminator);
    assert_eq!(ib.remote_discriminator, ia.local_discriminator);
    assert_ne!(ia.local_discriminator, 0);
}

#[test]
fn fast_rate_through_a_poll_and_final_at_up() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    sim.run_for(ms(2_000));

    for (node, peer) in [(0, 1), (1, 0)] {
        let up_at = sim
            .events_of(node)
            .into_iter()
            .find(|(_, e)| matches!(e, Event::SessionUp { .. }))
            .unwrap()
            .0;
        let sent = sim.sent_by(node, sim.start);
        // The Poll rides on the first periodic packet in Up, which leaves
        // within one fast interval: a shorter TX interval applies at
        // once (the peer shortens its wait as soon as it reads it).
        let poll_at = sent.iter().position(|s| s.packet.poll).unwrap();
        let poll = &sent[poll_at];
        assert_eq!(poll.packet.state, State::Up);
        assert_eq!(poll.packet.desired_min_tx_us, 100_000);
        assert!(!poll.packet.fin);
        assert!(poll.at > up_at && poll.at - up_at <= ms(100));
        // Before it, only the slow rate was advertised, except by a Final
        // (which may carry new values early, RFC 5880 6.8.3).
        for s in &sent[..poll_at] {
            assert!(s.packet.fin || s.packet.desired_min_tx_us == 1_000_000);
        }
        // The peer's Final leaves the instant the Poll arrives.
        let fin = sim
            .sent_by(peer, poll.at)
            .into_iter()
            .find(|s| s.packet.fin)
            .expect("a Final");
        assert_eq!(fin.at, poll.at + sim.latency);
        assert!(!fin.packet.poll, "never P and F together");
        // From the Poll on: 75-100 ms apart, and P clear after the Final.
        let after: Vec<_> = sent[poll_at..].to_vec();
        let gaps = periodic_gaps(&after);
        assert!(gaps.len() > 15, "{} fast packets", gaps.len());
        for g in &gaps {
            assert!(*g >= ms(75) && *g <= ms(100), "node {node}: {g:?}");
        }
        let final_in = fin.at + sim.latency;
        assert!(after
            .iter()
            .filter(|s| s.at > final_in)
            .all(|s| !s.packet.poll));
    }
    let info = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert_eq!(info.tx_interval_us, Some(100_000));
    assert_eq!(info.detection_time_us, Some(300_000));
    assert!(!info.polling);
    assert!(info.up_for_ms.is_some());
}
