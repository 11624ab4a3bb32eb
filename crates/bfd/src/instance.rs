//! The BFD instance: its sessions, the demultiplexing of received packets
//! (RFC 5880 6.8.6, RFC 5881), and the Sans-IO surface the driver uses:
//! commands and `handle_*` in, `poll_*` out.

use crate::config::SessionConfig;
use crate::event::Event;
use crate::fsm::FsmEvent;
use crate::rng::Rng;
use crate::session::{source_port, Ctx, Session, SessionId};
use crate::stats::{Counters, DropReason};
use crate::timers::{Timer, Timers};
use crate::wire::ControlPacket;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

/// RFC 5881 section 4: single-hop Control packets go to this UDP port.
pub const CONTROL_PORT: u16 = 3784;
/// RFC 5881 section 5: sent with this TTL, and only this TTL accepted, so
/// a packet from beyond the link cannot reach a session.
pub const TTL: u8 = 255;

/// A datagram for the driver to send from `from`:`src_port` with TTL 255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub id: SessionId,
    pub from: Ipv4Addr,
    pub src_port: u16,
    pub to: SocketAddrV4,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("a BFD session for {peer} exists already (session {id})")]
    PeerExists { peer: Ipv4Addr, id: SessionId },
    #[error("no BFD session {0}")]
    Unknown(SessionId),
}

pub struct Bfd {
    pub(crate) sessions: BTreeMap<SessionId, Session>,
    by_discr: HashMap<u32, SessionId>,
    by_peer: HashMap<Ipv4Addr, SessionId>,
    next_id: u32,
    timers: Timers,
    rng: Rng,
    events: VecDeque<Event>,
    pub(crate) counters: Counters,
}

