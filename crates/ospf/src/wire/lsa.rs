//! The LSA header (RFC 2328 A.4.1), whole LSAs as bytes, and the rule for
//! which of two instances is newer (section 13.1).

use super::checksum::{lsa_fletcher, lsa_fletcher_ok};
use super::{Put, Reader, WireError};
use std::cmp::Ordering;
use std::fmt;
use std::net::Ipv4Addr;

/// LS age limits and sequence numbers (RFC 2328 appendix B and 12.1.6).
pub const MAX_AGE: u16 = 3600;
pub const MAX_AGE_DIFF: u16 = 900;
pub const INITIAL_SEQ: i32 = 0x8000_0001_u32 as i32;
pub const MAX_SEQ: i32 = 0x7fff_ffff;
/// The DoNotAge bit (RFC 1793); we never set it, and ignore it in ages.
const DO_NOT_AGE: u16 = 0x8000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LsaType(pub u8);

impl LsaType {
    pub const ROUTER: LsaType = LsaType(1);
    pub const NETWORK: LsaType = LsaType(2);
    pub const SUMMARY: LsaType = LsaType(3);
    pub const ASBR_SUMMARY: LsaType = LsaType(4);
    pub const EXTERNAL: LsaType = LsaType(5);
    /// Opaque LSAs (RFC 5250) of link, area and AS scope.
    pub const OPAQUE_LINK: LsaType = LsaType(9);
    pub const OPAQUE_AREA: LsaType = LsaType(10);
    pub const OPAQUE_AS: LsaType = LsaType(11);

    pub fn is_opaque(self) -> bool {
        (9..=11).contains(&self.0)
    }

    /// AS-scoped LSAs are flooded into every area, the others stay in one.
    pub fn is_as_scoped(self) -> bool {
        self.0 == 5 || self.0 == 11
    }

    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "router",
            2 => "network",
            3 => "summary",
            4 => "asbr-summary",
            5 => "as-external",
            9 => "opaque-link",
            10 => "opaque-area",
            11 => "opaque-as",
            _ => "unknown",
        }
    }
}

/// What identifies an LSA: its type, Link State ID and advertising router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LsaKey {
    pub kind: LsaType,
    pub id: Ipv4Addr,
    pub adv_router: Ipv4Addr,
}

impl fmt::Display for LsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind.name(), self.id, self.adv_router)
    }
}

impl LsaKey {
    pub const LEN: usize = 12;

    /// An LS Request entry: the type as a 32-bit field.
    pub fn parse_request(buf: &[u8]) -> Result<LsaKey, WireError> {
        let mut r = Reader::new(buf, "LS request");
        let kind = r.u32()?;
        let kind = u8::try_from(kind).map_err(|_| WireError::Malformed {
            what: "LS request",
            why: "LS type out of range",
        })?;
        Ok(LsaKey {
            kind: LsaType(kind),
            id: r.addr()?,
            adv_router: r.addr()?,
        })
    }

    pub fn emit_request(&self, out: &mut Vec<u8>) {
        out.put_u32(u32::from(self.kind.0));
        out.put_addr(self.id);
        out.put_addr(self.adv_router);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LsaHeader {
    pub age: u16,
    pub options: u8,
    pub kind: LsaType,
    pub id: Ipv4Addr,
    pub adv_router: Ipv4Addr,
    /// Signed: 0x80000001 is the oldest, 0x7fffffff the newest.
    pub seq: i32,
    pub checksum: u16,
    pub length: u16,
}

impl LsaHeader {
    pub const LEN: usize = 20;

    pub fn key(&self) -> LsaKey {
        LsaKey {
            kind: self.kind,
            id: self.id,
            adv_router: self.adv_router,
        }
    }

    pub fn parse(buf: &[u8]) -> Result<LsaHeader, WireError> {
        let mut r = Reader::new(buf, "LSA header");
        Ok(LsaHeader {
            age: r.u16()?,
            options: r.u8()?,
            kind: LsaType(r.u8()?),
            id: r.addr()?,
            adv_router: r.addr()?,
            seq: r.u32()? as i32,
            checksum: r.u16()?,
            length: r.u16()?,
        })
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.put_u16(self.age);
        out.push(self.options);
        out.push(self.kind.0);
        out.put_addr(self.id);
        out.put_addr(self.adv_router);
        out.put_u32(self.seq as u32);
        out.put_u16(self.checksum);
        out.put_u16(self.length);
    }

    /// Age in seconds, without the DoNotAge bit, capped at MaxAge.
    pub fn age(&self) -> u16 {
        (self.age & !DO_NOT_AGE).min(MAX_AGE)
    }

    pub fn is_max_age(&self) -> bool {
        self.age() == MAX_AGE
    }

    /// Section 13.1: `Greater` when `self` is the more recent instance.
    pub fn compare(&self, other: &LsaHeader) -> Ordering {
        self.seq
            .cmp(&other.seq)
            .then(self.checksum.cmp(&other.checksum))
            .then_with(|| match (self.is_max_age(), other.is_max_age()) {
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ if self.age().abs_diff(other.age()) > MAX_AGE_DIFF => {
                    // The younger one is more recent.
                    other.age().cmp(&self.age())
                }
                _ => Ordering::Equal,
            })
    }
}

/// A whole LSA: its header and the body bytes after it, kept as received
/// so it is flooded unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lsa {
    pub header: LsaHeader,
    pub body: Vec<u8>,
}

impl Lsa {
    /// Builds an LSA, filling in its length and checksum.
    pub fn new(mut header: LsaHeader, body: Vec<u8>) -> Lsa {
        header.length = (LsaHeader::LEN + body.len()) as u16;
        header.checksum = 0;
        let mut lsa = Lsa { header, body };
        lsa.header.checksum = lsa_fletcher(&lsa.to_bytes());
        lsa
    }

