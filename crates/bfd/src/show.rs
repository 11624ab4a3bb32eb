//! What `xlvsadm bfd` shows: plain data, serializable to JSON, taken from
//! the instance at a point in time. Intervals in microseconds, the wire's
//! unit, so they compare with the peer's `show bfd peers`.

use crate::instance::Bfd;
use crate::session::{source_port, Session, SessionId};
use crate::stats::Counters;
use crate::wire::{Diag, State};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub id: SessionId,
    pub peer: Ipv4Addr,
    pub local: Ipv4Addr,
    pub src_port: u16,
    pub state: State,
    pub remote_state: State,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    pub multiplier: u8,
    pub remote_multiplier: u8,
    /// What we advertise.
    pub desired_min_tx_us: u64,
    pub required_min_rx_us: u64,
    /// What the peer advertises.
    pub remote_desired_min_tx_us: u64,
    pub remote_required_min_rx_us: u64,
    /// The negotiated interval we send at (before jitter); absent while
    /// the peer asks for no packets.
    pub tx_interval_us: Option<u64>,
    /// How long we wait for the peer; absent until it was heard.
    pub detection_time_us: Option<u64>,
    /// A Poll Sequence of ours awaits its Final.
    pub polling: bool,
    pub up_for_ms: Option<u64>,
    /// What our packets carry now (cleared at Up).
    pub local_diag: Diag,
    /// Why the session last went down.
    pub last_diag: Diag,
    pub remote_diag: Diag,
    pub counters: Counters,
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

impl SessionInfo {
    fn of(s: &Session, now: Instant) -> SessionInfo {
        SessionInfo {
            id: s.id,
            peer: s.peer,
            local: s.local,
            src_port: source_port(s.id),
            state: s.state,
            remote_state: s.remote_state,
            local_discriminator: s.local_discr,
            remote_discriminator: s.remote_discr,
            multiplier: s.config.multiplier(),
            remote_multiplier: s.remote_mult,
            desired_min_tx_us: us(s.sent.desired_min_tx),
            required_min_rx_us: us(s.sent.required_min_rx),
            remote_desired_min_tx_us: us(s.remote_desired_min_tx),
            remote_required_min_rx_us: us(s.remote_min_rx),
            tx_interval_us: s.tx_interval().map(us),
            detection_time_us: s.detection_time().map(us),
            polling: s.polling,
            up_for_ms: s
                .up_since
                .map(|t| now.saturating_duration_since(t).as_millis() as u64),
            local_diag: s.local_diag,
            last_diag: s.last_down_diag,
            remote_diag: s.remote_diag,
            counters: s.counters.clone(),
        }
    }
}

impl Bfd {
    /// Every session, by id.
    pub fn sessions(&self, now: Instant) -> Vec<SessionInfo> {
        self.sessions
            .values()
            .map(|s| SessionInfo::of(s, now))
            .collect()
    }

    pub fn session(&self, id: SessionId, now: Instant) -> Option<SessionInfo> {
        self.sessions.get(&id).map(|s| SessionInfo::of(s, now))
    }
}
