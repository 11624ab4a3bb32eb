//! One BFD session: the state variables of RFC 5880 6.8.1 for one peer,
//! what a received packet does to them (6.8.6), the Poll Sequence that
//! changes intervals (6.5, 6.8.3), and what the next packet carries
//! (6.8.7). The state machine itself is [`crate::fsm`]; the arithmetic is
//! [`crate::intervals`].

use crate::config::SessionConfig;
use crate::event::Event;
use crate::fsm::{transition, FsmEvent, Step};
use crate::intervals::{detection_time, jittered, tx_interval, Intervals};
use crate::rng::Rng;
use crate::stats::{Counters, DropReason};
use crate::timers::{Timer, Timers};
use crate::wire::{ControlPacket, Diag, State};
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// A session's handle: stable for its life, never reused by an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SessionId(pub u32);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// RFC 5881 section 4: the source port is in 49152-65535 and the same for
/// the whole session. Derived from the id: distinct for 16384 sessions in
/// a row, and the same after a reload as long as the id is.
pub fn source_port(id: SessionId) -> u16 {
    49152 + (id.0 % 16384) as u16
}

/// What a session method needs of the instance.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub timers: &'a mut Timers,
    pub rng: &'a mut Rng,
    pub events: &'a mut VecDeque<Event>,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub id: SessionId,
    pub peer: Ipv4Addr,
    pub local: Ipv4Addr,
    pub config: SessionConfig,
    pub state: State,
    /// bfd.LocalDiag: what our packets carry.
    pub local_diag: Diag,
    /// The diagnostic of the last time the session left Up (or Init), kept
    /// for the operator after LocalDiag is cleared at Up.
    pub last_down_diag: Diag,
    pub local_discr: u32,
    /// bfd.RemoteDiscr: 0 until heard, and again after a Detection Time
    /// of silence.
    pub remote_discr: u32,
    pub remote_state: State,
    pub remote_diag: Diag,
    pub remote_mult: u8,
    /// bfd.RemoteMinRxInterval: 1 µs until heard (6.8.1), so we send.
    pub remote_min_rx: Duration,
    pub remote_desired_min_tx: Duration,
    /// What our packets advertise.
    pub sent: Intervals,
    /// What is in force here: our TX rate and our Detection Time. Differs
    /// from `sent` only while a Poll Sequence runs in Up, and then only
    /// on the side that is safe for both ends.
    pub active: Intervals,
    /// A Poll Sequence runs: our periodic packets carry P until a Final.
    pub polling: bool,
    /// A Poll was received: answer at once with F.
    pub final_due: bool,
    /// Send at once rather than at the next periodic slot: the first
    /// packet of a session, and AdminDown when the speaker stops (it may
    /// not wait a second). Nothing else leaves out of cadence but a Final:
    /// 6.8.7 forbids it, and 6.5 puts the P bit of a Poll Sequence "on
    /// those scheduled periodic transmissions".
    pub announce: bool,
    /// The periodic timer fired.
    pub tx_due: bool,
    pub last_rx: Option<Instant>,
    pub up_since: Option<Instant>,
    pub counters: Counters,
}

impl Session {
    pub fn new(
        id: SessionId,
        peer: Ipv4Addr,
        local: Ipv4Addr,
        config: SessionConfig,
        local_discr: u32,
        cx: &mut Ctx<'_>,
    ) -> Session {
        let intervals = Intervals::target(&config, State::Down);
        let s = Session {
            id,
            peer,
            local,
            config,
            state: State::Down,
            local_diag: Diag::None,
            last_down_diag: Diag::None,
            local_discr,
            remote_discr: 0,
            remote_state: State::Down,
            remote_diag: Diag::None,
            remote_mult: 0,
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            sent: intervals,
            active: intervals,
            polling: false,
            final_due: false,
            announce: true,
            tx_due: false,
            last_rx: None,
            up_since: None,
            counters: Counters::default(),
        };
        s.rearm_tx(cx);
        s
    }

