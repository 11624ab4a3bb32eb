//! A neighbor and its state machine (RFC 2328 section 10).
//!
//! `transition` is the RFC's table as a `match (state, event)`: it decides
//! the next state and the actions, and the instance carries them out.

use crate::wire::{Dbd, LsaHeader, LsaKey};
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NbrState {
    Down,
    Init,
    TwoWay,
    ExStart,
    Exchange,
    Loading,
    Full,
}

impl NbrState {
    pub fn name(self) -> &'static str {
        match self {
            NbrState::Down => "Down",
            NbrState::Init => "Init",
            NbrState::TwoWay => "2-Way",
            NbrState::ExStart => "ExStart",
            NbrState::Exchange => "Exchange",
            NbrState::Loading => "Loading",
            NbrState::Full => "Full",
        }
    }

    /// The state as the OSPF-MIB numbers it (ospfNbrState, RFC 4750):
    /// down 1, attempt 2 (NBMA only, never ours), init 3, twoWay 4,
    /// exchangeStart 5, exchange 6, loading 7, full 8.
    pub fn mib_number(self) -> u8 {
        match self {
            NbrState::Down => 1,
            NbrState::Init => 3,
            NbrState::TwoWay => 4,
            NbrState::ExStart => 5,
            NbrState::Exchange => 6,
            NbrState::Loading => 7,
            NbrState::Full => 8,
        }
    }
}

/// Shown by its name ("2-Way", "Full"), as FRR shows it.
impl serde::Serialize for NbrState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbrEvent {
    HelloReceived,
    /// Our router id is in the neighbor's Hello; `adjacent` says whether an
    /// adjacency should form (section 10.4).
    TwoWayReceived {
        adjacent: bool,
    },
    OneWayReceived,
    NegotiationDone,
    ExchangeDone {
        requests_pending: bool,
    },
    LoadingDone,
    /// Re-check whether to be adjacent after a DR/BDR change.
    AdjOk {
        adjacent: bool,
    },
    SeqNumberMismatch,
    BadLsReq,
    KillNbr,
    InactivityTimer,
}

/// What the instance does on a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbrAction {
    /// (Re)start the inactivity timer.
    StartInactivity,
    /// Enter ExStart: new DD sequence number, claim master, send an empty
    /// DBD with I, M and MS set.
    StartExchange,
    /// Fill the summary list from the database.
    BuildSummary,
    /// Send an LS Request for what the request list holds.
    SendRequests,
    /// Empty the summary, request and retransmission lists.
    ClearLists,
    /// Forget the neighbor.
    Destroy,
}

use NbrAction::*;
use NbrEvent::*;
use NbrState::*;

