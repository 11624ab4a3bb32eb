//! BFD Control packets on the wire (RFC 5880 section 4.1), parse and emit
//! side by side. Parsing is bounds-checked and total: any bytes give a
//! packet or a [`WireError`], never a panic. The checks here are those of
//! RFC 5880 6.8.6 that the packet alone can answer; which session it
//! belongs to, and what it means there, is decided elsewhere.

pub mod control;
pub mod state;

pub use control::{ControlPacket, CONTROL_LEN, VERSION};
pub use state::{Diag, State};
/// A read past the end of the bytes (the shared reader's error).
pub use xlvs_wire::Truncated;

use crate::stats::DropReason;

/// Why bytes are not a BFD Control packet we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Truncated(#[from] Truncated),
    #[error("BFD version {0}, expected {VERSION}")]
    Version(u8),
    #[error("length field {declared} is below the minimum {min}")]
    TooShort { declared: u8, min: u8 },
    #[error("length field {declared} exceeds the {datagram}-byte datagram")]
    BeyondDatagram { declared: u8, datagram: usize },
    #[error("detect multiplier 0")]
    ZeroMultiplier,
    #[error("multipoint (M) bit set")]
    Multipoint,
    #[error("my discriminator 0")]
    ZeroMyDiscriminator,
    #[error("your discriminator 0 in state {0}: only Down and AdminDown may not know us yet")]
    ZeroYourDiscriminator(State),
    #[error(
        "authentication (A bit) is not supported: configure the peer without BFD authentication"
    )]
    Authentication,
}

impl WireError {
    /// The drop counter this error increments.
    pub fn reason(&self) -> DropReason {
        match self {
            WireError::Truncated(_) | WireError::TooShort { .. } => DropReason::Truncated,
            WireError::BeyondDatagram { .. } => DropReason::BadLength,
            WireError::Version(_) => DropReason::BadVersion,
            WireError::ZeroMultiplier => DropReason::ZeroMultiplier,
            WireError::Multipoint => DropReason::Multipoint,
            WireError::ZeroMyDiscriminator | WireError::ZeroYourDiscriminator(_) => {
                DropReason::ZeroDiscriminator
            }
            WireError::Authentication => DropReason::Authentication,
        }
    }
}

#[cfg(test)]
mod tests;