    /// RFC 5880 6.8.6 from "If the A bit is set" on: the packet passed the
    /// wire checks and was demultiplexed to this session.
    pub fn receive(&mut self, p: &ControlPacket, cx: &mut Ctx<'_>) -> Result<(), DropReason> {
        // Discarded before anything is learnt from it: nothing learnt in
        // AdminDown is used, and leaving AdminDown starts afresh.
        if self.state == State::AdminDown {
            return Err(DropReason::AdminDown);
        }
        let tx_before = self.tx_interval();
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_diag = p.diag;
        self.remote_mult = p.detect_mult;
        self.remote_min_rx = Duration::from_micros(p.required_min_rx_us.into());
        self.remote_desired_min_tx = Duration::from_micros(p.desired_min_tx_us.into());
        // "If a Poll Sequence is being transmitted by the local system and
        // the Final (F) bit in the received packet is set, the Poll
        // Sequence MUST be terminated": what it advertised is now in force.
        if self.polling && p.fin {
            self.polling = false;
            self.active = self.sent;
        }
        // "If the packet was not discarded, it has been received for
        // purposes of the Detection Time expiration rules": restart the
        // wait from now.
        self.last_rx = Some(cx.now);
        self.rearm_detect(cx);
        if self.tx_interval() != tx_before {
            self.rearm_tx(cx);
        }
        if let Some(step) = transition(self.state, FsmEvent::Received(p.state)) {
            self.apply(step, cx);
        }
        // 6.8.7: a Poll is answered "as soon as practicable, without
        // respect to the transmission timer".
        if p.poll {
            self.final_due = true;
        }
        self.renegotiate(cx);
        Ok(())
    }

    /// The Detection Time passed without a valid packet.
    pub fn detection_expired(&mut self, cx: &mut Ctx<'_>) {
        // 6.8.1: bfd.RemoteDiscr "MUST be set to zero" after a Detection
        // Time of silence; the peer will be found by address again.
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.last_rx = None;
        if let Some(step) = transition(self.state, FsmEvent::DetectionExpired) {
            self.apply(step, cx);
        }
        self.renegotiate(cx);
    }

    pub fn admin(&mut self, event: FsmEvent, cx: &mut Ctx<'_>) {
        if let Some(step) = transition(self.state, event) {
            self.announce = step.next == State::AdminDown;
            self.apply(step, cx);
            self.renegotiate(cx);
        }
    }

    /// A new config (reload): the multiplier is sent from the next packet
    /// (6.8.12 needs no Poll for it), the interval through a Poll Sequence.
    pub fn set_config(&mut self, config: SessionConfig, cx: &mut Ctx<'_>) {
        self.config = config;
        self.renegotiate(cx);
    }

    fn apply(&mut self, step: Step, cx: &mut Ctx<'_>) {
        let from = self.state;
        self.state = step.next;
        if let Some(d) = step.diag {
            self.local_diag = d;
        }
        let (id, peer, diag) = (self.id, self.peer, self.local_diag);
        cx.events.push_back(Event::StateChanged {
            id,
            peer,
            from,
            to: step.next,
            diag,
        });
        match (from, step.next) {
            (_, State::Up) => {
                self.up_since = Some(cx.now);
                cx.events.push_back(Event::SessionUp { id, peer });
            }
            (State::Up, _) => {
                self.up_since = None;
                self.last_down_diag = diag;
                let event = match (diag, self.remote_state) {
                    (Diag::NeighborSignaledDown, State::AdminDown) => {
                        Some(Event::PeerAdminDown { id, peer })
                    }
                    // We were asked to (admin_down): the client knows.
                    (Diag::AdministrativelyDown, _) => None,
                    _ => Some(Event::SessionDown { id, peer, diag }),
                };
                cx.events.extend(event);
            }
            (_, State::Down | State::AdminDown) => self.last_down_diag = diag,
            _ => {}
        }
        if step.next == State::AdminDown {
            self.stop_detect(cx);
        }
    }

    /// AdminDown runs no detection: there is nothing left to declare down.
    /// Its packets keep going (6.8.16: "for at least a Detection Time",
    /// and "MAY be transmitted indefinitely").
    fn stop_detect(&mut self, cx: &mut Ctx<'_>) {
        cx.timers.clear(Timer::Detect(self.id));
    }

