//! Sync datagrams on the wire, version 1 (docs/sync.md): one file per part,
//! each with parse and emit side by side. Parsing is bounds-checked and
//! total: any bytes give a value or a [`WireError`], never a panic. What a
//! datagram means is decided elsewhere.

pub mod auth;
pub mod bulk;
pub mod datagram;
pub mod entry;
pub mod header;
pub mod hello;

pub use auth::{Key, TAG_LEN};
pub use bulk::BulkEnd;
pub use datagram::{Body, Datagram};
pub use entry::{
    Entry, FlowKey, FlowKind, Forward, Op, Proto, ProxyShift, ENTRY_LEN, FLAG_PROXY, FLAG_TEMPLATE,
    PROXY_EXT_LEN,
};
pub use header::{Header, Kind, HEADER_LEN, MAGIC, VERSION};
pub use hello::{Hello, NodeState, MAX_NAME_LEN};
/// A read past the end of the bytes (the shared reader's error).
pub use xlvs_wire::Truncated;

use crate::stats::DropReason;

/// The largest datagram accepted or sent: a jumbo frame's payload. Larger
/// input is refused before anything else is looked at.
pub const MAX_DATAGRAM: usize = 9000;

/// Why bytes are not a valid sync datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Truncated(#[from] Truncated),
    #[error("datagram of {0} bytes exceeds the maximum of {MAX_DATAGRAM}")]
    Oversized(usize),
    #[error("bad magic {0:02x?}, expected \"XS\"")]
    Magic([u8; 2]),
    #[error("sync version {0}, expected {VERSION}")]
    Version(u8),
    #[error("unknown datagram kind {0}")]
    Kind(u8),
    #[error("{what} {value:#06x} must be zero")]
    NonZero { what: &'static str, value: u16 },
    #[error("sequence number 0 (sequences start at 1)")]
    ZeroSeq,
    #[error("{extra} bytes after the authentication tag")]
    TrailingBytes { extra: usize },
    #[error("{kind:?} with count {count} cannot have a {payload}-byte payload")]
    Count {
        kind: Kind,
        count: u16,
        payload: usize,
    },
    #[error("authentication tag does not verify")]
    Auth,
    #[error("unknown entry op {0}")]
    Op(u8),
    #[error("protocol {0} is not synced (TCP 6 and UDP 17 only)")]
    Proto(u8),
    #[error("unknown forwarding method {0}")]
    Forward(u8),
    #[error("unknown node state {0}")]
    NodeState(u8),
    #[error("{what}: {why}")]
    Malformed {
        what: &'static str,
        why: &'static str,
    },
}

impl WireError {
    /// The drop counter this error increments.
    pub fn reason(&self) -> DropReason {
        match self {
            WireError::Truncated(_) => DropReason::Truncated,
            WireError::Oversized(_) => DropReason::Oversized,
            WireError::Version(_) => DropReason::BadVersion,
            WireError::Auth => DropReason::Auth,
            _ => DropReason::BadFormat,
        }
    }
}

pub(crate) use xlvs_wire::{Put, Reader};

/// Version 1's checks on top of the reader.
pub(crate) trait Checks {
    /// A field that must be zero in version 1.
    fn zero_u16(&mut self, what: &'static str) -> Result<(), WireError>;
    /// Everything read: leftover bytes are an error, not padding.
    fn finish(&self) -> Result<(), WireError>;
}

impl Checks for Reader<'_> {
    fn zero_u16(&mut self, what: &'static str) -> Result<(), WireError> {
        match self.u16()? {
            0 => Ok(()),
            value => Err(WireError::NonZero { what, value }),
        }
    }

    fn finish(&self) -> Result<(), WireError> {
        match self.is_empty() {
            true => Ok(()),
            false => Err(WireError::Malformed {
                what: self.what(),
                why: "trailing bytes",
            }),
        }
    }
}
