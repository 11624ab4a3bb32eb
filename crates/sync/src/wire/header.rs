//! The 32-byte datagram header, and the size checks it allows before the
//! tag is verified: everything here is read from unauthenticated bytes, so
//! it only decides whether the datagram is worth an HMAC.
//!
//! ```text
//!  0 magic "XS"   2 version  3 kind   4 flags   6 count
//!  8 sender      12 session (u64)    20 seq (u64)
//! 28 payload length            30 reserved
//! ```

use super::entry::{ENTRY_LEN, PROXY_EXT_LEN};
use super::{Checks, Put, Reader, WireError, MAX_DATAGRAM, TAG_LEN};
use std::net::Ipv4Addr;

pub const HEADER_LEN: usize = 32;
pub const MAGIC: [u8; 2] = *b"XS";
pub const VERSION: u8 = 1;

/// What a datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Hello = 1,
    Entries = 2,
    BulkRequest = 3,
    BulkEntries = 4,
    BulkEnd = 5,
}

impl Kind {
    pub fn from_u8(v: u8) -> Result<Kind, WireError> {
        Ok(match v {
            1 => Kind::Hello,
            2 => Kind::Entries,
            3 => Kind::BulkRequest,
            4 => Kind::BulkEntries,
            5 => Kind::BulkEnd,
            other => return Err(WireError::Kind(other)),
        })
    }

    /// Whether `count` records fit a payload of `payload` bytes for this
    /// kind: 36 bytes each, 8 more for each with a proxy shift (which ones
    /// is known only once the records are parsed). Hello's payload has its
    /// own lengths, checked when parsed.
    fn sizes_agree(self, count: u16, payload: usize) -> bool {
        let records = |bytes: usize| {
            let least = count as usize * ENTRY_LEN;
            let extra = bytes.wrapping_sub(least);
            count > 0
                && bytes >= least
                && extra.is_multiple_of(PROXY_EXT_LEN)
                && extra / PROXY_EXT_LEN <= count as usize
        };
        match self {
            Kind::Hello => count == 0,
            Kind::Entries => records(payload),
            Kind::BulkRequest => count == 0 && payload == 4,
            Kind::BulkEntries => payload >= 4 && records(payload - 4),
            Kind::BulkEnd => count == 0 && payload == 8,
        }
    }
}

/// A parsed header. `count` and `payload_len` agree with the kind and with
/// the datagram's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub count: u16,
    /// The sender's sync address: its identity.
    pub sender: Ipv4Addr,
    /// The sender's start time in microseconds since the Unix epoch.
    pub session: u64,
    /// Per session, from 1.
    pub seq: u64,
    pub payload_len: u16,
}

impl Header {
    /// Parses the header of the whole datagram `buf` and checks the sizes it
    /// declares against the bytes received: header, payload and tag exactly.
    pub fn parse(buf: &[u8]) -> Result<Header, WireError> {
        if buf.len() > MAX_DATAGRAM {
            return Err(WireError::Oversized(buf.len()));
        }
        let mut r = Reader::new(buf, "header");
        let magic = r.array()?;
        if magic != MAGIC {
            return Err(WireError::Magic(magic));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(WireError::Version(version));
        }
        let kind = Kind::from_u8(r.u8()?)?;
        r.zero_u16("header flags")?;
        let count = r.u16()?;
        let sender = r.addr()?;
        let session = r.u64()?;
        let seq = r.u64()?;
        if seq == 0 {
            return Err(WireError::ZeroSeq);
        }
        let payload_len = r.u16()?;
        r.zero_u16("header reserved")?;

        let need = HEADER_LEN + payload_len as usize + TAG_LEN;
        if buf.len() < need {
            return Err(WireError::Truncated(super::Truncated {
                what: "datagram",
                need,
                have: buf.len(),
            }));
        }
        if buf.len() > need {
            return Err(WireError::TrailingBytes {
                extra: buf.len() - need,
            });
        }
        if !kind.sizes_agree(count, payload_len as usize) {
            return Err(WireError::Count {
                kind,
                count,
                payload: payload_len as usize,
            });
        }
        Ok(Header {
            kind,
            count,
            sender,
            session,
            seq,
            payload_len,
        })
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.kind as u8);
        out.put_u16(0);
        out.put_u16(self.count);
        out.put_addr(self.sender);
        out.put_u64(self.session);
        out.put_u64(self.seq);
        out.put_u16(self.payload_len);
        out.put_u16(0);
    }
}
