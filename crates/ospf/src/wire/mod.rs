//! OSPFv2 packets and LSAs on the wire (RFC 2328 appendix A): one file per
//! header, each with parse and emit side by side. Parsing is bounds-checked
//! and never panics; what a packet means is decided elsewhere.

pub mod auth;
#[cfg(test)]
pub(crate) mod captures;
pub mod checksum;
pub mod dbd;
pub mod header;
pub mod hello;
pub mod lsa;
pub mod lsa_external;
pub mod lsa_grace;
pub mod lsa_network;
pub mod lsa_router;
pub mod packet;

pub use auth::AuthField;
pub use dbd::{Dbd, DbdFlags};
pub use header::{Header, PacketType};
pub use hello::Hello;
pub use lsa::{Lsa, LsaHeader, LsaKey, LsaType};
pub use lsa_external::ExternalLsa;
pub use lsa_grace::{GraceLsa, RestartReason, GRACE_LSA_ID};
pub use lsa_network::NetworkLsa;
pub use lsa_router::{LinkType, RouterLink, RouterLsa};
pub use packet::{Body, Packet};

use std::net::Ipv4Addr;

/// Why bytes are not a valid OSPF packet or LSA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{what} truncated: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("OSPF version {0}, expected 2")]
    Version(u8),
    #[error("unknown packet type {0}")]
    PacketType(u8),
    #[error("packet length {length} is invalid for {have} bytes received")]
    Length { length: usize, have: usize },
    #[error("packet checksum {got:#06x} is wrong (computed {want:#06x})")]
    Checksum { got: u16, want: u16 },
    #[error("unknown authentication type {0}")]
    AuthType(u16),
    #[error("MD5 authentication data length {0}, expected 16")]
    Md5Length(u8),
    #[error("LSA length {0} is invalid")]
    LsaLength(u16),
    #[error("LSA checksum is wrong")]
    LsaChecksum,
    #[error("{what}: {why}")]
    Malformed {
        what: &'static str,
        why: &'static str,
    },
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

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn addr(&mut self) -> Result<Ipv4Addr, WireError> {
        self.u32().map(Ipv4Addr::from)
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Big-endian writers for emit.
pub(crate) trait Put {
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_addr(&mut self, a: Ipv4Addr);
}

impl Put for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_addr(&mut self, a: Ipv4Addr) {
        self.extend_from_slice(&a.octets());
    }
}