    /// Starts a Poll Sequence if what we should advertise differs from what
    /// we do (6.8.3: "If either bfd.DesiredMinTxInterval is changed or
    /// bfd.RequiredMinRxInterval is changed, a Poll Sequence MUST be
    /// initiated").
    fn renegotiate(&mut self, cx: &mut Ctx<'_>) {
        let target = Intervals::target(&self.config, self.state);
        // In Up one sequence at a time: its Final must answer the values
        // we put in force. Outside Up the values apply at once, so a
        // running sequence can simply carry the newer ones.
        if target == self.sent || (self.polling && self.state == State::Up) {
            return;
        }
        let before = self.active;
        self.sent = target;
        self.polling = true;
        if self.state == State::Up {
            // In Up what is safe applies now, the rest at the Final. 6.8.3:
            // a longer TX interval "MUST NOT change until the Poll Sequence
            // ... has terminated" (the peer lengthens its Detection Time
            // first); a shorter one applies at once, since the peer
            // shortens its Detection Time as soon as it reads it (even from
            // a Final we send before our Poll). A shorter RX requirement
            // keeps the old one for our Detection Time until the Final; a
            // longer one applies at once (we only wait longer).
            self.active = Intervals {
                desired_min_tx: before.desired_min_tx.min(target.desired_min_tx),
                required_min_rx: before.required_min_rx.max(target.required_min_rx),
            };
        } else {
            self.active = target;
        }
        if self.active != before {
            self.rearm_detect(cx);
            self.rearm_tx(cx);
        }
    }

    /// The negotiated TX interval, `None` while the peer asks for nothing.
    pub fn tx_interval(&self) -> Option<Duration> {
        tx_interval(self.active.desired_min_tx, self.remote_min_rx)
    }

    /// Our Detection Time, once the peer was heard.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_mult != 0).then(|| {
            detection_time(
                self.remote_mult,
                self.active.required_min_rx,
                self.remote_desired_min_tx,
            )
        })
    }

    fn rearm_detect(&self, cx: &mut Ctx<'_>) {
        if let (Some(last), Some(d), false) = (
            self.last_rx,
            self.detection_time(),
            self.state == State::AdminDown,
        ) {
            cx.timers.set(Timer::Detect(self.id), last + d);
        }
    }

    /// Sets the periodic timer for the interval now in force: never later
    /// than one jittered interval from now, so a shorter interval applies
    /// at once; no timer while the peer's required RX is 0.
    fn rearm_tx(&self, cx: &mut Ctx<'_>) {
        let timer = Timer::Tx(self.id);
        match self.tx_interval() {
            None => cx.timers.clear(timer),
            Some(iv) => {
                let at = cx.now + jittered(iv, self.config.multiplier(), cx.rng);
                if cx.timers.get(timer).is_none_or(|t| t > at) {
                    cx.timers.set(timer, at);
                }
            }
        }
    }

    /// The next packet this session sends at `now`, if any: a Final first
    /// (it cannot carry P: 6.5, "A BFD Control packet MUST NOT have both
    /// the Poll (P) and Final (F) bits set"), then an announcement or the
    /// periodic packet, which carries P during a Poll Sequence.
    pub fn next_packet(&mut self, cx: &mut Ctx<'_>) -> Option<ControlPacket> {
        if self.final_due {
            self.final_due = false;
            return Some(self.packet(false, true));
        }
        if !(self.announce || self.tx_due) {
            return None;
        }
        self.announce = false;
        self.tx_due = false;
        // 6.8.7: nothing periodic while the peer's required RX is 0.
        self.tx_interval()?;
        cx.timers.clear(Timer::Tx(self.id));
        self.rearm_tx(cx);
        Some(self.packet(self.polling, false))
    }

    fn packet(&self, poll: bool, fin: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll,
            fin,
            cpi: false,
            demand: false,
            detect_mult: self.config.multiplier(),
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx_us: micros(self.sent.desired_min_tx),
            required_min_rx_us: micros(self.sent.required_min_rx),
            // No Echo function.
            required_min_echo_rx_us: 0,
        }
    }
}

/// Config bounds keep every interval far below u32::MAX µs (71 minutes).
fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}
