//! The session state machine (RFC 5880 6.2, 6.8.4, 6.8.6, 6.8.16).
//!
//! `transition` is the RFC's reception procedure and its timer and
//! administrative rules as one `match (state, event)`; the session carries
//! out the result (timers, events, the packet that announces it).

use crate::wire::{Diag, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsmEvent {
    /// A valid packet for the session, with this State field.
    Received(State),
    /// A Detection Time passed without a valid packet (6.8.4).
    DetectionExpired,
    /// Signalled from outside BFD: hold the session down (6.8.16).
    AdminDown,
    /// Signalled from outside BFD: leave AdminDown (6.8.16).
    AdminUp,
}

/// A state change: the new state, and the diagnostic to set (`None`: keep
/// bfd.LocalDiag as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub next: State,
    pub diag: Option<Diag>,
}

const fn to(next: State, diag: Option<Diag>) -> Option<Step> {
    Some(Step { next, diag })
}

/// `None`: no state change. Every pair is listed, so a new state or event
/// does not compile until the table says what it does.
pub fn transition(state: State, event: FsmEvent) -> Option<Step> {
    use FsmEvent as E;
    use State as S;
    let cleared = Some(Diag::None);
    match (state, event) {
        // 6.8.16, disabling: "Set bfd.SessionState to AdminDown, Set
        // bfd.LocalDiag to an appropriate value" (7, Administratively Down).
        (S::AdminDown, E::AdminDown) => None,
        (S::Down | S::Init | S::Up, E::AdminDown) => {
            to(S::AdminDown, Some(Diag::AdministrativelyDown))
        }
        // 6.8.16, enabling: "Set bfd.SessionState to Down." The diag stays
        // 7 until the session comes Up: it still says why.
        (S::AdminDown, E::AdminUp) => to(S::Down, None),
        (S::Down | S::Init | S::Up, E::AdminUp) => None,

        // 6.8.6: "If bfd.SessionState is AdminDown: Discard the packet."
        (S::AdminDown, E::Received(_)) => None,
        // "If received state is AdminDown: If bfd.SessionState is not
        // Down: Set bfd.LocalDiag to 3 (Neighbor signaled session down),
        // Set bfd.SessionState to Down."
        (S::Down, E::Received(S::AdminDown)) => None,
        (S::Init | S::Up, E::Received(S::AdminDown)) => {
            to(S::Down, Some(Diag::NeighborSignaledDown))
        }
        // "If bfd.SessionState is Down: If received State is Down, Set
        // bfd.SessionState to Init; Else if received State is Init, Set
        // bfd.SessionState to Up." A peer still Up must first see us Down
        // (it will time out or go Down on our Down packets).
        (S::Down, E::Received(S::Down)) => to(S::Init, None),
        (S::Down, E::Received(S::Init)) => to(S::Up, cleared),
        (S::Down, E::Received(S::Up)) => None,
        // "Else if bfd.SessionState is Init: If received State is Init or
        // Up, Set bfd.SessionState to Up."
        (S::Init, E::Received(S::Init | S::Up)) => to(S::Up, cleared),
        (S::Init, E::Received(S::Down)) => None,
        // "Else (bfd.SessionState is Up): If received State is Down, Set
        // bfd.LocalDiag to 3 (Neighbor signaled session down), Set
        // bfd.SessionState to Down."
        (S::Up, E::Received(S::Down)) => to(S::Down, Some(Diag::NeighborSignaledDown)),
        (S::Up, E::Received(S::Init | S::Up)) => None,

        // 6.8.4: "If Demand mode is not active, and a period of time equal
        // to the Detection Time passes without receiving a BFD Control
        // packet from the remote system, and bfd.SessionState is Init or
        // Up, the session has gone down -- the local system MUST set
        // bfd.SessionState to Down and bfd.LocalDiag to 1 (Control
        // Detection Time Expired)." In Down only bfd.RemoteDiscr is
        // forgotten (6.8.1), which is no change of state; AdminDown runs
        // no detection.
        (S::Init | S::Up, E::DetectionExpired) => to(S::Down, Some(Diag::ControlDetectionExpired)),
        (S::Down | S::AdminDown, E::DetectionExpired) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [State; 4] = [State::AdminDown, State::Down, State::Init, State::Up];

    fn events() -> Vec<FsmEvent> {
        let mut e: Vec<FsmEvent> = STATES.iter().map(|s| FsmEvent::Received(*s)).collect();
        e.extend([
            FsmEvent::DetectionExpired,
            FsmEvent::AdminDown,
            FsmEvent::AdminUp,
        ]);
        e
    }

    /// Every (state, event) pair, written as the RFC's prose reads, one
    /// row a state: what each event leads to ("-": no change).
    #[test]
    fn every_pair_of_the_table() {
        // columns: rx AdminDown, rx Down, rx Init, rx Up, expired, admin down, admin up
        let expected: [(State, [&str; 7]); 4] = [
            (State::AdminDown, ["-", "-", "-", "-", "-", "-", "Down"]),
            (
                State::Down,
                ["-", "Init", "Up/0", "-", "-", "AdminDown/7", "-"],
            ),
            (
                State::Init,
                ["Down/3", "-", "Up/0", "Up/0", "Down/1", "AdminDown/7", "-"],
            ),
            (
                State::Up,
                ["Down/3", "Down/3", "-", "-", "Down/1", "AdminDown/7", "-"],
            ),
        ];
        for (state, row) in expected {
            for (event, want) in events().into_iter().zip(row) {
                let got = match transition(state, event) {
                    None => "-".to_string(),
                    Some(Step { next, diag: None }) => next.name().to_string(),
                    Some(Step {
                        next,
                        diag: Some(d),
                    }) => format!("{}/{}", next.name(), d.code()),
                };
                assert_eq!(got, want, "{state:?} on {event:?}");
            }
        }
    }

    #[test]
    fn the_three_way_handshake_reaches_up_from_either_side() {
        // The side that hears Down first goes Init, the other hears Init.
        let a = transition(State::Down, FsmEvent::Received(State::Down)).unwrap();
        assert_eq!(a.next, State::Init);
        let b = transition(State::Down, FsmEvent::Received(State::Init)).unwrap();
        assert_eq!(b.next, State::Up);
        let a = transition(a.next, FsmEvent::Received(b.next)).unwrap();
        assert_eq!(a.next, State::Up);
    }
}