impl Bfd {
    /// `seed` drives our discriminators and the jitter: give the driver's
    /// a fresh random value (so a restarted speaker does not reuse its
    /// discriminators), and tests a constant.
    pub fn new(seed: u64) -> Bfd {
        Bfd {
            sessions: BTreeMap::new(),
            by_discr: HashMap::new(),
            by_peer: HashMap::new(),
            next_id: 1,
            timers: Timers::default(),
            rng: Rng::new(seed),
            events: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// A session with `peer`, sending from `local` (our address on the
    /// link; `0.0.0.0` accepts packets to any of ours). It starts Down and
    /// sends its first packet at once.
    pub fn add_session(
        &mut self,
        now: Instant,
        peer: Ipv4Addr,
        local: Ipv4Addr,
        config: SessionConfig,
    ) -> Result<SessionId, SessionError> {
        if let Some(&id) = self.by_peer.get(&peer) {
            return Err(SessionError::PeerExists { peer, id });
        }
        let id = SessionId(self.next_id);
        self.next_id += 1;
        let discr = self.fresh_discriminator();
        let mut cx = Ctx {
            now,
            timers: &mut self.timers,
            rng: &mut self.rng,
            events: &mut self.events,
        };
        let session = Session::new(id, peer, local, config, discr, &mut cx);
        self.sessions.insert(id, session);
        self.by_discr.insert(discr, id);
        self.by_peer.insert(peer, id);
        Ok(id)
    }

    /// RFC 5880 6.8.1: bfd.LocalDiscr is nonzero and unique among our
    /// sessions; random, so a restarted speaker's packets do not match the
    /// peer's old session.
    fn fresh_discriminator(&mut self) -> u32 {
        loop {
            let d = self.rng.next_u64() as u32;
            if d != 0 && !self.by_discr.contains_key(&d) {
                return d;
            }
        }
    }

    /// Forgets the session at once, sending nothing: for a neighbor that
    /// is gone. (To tell the peer first, `admin_down` and drain
    /// `poll_transmit`.)
    pub fn remove_session(&mut self, id: SessionId) -> Result<(), SessionError> {
        let s = self.sessions.remove(&id).ok_or(SessionError::Unknown(id))?;
        self.by_discr.remove(&s.local_discr);
        self.by_peer.remove(&s.peer);
        self.timers.clear(Timer::Tx(id));
        self.timers.clear(Timer::Detect(id));
        Ok(())
    }

    /// A reload: the multiplier applies from the next packet, the interval
    /// through a Poll Sequence (in Up, in force after the peer's Final).
    pub fn set_config(
        &mut self,
        now: Instant,
        id: SessionId,
        config: SessionConfig,
    ) -> Result<(), SessionError> {
        self.with_session(now, id, |s, cx| s.set_config(config, cx))
    }

    /// Puts the session in AdminDown (diag 7) and tells the peer at once;
    /// for when the speaker stops, never to drain traffic (RFC 5882).
    pub fn admin_down(&mut self, now: Instant, id: SessionId) -> Result<(), SessionError> {
        self.with_session(now, id, |s, cx| s.admin(FsmEvent::AdminDown, cx))
    }

    /// Takes the session out of AdminDown: it starts again from Down.
    pub fn admin_up(&mut self, now: Instant, id: SessionId) -> Result<(), SessionError> {
        self.with_session(now, id, |s, cx| s.admin(FsmEvent::AdminUp, cx))
    }

    fn with_session(
        &mut self,
        now: Instant,
        id: SessionId,
        f: impl FnOnce(&mut Session, &mut Ctx<'_>),
    ) -> Result<(), SessionError> {
        let s = self
            .sessions
            .get_mut(&id)
            .ok_or(SessionError::Unknown(id))?;
        let mut cx = Ctx {
            now,
            timers: &mut self.timers,
            rng: &mut self.rng,
            events: &mut self.events,
        };
        f(s, &mut cx);
        Ok(())
    }

    /// A UDP datagram received on port 3784 from `from` to `to`, with the
    /// IP TTL it arrived with. Anything not accepted is counted by reason,
    /// also on the session the source address names, if any.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: Ipv4Addr,
        to: Ipv4Addr,
        ttl: u8,
        bytes: &[u8],
    ) {
        self.counters.received += 1;
        let by_source = self.by_peer.get(&from).copied();
        if ttl != TTL {
            return self.drop(DropReason::Ttl, by_source);
        }
        let p = match ControlPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => return self.drop(e.reason(), by_source),
        };
        // 6.8.6: "If the Your Discriminator field is nonzero, it MUST be
        // used to select the session"; if zero, RFC 5881 leaves it to us:
        // the source address, one session per peer.
        let id = match p.your_discr {
            0 => by_source,
            d => self.by_discr.get(&d).copied(),
        };
        let Some(id) = id else {
            // Still shown on the source's session: a peer holding a stale
            // discriminator of ours is worth seeing there.
            return self.drop(DropReason::UnknownSession, by_source);
        };
        let s = self.sessions.get_mut(&id).expect("indexed sessions exist");
        if s.peer != from || !(s.local.is_unspecified() || s.local == to) {
            return self.drop(DropReason::AddressMismatch, by_source);
        }
        let mut cx = Ctx {
            now,
            timers: &mut self.timers,
            rng: &mut self.rng,
            events: &mut self.events,
        };
        match s.receive(&p, &mut cx) {
            Ok(()) => s.counters.received += 1,
            Err(reason) => self.drop(reason, Some(id)),
        }
    }

    fn drop(&mut self, reason: DropReason, session: Option<SessionId>) {
        self.counters.dropped.add(reason);
        if let Some(s) = session.and_then(|id| self.sessions.get_mut(&id)) {
            s.counters.dropped.add(reason);
        }
    }

    /// Runs the timers due at `now`: periodic transmissions become ready
    /// for `poll_transmit`, expired Detection Times take sessions down.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_due(now) {
            let mut cx = Ctx {
                now,
                timers: &mut self.timers,
                rng: &mut self.rng,
                events: &mut self.events,
            };
            match timer {
                Timer::Tx(id) => {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        s.tx_due = true;
                    }
                }
                Timer::Detect(id) => {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        s.detection_expired(&mut cx);
                    }
                }
            }
        }
    }

    /// The next datagram to send; call until `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let mut cx = Ctx {
            now,
            timers: &mut self.timers,
            rng: &mut self.rng,
            events: &mut self.events,
        };
        for s in self.sessions.values_mut() {
            if let Some(p) = s.next_packet(&mut cx) {
                s.counters.sent += 1;
                self.counters.sent += 1;
                return Some(Transmit {
                    id: s.id,
                    from: s.local,
                    src_port: source_port(s.id),
                    to: SocketAddrV4::new(s.peer, CONTROL_PORT),
                    bytes: p.to_bytes(),
                });
            }
        }
        None
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call `handle_timeout` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The instance's counters (every datagram handed in, every drop).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The session for `peer`, if any.
    pub fn session_for(&self, peer: Ipv4Addr) -> Option<SessionId> {
        self.by_peer.get(&peer).copied()
    }
}
