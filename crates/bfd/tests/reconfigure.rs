//! A reload changes a live session's interval through a Poll/Final
//! sequence (RFC 5880 6.8.3): a longer TX interval waits for the Final, a
//! shorter RX requirement keeps the old Detection Time until it; the
//! multiplier needs no Poll (6.8.12).

mod sim;

use sim::{config, ms, periodic_gaps, Sim};

#[test]
fn a_longer_interval_applies_after_the_final() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    let at = sim.now;
    sim.nodes[0].bfd.set_config(at, a, config(300, 3)).unwrap();
    sim.flush();
    sim.run_for(ms(3_000));

    let sent = sim.sent_by(0, at);
    // No packet out of cadence for the Poll: it rides the next periodic.
    let poll_at = sent.iter().position(|s| s.packet.poll).unwrap();
    let poll = &sent[poll_at];
    assert!(poll.at - at <= ms(100) && poll.at > at);
    assert_eq!(poll.packet.desired_min_tx_us, 300_000);
    assert_eq!(poll.packet.required_min_rx_us, 300_000);
    let fin = sim
        .sent_by(1, poll.at)
        .into_iter()
        .find(|s| s.packet.fin)
        .unwrap();
    assert_eq!(fin.at, poll.at + sim.latency);
    let final_in = fin.at + sim.latency;

    // The old cadence up to the Poll (and until the Final), the new one
    // after: the first packet after the Final comes at most one old
    // interval after the one before it.
    let before: Vec<_> = sent.iter().filter(|s| s.at <= final_in).cloned().collect();
    for g in periodic_gaps(&before) {
        assert!(g <= ms(100), "{g:?} before the Final");
    }
    let after: Vec<_> = sent.iter().filter(|s| s.at > final_in).cloned().collect();
    let gaps = periodic_gaps(&after);
    assert!(gaps.len() >= 8);
    for g in gaps {
        assert!(g >= ms(225) && g <= ms(300), "{g:?} after the Final");
    }
    assert!(after.iter().all(|s| !s.packet.poll));

    // B now waits 3 x 300 ms for A, and sends no faster than A's new
    // required RX; A waits 3 x max(300, 100).
    let ia = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    let ib = sim.nodes[1].bfd.session(b, sim.now).unwrap();
    assert_eq!(ib.detection_time_us, Some(900_000));
    assert_eq!(ib.tx_interval_us, Some(300_000));
    assert_eq!(ia.detection_time_us, Some(900_000));
    assert_eq!(ia.tx_interval_us, Some(300_000));
    let b_gaps = periodic_gaps(&sim.sent_by(1, final_in + ms(400)));
    assert!(
        b_gaps.iter().all(|g| *g >= ms(225) && *g <= ms(300)),
        "{b_gaps:?}"
    );
    assert_eq!(sim.state(0, a), xlvs_bfd::State::Up);
    assert_eq!(sim.state(1, b), xlvs_bfd::State::Up);
}

#[test]
fn a_longer_interval_waits_for_a_final_however_late() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    // B's Finals are lost for a while: A's Poll Sequence goes on.
    sim.lose = Some(Box::new(|from, p| from == 1 && p.fin));
    let at = sim.now;
    sim.nodes[0].bfd.set_config(at, a, config(300, 3)).unwrap();
    sim.run_for(ms(1_000));
    let during = sim.sent_by(0, at);
    assert!(during.len() >= 10);
    // Every periodic packet repeats the Poll, at the old cadence.
    assert!(during.iter().all(|s| s.packet.poll));
    let gaps = periodic_gaps(&during);
    assert!(
        gaps.iter().all(|g| *g >= ms(75) && *g <= ms(100)),
        "{gaps:?}"
    );
    assert!(sim.both_up(a, b));
    // B already waits for the slower rate A announced.
    let ib = sim.nodes[1].bfd.session(b, sim.now).unwrap();
    assert_eq!(ib.detection_time_us, Some(900_000));

    sim.lose = None;
    let healed = sim.now;
    sim.run_for(ms(2_000));
    let after = sim.sent_by(0, healed + ms(150));
    assert!(after.iter().all(|s| !s.packet.poll));
    let gaps = periodic_gaps(&after);
    assert!(
        gaps.iter().all(|g| *g >= ms(225) && *g <= ms(300)),
        "{gaps:?}"
    );
}

#[test]
fn a_shorter_rx_keeps_the_old_detection_time_until_the_final() {
    // A is the slow side: B sends every 300 ms because A requires it.
    let (mut sim, a, b) = Sim::pair(config(300, 3), config(50, 3));
    sim.settle(a, b);
    let before = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert_eq!(before.detection_time_us, Some(900_000));
    let now = sim.now;
    sim.nodes[0].bfd.set_config(now, a, config(50, 3)).unwrap();
    let ia = sim.nodes[0].bfd.session(a, now).unwrap();
    assert!(ia.polling);
    // B may keep sending every 300 ms until it has read the Poll: our
    // wait stays 3 x 300 ms until the Final.
    assert_eq!(ia.detection_time_us, Some(900_000), "until the Final");
    // Our shorter TX applies at once (B accepts 50 ms).
    assert_eq!(ia.tx_interval_us, Some(50_000));
    sim.flush();
    sim.run_for(ms(1_000));
    let ia = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert!(!ia.polling);
    assert_eq!(ia.detection_time_us, Some(150_000));
    let gaps = periodic_gaps(&sim.sent_by(1, sim.now - ms(300)));
    assert!(
        gaps.iter().all(|g| *g >= ms(37) && *g <= ms(50)),
        "B: {gaps:?}"
    );
    assert!(sim.both_up(a, b));
}

#[test]
fn the_multiplier_changes_without_a_poll() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    let at = sim.now;
    sim.nodes[0].bfd.set_config(at, a, config(100, 5)).unwrap();
    sim.run_for(ms(500));
    let sent = sim.sent_by(0, at);
    assert!(sent
        .iter()
        .all(|s| s.packet.detect_mult == 5 && !s.packet.poll));
    let ib = sim.nodes[1].bfd.session(b, sim.now).unwrap();
    assert_eq!(ib.detection_time_us, Some(500_000));
}

#[test]
fn a_change_during_a_poll_waits_for_its_final() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    let now = sim.now;
    sim.nodes[0].bfd.set_config(now, a, config(200, 3)).unwrap();
    // Before the first Poll even left, another reload.
    sim.nodes[0].bfd.set_config(now, a, config(400, 3)).unwrap();
    sim.run_for(ms(3_000));
    // Two sequences: 200 ms first (what the first Poll carried), then
    // 400 ms; each Poll answered.
    let polls: Vec<u32> = sim
        .sent_by(0, now)
        .iter()
        .filter(|s| s.packet.poll)
        .map(|s| s.packet.desired_min_tx_us)
        .collect();
    assert_eq!(polls.first(), Some(&200_000));
    assert_eq!(polls.last(), Some(&400_000));
    let ia = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert!(!ia.polling);
    assert_eq!(ia.tx_interval_us, Some(400_000));
    assert_eq!(
        sim.nodes[1]
            .bfd
            .session(b, sim.now)
            .unwrap()
            .detection_time_us,
        Some(1_200_000)
    );
}