/// RFC 2328 10.3. `None`: the event does not apply in this state and is
/// ignored.
pub fn transition(state: NbrState, event: NbrEvent) -> Option<(NbrState, &'static [NbrAction])> {
    Some(match (state, event) {
        // "State: Down, Event: HelloReceived, New state: Init. Start the
        // Inactivity Timer for the neighbor."
        (Down, HelloReceived) => (Init, &[StartInactivity]),
        // "State(s): Any state except Down, Event: HelloReceived, New state:
        // No state change. Restart the Inactivity Timer."
        (s, HelloReceived) => (s, &[StartInactivity]),
        // "State: Init, Event: 2-WayReceived, New state: Depends upon action
        // routine. Determine whether an adjacency should be established..."
        (Init, TwoWayReceived { adjacent: true }) => (ExStart, &[StartExchange]),
        (Init, TwoWayReceived { adjacent: false }) => (TwoWay, &[]),
        // "State(s): 2-Way or greater, Event: 2-WayReceived: No state change."
        (s, TwoWayReceived { .. }) if s >= TwoWay => (s, &[]),
        // "State: ExStart, Event: NegotiationDone, New state: Exchange. The
        // router must list the contents of its entire area link state
        // database in the neighbor Database summary list."
        (ExStart, NegotiationDone) => (Exchange, &[BuildSummary]),
        // "State: Exchange, Event: ExchangeDone, New state: Depends upon
        // action routine. If the neighbor Link state request list is empty,
        // the new neighbor state is Full... Otherwise the new state is
        // Loading."
        (
            Exchange,
            ExchangeDone {
                requests_pending: false,
            },
        ) => (Full, &[]),
        (
            Exchange,
            ExchangeDone {
                requests_pending: true,
            },
        ) => (Loading, &[SendRequests]),
        // "State: Loading, Event: Loading Done, New state: Full."
        (Loading, LoadingDone) => (Full, &[]),
        // "State: 2-Way, Event: AdjOK?, New state: Depends upon action
        // routine. Determine whether an adjacency should be formed..."
        (TwoWay, AdjOk { adjacent: true }) => (ExStart, &[StartExchange]),
        (TwoWay, AdjOk { adjacent: false }) => (TwoWay, &[]),
        // "State(s): ExStart or greater, Event: AdjOK?: Determine whether the
        // neighboring router should still be adjacent. If yes, there is no
        // state change... Otherwise... new state is 2-Way."
        (s, AdjOk { adjacent: true }) if s >= ExStart => (s, &[]),
        (s, AdjOk { adjacent: false }) if s >= ExStart => (TwoWay, &[ClearLists]),
        // "State(s): Exchange or greater, Event: SeqNumberMismatch / BadLSReq,
        // New state: ExStart. The (possibly partially formed) adjacency is
        // torn down, and then an attempt is made at reestablishment."
        (s, SeqNumberMismatch | BadLsReq) if s >= Exchange => {
            (ExStart, &[ClearLists, StartExchange])
        }
        // "State(s): Any state, Event: KillNbr / LLDown / InactivityTimer,
        // New state: Down. The Link state retransmission list, Database
        // summary list and Link state request list are cleared."
        (_, KillNbr | InactivityTimer) => (Down, &[ClearLists, Destroy]),
        // "State(s): 2-Way or greater, Event: 1-WayReceived, New state: Init.
        // The Link state retransmission list, Database summary list and
        // Link state request list are cleared of LSAs."
        (s, OneWayReceived) if s >= TwoWay => (Init, &[ClearLists]),
        // "State(s): Init, Event: 1-WayReceived: No state change."
        (Init, OneWayReceived) => (Init, &[]),
        _ => return None,
    })
}

/// The last DBD we received, to spot duplicates (RFC 2328 10.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbdSeen {
    pub init: bool,
    pub more: bool,
    pub master: bool,
    pub options: u8,
    pub seq: u32,
}

#[derive(Debug)]
pub struct Neighbor {
    pub router_id: Ipv4Addr,
    /// The neighbor's interface address (source of its packets).
    pub addr: Ipv4Addr,
    pub priority: u8,
    pub options: u8,
    /// DR and BDR as the neighbor declares them in its Hellos.
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub state: NbrState,
    pub inactivity_due: Instant,
    pub up_since: Instant,

    // Database exchange (10.6-10.8).
    /// We are master of the exchange.
    pub master: bool,
    pub dd_seq: u32,
    pub last_rx_dbd: Option<DbdSeen>,
    /// Our last DBD, resent by the master on timeout and by the slave on a
    /// duplicate. Kept as a packet body, not bytes: each resend is emitted
    /// anew, with the MD5 sequence number of its own moment (D.3).
    pub last_tx_dbd: Option<Dbd>,
    pub dbd_rxmt_due: Option<Instant>,
    /// The slave has sent its last DBD (M clear).
    pub sent_all: bool,
    pub summary: VecDeque<LsaHeader>,
    pub requests: BTreeMap<LsaKey, LsaHeader>,
    pub lsr_rxmt_due: Option<Instant>,
    /// LSAs flooded to this neighbor and not yet acknowledged.
    pub retransmit: BTreeMap<LsaKey, LsaHeader>,
    pub lsu_rxmt_due: Option<Instant>,
    /// Highest MD5 sequence number seen (RFC 2328 D.5.2: never goes back).
    pub crypto_seq: Option<u32>,
}

