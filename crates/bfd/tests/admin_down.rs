//! AdminDown: the side that stops says so at once; the other goes Down
//! with diag 3 and an event that lets OSPF leave its neighbor alone
//! (RFC 5882), and stays Down until the session is released.

mod sim;

use sim::{config, ms, Sim};
use xlvs_bfd::{Diag, Event, State};

#[test]
fn peer_admin_down_gives_diag_3_and_no_session_down() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    let at = sim.now;
    sim.nodes[1].bfd.admin_down(at, b).unwrap();
    sim.flush();
    sim.run_for(ms(3_000));

    // B's AdminDown left at once, not at its next periodic slot.
    let first = &sim.sent_by(1, at)[0];
    assert_eq!(first.at, at);
    assert_eq!(first.packet.state, State::AdminDown);
    assert_eq!(first.packet.diag, Diag::AdministrativelyDown);

    let a_events: Vec<Event> = sim
        .events_of(0)
        .into_iter()
        .filter(|(t, _)| *t >= at)
        .map(|(_, e)| e)
        .collect();
    let peer = sim.nodes[1].addr;
    assert_eq!(
        a_events,
        [
            Event::StateChanged {
                id: a,
                peer,
                from: State::Up,
                to: State::Down,
                diag: Diag::NeighborSignaledDown
            },
            Event::PeerAdminDown { id: a, peer },
        ],
        "Down once, and never Init while B is AdminDown"
    );
    let info = sim.nodes[0].bfd.session(a, sim.now).unwrap();
    assert_eq!(
        (info.state, info.remote_state),
        (State::Down, State::AdminDown)
    );
    assert_eq!(info.last_diag, Diag::NeighborSignaledDown);

    // B only logs its own change: the client asked for it.
    let b_events: Vec<Event> = sim
        .events_of(1)
        .into_iter()
        .filter(|(t, _)| *t >= at)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(b_events.len(), 1, "{b_events:?}");
    assert!(matches!(
        b_events[0],
        Event::StateChanged {
            to: State::AdminDown,
            diag: Diag::AdministrativelyDown,
            ..
        }
    ));
    // AdminDown discards what it receives, and never times out.
    let dropped = sim.nodes[1]
        .bfd
        .session(b, sim.now)
        .unwrap()
        .counters
        .dropped;
    assert!(dropped.get(xlvs_bfd::DropReason::AdminDown) > 0);
    assert_eq!(sim.state(1, b), State::AdminDown);
}

#[test]
fn released_session_comes_up_again() {
    let (mut sim, a, b) = Sim::pair(config(100, 3), config(100, 3));
    sim.settle(a, b);
    let now = sim.now;
    sim.nodes[1].bfd.admin_down(now, b).unwrap();
    sim.run_for(ms(2_000));
    let now = sim.now;
    sim.nodes[1].bfd.admin_up(now, b).unwrap();
    assert_eq!(sim.state(1, b), State::Down);
    assert!(sim.run_until_cond(ms(5_000), |s| s.both_up(a, b)));
}

#[test]
fn admin_down_of_an_unknown_session_is_an_error() {
    let (mut sim, _, b) = Sim::pair(config(100, 3), config(100, 3));
    let now = sim.now;
    sim.nodes[1].bfd.remove_session(b).unwrap();
    assert_eq!(
        sim.nodes[1].bfd.admin_down(now, b),
        Err(xlvs_bfd::SessionError::Unknown(b))
    );
}
