//! What the core tells its driver, in order, through `poll_event`.

use crate::session::SessionId;
use crate::wire::{Diag, State};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Every state change, for the log. The events below say what a
    /// client (OSPF) should act on.
    StateChanged {
        id: SessionId,
        peer: Ipv4Addr,
        from: State,
        to: State,
        diag: Diag,
    },
    /// The session reached Up: the path to the peer works both ways.
    SessionUp { id: SessionId, peer: Ipv4Addr },
    /// An Up session failed: the detection time ran out (diag 1) or the
    /// peer said it is Down (diag 3). The client declares the neighbor
    /// down (OSPF: KillNbr).
    SessionDown {
        id: SessionId,
        peer: Ipv4Addr,
        diag: Diag,
    },
    /// An Up session went Down (diag 3) because the peer put it in
    /// AdminDown. RFC 5882: this says nothing about the path, so the
    /// client should not take its neighbor down for it.
    PeerAdminDown { id: SessionId, peer: Ipv4Addr },
}