    /// Parses one LSA from the front of `buf`; returns it and the bytes
    /// used. The checksum is not checked here (see `checksum_ok`): a bad
    /// LSA is skipped, not the whole packet.
    pub fn parse(buf: &[u8]) -> Result<(Lsa, usize), WireError> {
        let header = LsaHeader::parse(buf)?;
        let len = header.length as usize;
        if len < LsaHeader::LEN || !len.is_multiple_of(4) {
            return Err(WireError::LsaLength(header.length));
        }
        let all = Reader::new(buf, "LSA").take(len)?;
        Ok((
            Lsa {
                header,
                body: all[LsaHeader::LEN..].to_vec(),
            },
            len,
        ))
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        self.header.emit(out);
        out.extend_from_slice(&self.body);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(LsaHeader::LEN + self.body.len());
        self.emit(&mut v);
        v
    }

    pub fn checksum_ok(&self) -> bool {
        lsa_fletcher_ok(&self.to_bytes())
    }

    pub fn key(&self) -> LsaKey {
        self.header.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(seq: i32, checksum: u16, age: u16) -> LsaHeader {
        LsaHeader {
            age,
            options: 2,
            kind: LsaType::ROUTER,
            id: Ipv4Addr::new(10, 0, 0, 1),
            adv_router: Ipv4Addr::new(10, 0, 0, 1),
            seq,
            checksum,
            length: 24,
        }
    }

    #[test]
    fn newer_by_sequence_then_checksum_then_age() {
        use Ordering::*;
        assert_eq!(
            hdr(INITIAL_SEQ + 1, 0, 0).compare(&hdr(INITIAL_SEQ, 9, 0)),
            Greater
        );
        // signed: 0x80000001 is older than 1
        assert_eq!(hdr(INITIAL_SEQ, 0, 0).compare(&hdr(1, 0, 0)), Less);
        assert_eq!(hdr(5, 2, 0).compare(&hdr(5, 1, 0)), Greater);
        assert_eq!(hdr(5, 1, MAX_AGE).compare(&hdr(5, 1, 10)), Greater);
        assert_eq!(hdr(5, 1, 10).compare(&hdr(5, 1, 1000)), Greater);
        assert_eq!(hdr(5, 1, 10).compare(&hdr(5, 1, 900)), Equal);
    }

    #[test]
    fn new_lsa_has_a_valid_checksum_and_round_trips() {
        let lsa = Lsa::new(hdr(INITIAL_SEQ, 0, 1), vec![0, 0, 0, 0]);
        assert!(lsa.checksum_ok());
        assert_eq!(lsa.header.length, 24);
        let bytes = lsa.to_bytes();
        assert_eq!(Lsa::parse(&bytes).unwrap(), (lsa, 24));
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut bytes = Lsa::new(hdr(1, 0, 1), vec![0; 4]).to_bytes();
        bytes[19] = 12; // shorter than a header
        assert_eq!(Lsa::parse(&bytes), Err(WireError::LsaLength(12)));
        bytes[19] = 40; // longer than the buffer
        assert!(matches!(Lsa::parse(&bytes), Err(WireError::Truncated(_))));
    }
}