impl Neighbor {
    pub fn new(router_id: Ipv4Addr, addr: Ipv4Addr, now: Instant) -> Neighbor {
        Neighbor {
            router_id,
            addr,
            priority: 0,
            options: 0,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            state: Down,
            inactivity_due: now,
            up_since: now,
            master: false,
            dd_seq: 0,
            last_rx_dbd: None,
            last_tx_dbd: None,
            dbd_rxmt_due: None,
            sent_all: false,
            summary: VecDeque::new(),
            requests: BTreeMap::new(),
            lsr_rxmt_due: None,
            retransmit: BTreeMap::new(),
            lsu_rxmt_due: None,
            crypto_seq: None,
        }
    }

    pub fn clear_lists(&mut self) {
        self.summary.clear();
        self.requests.clear();
        self.retransmit.clear();
        self.lsr_rxmt_due = None;
        self.lsu_rxmt_due = None;
    }

    /// The earliest time something is due for this neighbor.
    pub fn next_due(&self) -> Option<Instant> {
        [
            Some(self.inactivity_due),
            self.dbd_rxmt_due,
            self.lsr_rxmt_due,
            self.lsu_rxmt_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs events from Down and returns the states visited.
    fn run(events: &[NbrEvent]) -> Vec<NbrState> {
        let mut s = Down;
        let mut seen = vec![];
        for &e in events {
            if let Some((next, _)) = transition(s, e) {
                s = next;
            }
            seen.push(s);
        }
        seen
    }

    #[test]
    fn adjacency_forms_through_every_state() {
        let states = run(&[
            HelloReceived,
            TwoWayReceived { adjacent: true },
            NegotiationDone,
            ExchangeDone {
                requests_pending: true,
            },
            LoadingDone,
        ]);
        assert_eq!(states, [Init, ExStart, Exchange, Loading, Full]);
    }

    #[test]
    fn a_drother_pair_stops_at_two_way_until_adjacency_is_ok() {
        let states = run(&[
            HelloReceived,
            TwoWayReceived { adjacent: false },
            AdjOk { adjacent: false },
            AdjOk { adjacent: true },
        ]);
        assert_eq!(states, [Init, TwoWay, TwoWay, ExStart]);
    }

    #[test]
    fn mismatch_restarts_the_exchange_and_one_way_drops_to_init() {
        let s = run(&[
            HelloReceived,
            TwoWayReceived { adjacent: true },
            NegotiationDone,
            SeqNumberMismatch,
        ]);
        assert_eq!(*s.last().unwrap(), ExStart);
        let (_, actions) = transition(Full, BadLsReq).unwrap();
        assert_eq!(actions, &[ClearLists, StartExchange]);
        assert_eq!(transition(Full, OneWayReceived).unwrap().0, Init);
        // ExStart ignores a mismatch: there is no exchange to restart
        assert_eq!(transition(ExStart, SeqNumberMismatch), None);
    }

    #[test]
    fn states_are_numbered_as_the_ospf_mib_numbers_them() {
        let all = [Down, Init, TwoWay, ExStart, Exchange, Loading, Full];
        let numbers: Vec<u8> = all.iter().map(|s| s.mib_number()).collect();
        assert_eq!(numbers, [1, 3, 4, 5, 6, 7, 8]);
        assert_eq!(serde_json::to_string(&TwoWay).unwrap(), "\"2-Way\"");
    }

    #[test]
    fn inactivity_kills_from_any_state() {
        for s in [Init, TwoWay, ExStart, Exchange, Loading, Full] {
            assert_eq!(
                transition(s, InactivityTimer).unwrap(),
                (Down, &[ClearLists, Destroy][..])
            );
        }
    }
}
