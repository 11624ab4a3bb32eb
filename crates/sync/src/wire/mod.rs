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
pub use entry::{Entry, FlowKey, Forward, Op, Proto, ENTRY_LEN};
pub use header::{Header, Kind, HEADER_LEN, MAGIC, VERSION};
pub use hello::{Hello, NodeState, MAX_NAME_LEN};

use crate::stats::DropReason;
use std::net::Ipv4Addr;

/// The largest datagram accepted or sent: a jumbo frame's payload. Larger
/// input is refused before anything else is looked at.
pub const MAX_DATAGRAM: usize = 9000;

/// Why bytes are not a valid sync datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{what} truncated: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
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
            WireError::Truncated { .. } => DropReason::Truncated,
            WireError::Oversized(_) => DropReason::Oversized,
            WireError::Version(_) => DropReason::BadVersion,
            WireError::Auth => DropReason::Auth,
            _ => DropReason::BadFormat,
        }
    }
}

/// A bounds-checked reader over a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Truncated {
                what: self.what,
                need: n,
                have: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        self.array().map(u32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_be_bytes)
    }

    pub fn addr(&mut self) -> Result<Ipv4Addr, WireError> {
        self.u32().map(Ipv4Addr::from)
    }

    /// A field that must be zero in version 1.
    pub fn zero_u16(&mut self, what: &'static str) -> Result<(), WireError> {
        match self.u16()? {
            0 => Ok(()),
            value => Err(WireError::NonZero { what, value }),
        }
    }

    /// Everything read: leftover bytes are an error, not padding.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.buf.len() {
            0 => Ok(()),
            _ => Err(WireError::Malformed {
                what: self.what,
                why: "trailing bytes",
            }),
        }
    }
}

/// Big-endian writers for emit.
pub(crate) trait Put {
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_addr(&mut self, a: Ipv4Addr);
}

impl Put for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_addr(&mut self, a: Ipv4Addr) {
        self.extend_from_slice(&a.octets());
    }
}
