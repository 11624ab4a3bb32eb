//! Whole OSPF packets: header, body by type, checksum or MD5 digest.
//! LS Request, Update and Ack bodies are plain lists and live here.

use super::auth::{md5_digest, MD5_DIGEST_LEN};
use super::checksum::internet;
use super::header::{ParsedHeader, HEADER_LEN};
use super::WireError;
use super::{AuthField, Dbd, Header, Hello, Lsa, LsaHeader, LsaKey, PacketType, Put, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Hello(Hello),
    Dbd(Dbd),
    LsRequest(Vec<LsaKey>),
    LsUpdate(Vec<Lsa>),
    LsAck(Vec<LsaHeader>),
}

impl Body {
    pub fn kind(&self) -> PacketType {
        match self {
            Body::Hello(_) => PacketType::Hello,
            Body::Dbd(_) => PacketType::DbDescription,
            Body::LsRequest(_) => PacketType::LsRequest,
            Body::LsUpdate(_) => PacketType::LsUpdate,
            Body::LsAck(_) => PacketType::LsAck,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub header: Header,
    pub body: Body,
}

/// The auth bytes are not covered by the checksum (RFC 2328 D.4.1).
const AUTH_FIELD: std::ops::Range<usize> = 16..24;

impl Packet {
    /// Parses a packet (the IP payload). For null and simple auth the
    /// checksum is verified here; an MD5 digest must be present but is
    /// verified by the caller, who knows the key (`auth::md5_verify`).
    pub fn parse(buf: &[u8]) -> Result<Packet, WireError> {
        let ParsedHeader {
            header,
            length,
            checksum,
        } = Header::parse(buf)?;
        if length < HEADER_LEN || length > buf.len() {
            return Err(WireError::Length {
                length,
                have: buf.len(),
            });
        }
        match header.auth {
            AuthField::Md5 { .. } => {
                if buf.len() < length + MD5_DIGEST_LEN {
                    return Err(WireError::Truncated(super::Truncated {
                        what: "MD5 digest",
                        need: length + MD5_DIGEST_LEN,
                        have: buf.len(),
                    }));
                }
            }
            AuthField::Null | AuthField::Simple(_) => {
                let want = packet_checksum(&buf[..length]);
                if want != checksum {
                    return Err(WireError::Checksum {
                        got: checksum,
                        want,
                    });
                }
            }
        }
        let body = &buf[HEADER_LEN..length];
        let body = match header.kind {
            PacketType::Hello => Body::Hello(Hello::parse(body)?),
            PacketType::DbDescription => Body::Dbd(Dbd::parse(body)?),
            PacketType::LsRequest => Body::LsRequest(parse_requests(body)?),
            PacketType::LsUpdate => Body::LsUpdate(parse_update(body)?),
            PacketType::LsAck => Body::LsAck(parse_acks(body)?),
        };
        Ok(Packet { header, body })
    }

    /// Encodes the packet: length, then the checksum (null/simple auth) or
    /// the MD5 digest with `md5_key` appended after it.
    pub fn emit(&self, md5_key: Option<&[u8; 16]>) -> Vec<u8> {
        debug_assert_eq!(self.header.kind, self.body.kind());
        let mut out = Vec::with_capacity(256);
        self.header.emit(&mut out);
        match &self.body {
            Body::Hello(h) => h.emit(&mut out),
            Body::Dbd(d) => d.emit(&mut out),
            Body::LsRequest(keys) => keys.iter().for_each(|k| k.emit_request(&mut out)),
            Body::LsUpdate(lsas) => {
                out.put_u32(lsas.len() as u32);
                lsas.iter().for_each(|l| l.emit(&mut out));
            }
            Body::LsAck(headers) => headers.iter().for_each(|h| h.emit(&mut out)),
        }
        let length = out.len() as u16;
        out[2..4].copy_from_slice(&length.to_be_bytes());
        match (self.header.auth, md5_key) {
            (AuthField::Md5 { .. }, Some(key)) => {
                let digest = md5_digest(&out, key);
                out.extend_from_slice(&digest);
            }
            (AuthField::Md5 { .. }, None) => {
                debug_assert!(false, "MD5 packet emitted without a key");
            }
            _ => {
                let sum = packet_checksum(&out);
                out[12..14].copy_from_slice(&sum.to_be_bytes());
            }
        }
        out
    }
}

/// The header checksum over a packet, with the checksum and auth fields
/// taken as zero.
fn packet_checksum(packet: &[u8]) -> u16 {
    let mut copy = packet.to_vec();
    copy[12..14].fill(0);
    copy[AUTH_FIELD].fill(0);
    internet(&copy)
}

fn parse_requests(body: &[u8]) -> Result<Vec<LsaKey>, WireError> {
    if !body.len().is_multiple_of(LsaKey::LEN) {
        return Err(WireError::Malformed {
            what: "LS Request",
            why: "not a whole number of entries",
        });
    }
    body.chunks(LsaKey::LEN)
        .map(LsaKey::parse_request)
        .collect()
}

fn parse_update(body: &[u8]) -> Result<Vec<Lsa>, WireError> {
    let mut r = Reader::new(body, "LS Update");
    let count = r.u32()?;
    let mut rest = r.rest();
    // Each LSA is at least a header: don't trust the count for capacity.
    let mut lsas = Vec::with_capacity((count as usize).min(rest.len() / LsaHeader::LEN));
    for _ in 0..count {
        let (lsa, used) = Lsa::parse(rest)?;
        lsas.push(lsa);
        rest = &rest[used..];
    }
    Ok(lsas)
}

fn parse_acks(body: &[u8]) -> Result<Vec<LsaHeader>, WireError> {
    if !body.len().is_multiple_of(LsaHeader::LEN) {
        return Err(WireError::Malformed {
            what: "LS Ack",
            why: "not a whole number of LSA headers",
        });
    }
    body.chunks(LsaHeader::LEN).map(LsaHeader::parse).collect()
}

#[cfg(test)]
mod tests;
