//! A peer that stops sending is declared down exactly one Detection Time
//! after its last packet arrived, not before, with diag 1; the session
//! comes back when the path does.

mod sim;

use sim::{config, ms, Sim};
use xlvs_bfd::{Diag, Event, State};

#[test]
fn silent_peer_goes_down_after_the_detection_time_and_not_before() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    sim.run_for(ms(1_000));
    let muted_at = sim.now;
    sim.nodes[1].muted = true;
    sim.run_for(ms(1_000));

    let last_arrival = sim.last_arrival(1);
    assert!(last_arrival <= muted_at + sim.latency);
    let downs: Vec<_> = sim
        .events_of(0)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::SessionDown { .. }))
        .collect();
    assert_eq!(downs.len(), 1, "{downs:?}");
    let (down_at, event) = downs[0];
    // Detection time: B's multiplier 3 x max(our required RX 100 ms, B's
    // desired TX 100 ms).
    assert_eq!(down_at, last_arrival + ms(300));
    assert_eq!(
        event,
        Event::SessionDown {
            id: a,
            peer: sim.nodes[1].addr,
            diag: Diag::ControlDetectionExpired
        }
    );
    let info = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert_eq!(info.state, State::Down);
    assert_eq!(info.local_diag, Diag::ControlDetectionExpired);
    assert_eq!(info.last_diag, Diag::ControlDetectionExpired);
    assert_eq!(
        info.remote_discriminator, 0,
        "forgotten after a Detection Time"
    );
    assert_eq!(info.up_for_ms, None);
    // Back to the slow rate once down.
    assert_eq!(info.desired_min_tx_us, 1_000_000);
}

#[test]
fn still_up_one_microsecond_before_the_deadline() {
    let (mut sim, a, b) = Sim::pair(config(50, 4), config(50, 4));
    sim.settle(a, b);
    sim.nodes[1].muted = true;
    // Find the last delivered packet of B, then stop just short of its
    // arrival plus 4 x 50 ms.
    sim.run_for(ms(1));
    let last_arrival = sim.last_arrival(1);
    let deadline = last_arrival + ms(200);
    sim.run_until(deadline - std::time::Duration::from_micros(1));
    assert_eq!(sim.state(0, a), State::Up);
    sim.run_until(deadline);
    assert_eq!(sim.state(0, a), State::Down);
}

#[test]
fn comes_back_when_the_path_does() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    sim.nodes[1].muted = true;
    sim.run_for(ms(2_000));
    // A went Down (diag 1) and says so; B hears A's Down packets and goes
    // Down too, with diag 3, then Init (it hears Down, not Init).
    assert_eq!(sim.state(0, a), State::Down);
    assert_eq!(sim.state(1, b), State::Init);
    let b_down = sim.events_of(1).into_iter().find_map(|(_, e)| match e {
        Event::SessionDown { diag, .. } => Some(diag),
        _ => None,
    });
    assert_eq!(b_down, Some(Diag::NeighborSignaledDown));

    sim.nodes[1].muted = false;
    assert!(sim.run_until_cond(ms(5_000), |s| s.both_up(a, b)));
    sim.settle(a, b);
    let info = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert_eq!(info.local_diag, Diag::None, "cleared at Up");
    assert_eq!(
        info.last_diag,
        Diag::ControlDetectionExpired,
        "kept for the operator"
    );
}
