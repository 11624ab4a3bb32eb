//! Whole datagrams: header, payload by kind, tag.
//!
//! A receiver parses the header (sizes only), verifies the tag, and only
//! then parses the payload: no record of an unauthenticated datagram is
//! ever looked at. [`Datagram::decode`] does the three in that order.

use super::entry::ENTRY_LEN;
use super::header::HEADER_LEN;
use super::{
    BulkEnd, Checks, Entry, Header, Hello, Key, Kind, Op, Put, Reader, WireError, TAG_LEN,
};
use std::net::Ipv4Addr;

/// The fixed cost of a datagram: header and tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Hello(Hello),
    /// Live changes: the sender's own entries, and refreshes of flows
    /// another director created that the sender forwards now (the
    /// router moved them), which keep the cluster's copies alive.
    Entries(Vec<Entry>),
    BulkRequest {
        transfer: u32,
    },
    /// Part of the server's table (any owner; no Deletes).
    BulkEntries {
        transfer: u32,
        entries: Vec<Entry>,
    },
    BulkEnd(BulkEnd),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Hello(_) => Kind::Hello,
            Body::Entries(_) => Kind::Entries,
            Body::BulkRequest { .. } => Kind::BulkRequest,
            Body::BulkEntries { .. } => Kind::BulkEntries,
            Body::BulkEnd(_) => Kind::BulkEnd,
        }
    }

    /// The header's count: records carried.
    pub fn count(&self) -> usize {
        match self {
            Body::Entries(e) | Body::BulkEntries { entries: e, .. } => e.len(),
            _ => 0,
        }
    }

    /// Parses the payload of an authenticated datagram whose header (sizes
    /// included) is `header`. A payload that ends inside a field is
    /// malformed: the datagram has the size its header declares, so it
    /// was not cut on the way.
    pub fn parse(header: &Header, payload: &[u8]) -> Result<Body, WireError> {
        Body::parse_sized(header, payload).map_err(|e| match e {
            WireError::Truncated(t) => WireError::Malformed {
                what: t.what,
                why: "payload ends inside a field",
            },
            e => e,
        })
    }

    fn parse_sized(header: &Header, payload: &[u8]) -> Result<Body, WireError> {
        let mut r = Reader::new(payload, "payload");
        let body = match header.kind {
            Kind::Hello => return Hello::parse(payload).map(Body::Hello),
            Kind::BulkEnd => return BulkEnd::parse(payload).map(Body::BulkEnd),
            Kind::BulkRequest => Body::BulkRequest { transfer: r.u32()? },
            Kind::Entries => Body::Entries(records(&mut r, header.count)?),
            Kind::BulkEntries => {
                let transfer = r.u32()?;
                let entries = records(&mut r, header.count)?;
                if entries.iter().any(|e| e.op == Op::Delete) {
                    return Err(WireError::Malformed {
                        what: "bulk entries",
                        why: "a Delete in a table transfer",
                    });
                }
                Body::BulkEntries { transfer, entries }
            }
        };
        r.finish()?;
        Ok(body)
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Body::Hello(h) => h.emit(out),
            Body::Entries(entries) => entries.iter().for_each(|e| e.emit(out)),
            Body::BulkRequest { transfer } => out.put_u32(*transfer),
            Body::BulkEntries { transfer, entries } => {
                out.put_u32(*transfer);
                entries.iter().for_each(|e| e.emit(out));
            }
            Body::BulkEnd(end) => end.emit(out),
        }
    }
}

fn records(r: &mut Reader<'_>, count: u16) -> Result<Vec<Entry>, WireError> {
    (0..count).map(|_| Entry::read(r)).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub sender: Ipv4Addr,
    pub session: u64,
    pub seq: u64,
    pub body: Body,
}

impl Datagram {
    /// Everything a receiver checks, in order: sizes, tag, payload.
    pub fn decode(buf: &[u8], key: &Key) -> Result<Datagram, WireError> {
        let header = Header::parse(buf)?;
        authenticate(buf, &header, key)?;
        Datagram::from_parts(&header, buf)
    }

    /// Sizes and payload, the tag's presence but not its value: for tools
    /// and the fuzzer, never for input to act on.
    pub fn parse_unauthenticated(buf: &[u8]) -> Result<Datagram, WireError> {
        let header = Header::parse(buf)?;
        Datagram::from_parts(&header, buf)
    }

    /// The datagram whose header `header` was parsed from `buf`.
    pub fn from_parts(header: &Header, buf: &[u8]) -> Result<Datagram, WireError> {
        Ok(Datagram {
            sender: header.sender,
            session: header.session,
            seq: header.seq,
            body: Body::parse(header, payload(buf, header)?)?,
        })
    }

    /// The datagram's bytes, tag included. The caller keeps it within
    /// [`MAX_DATAGRAM`](super::MAX_DATAGRAM) and the record counts within
    /// a u16.
    pub fn encode(&self, key: &Key) -> Vec<u8> {
        let mut out = Vec::with_capacity(OVERHEAD + self.body.count() * ENTRY_LEN + 16);
        Header {
            kind: self.body.kind(),
            count: self.body.count() as u16,
            sender: self.sender,
            session: self.session,
            seq: self.seq,
            payload_len: 0,
        }
        .emit(&mut out);
        self.body.emit(&mut out);
        let payload_len = (out.len() - HEADER_LEN) as u16;
        out[28..30].copy_from_slice(&payload_len.to_be_bytes());
        let tag = key.sign(&out);
        out.extend_from_slice(&tag);
        out
    }
}

/// Verifies the tag of `buf`, whose header (and so whose sizes) `header`
/// was parsed from it.
pub fn authenticate(buf: &[u8], header: &Header, key: &Key) -> Result<(), WireError> {
    let signed = HEADER_LEN + header.payload_len as usize;
    match (buf.get(..signed), buf.get(signed..)) {
        (Some(signed), Some(tag)) if key.verify(signed, tag) => Ok(()),
        _ => Err(WireError::Auth),
    }
}

/// The payload of `buf` as `header` sizes it.
fn payload<'a>(buf: &'a [u8], header: &Header) -> Result<&'a [u8], WireError> {
    let end = HEADER_LEN + header.payload_len as usize;
    buf.get(HEADER_LEN..end)
        .ok_or(WireError::Truncated(super::Truncated {
            what: "payload",
            need: end,
            have: buf.len(),
        }))
}

/// The bytes of records an Entries datagram of at most `max_datagram`
/// bytes holds (records are 36 bytes, 44 with a proxy shift).
pub fn entries_room(max_datagram: usize) -> usize {
    max_datagram.saturating_sub(OVERHEAD)
}

/// The bytes of records a BulkEntries datagram (4 more bytes: the
/// transfer id) of at most `max_datagram` bytes holds.
pub fn bulk_entries_room(max_datagram: usize) -> usize {
    max_datagram.saturating_sub(OVERHEAD + 4)
}

/// How many 36-byte records (none with a proxy shift) an Entries datagram
/// of at most `max_datagram` bytes holds.
pub fn entries_capacity(max_datagram: usize) -> usize {
    max_datagram.saturating_sub(OVERHEAD) / ENTRY_LEN
}

/// How many 36-byte records a BulkEntries datagram (4 more bytes: the
/// transfer id) of at most `max_datagram` bytes holds.
pub fn bulk_entries_capacity(max_datagram: usize) -> usize {
    max_datagram.saturating_sub(OVERHEAD + 4) / ENTRY_LEN
}
