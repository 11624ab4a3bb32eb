//! DNS check over UDP (keepalived `DNS_CHECK`): one query, up when a
//! well-formed reply with our id and question comes back. The rcode is not
//! judged: any answer proves the server is alive and speaking DNS.
//!
//! The wire format (RFC 1035 section 4) is small enough to write here: we
//! only build one question and walk the reply's records to check its shape.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::UdpSocket;

use crate::check::Progress;
use crate::error::{CheckError, Phase, SetupError};
use crate::rng;

const HEADER_LEN: usize = 12;
const CLASS_IN: u16 = 1;
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const OPCODE_MASK: u16 = 0x7800;
/// Without EDNS a UDP reply is at most 512 bytes; room for servers that
/// send more anyway.
const MAX_REPLY: usize = 4096;

/// A DNS query for `name`/`qtype` to `addr` (usually port 53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSpec {
    pub addr: SocketAddr,
    /// Dotted name; `"."` is the root.
    pub name: String,
    pub qtype: DnsType,
}

impl DnsSpec {
    /// An A query for the root, which every server answers somehow.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            name: ".".to_string(),
            qtype: DnsType::A,
        }
    }
}

impl fmt::Display for DnsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.addr, self.qtype, self.name)
    }
}

/// Query types worth asking for in a health check. keepalived's default is
/// SOA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DnsType {
    #[default]
    A,
    Ns,
    Soa,
    Aaaa,
}

impl DnsType {
    fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Soa => 6,
            DnsType::Aaaa => 28,
        }
    }
}

impl fmt::Display for DnsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Soa => "SOA",
            DnsType::Aaaa => "AAAA",
        })
    }
}

/// A [`DnsSpec`] with its question encoded once.
#[derive(Debug)]
pub(crate) struct Prepared {
    addr: SocketAddr,
    qname: Vec<u8>,
    qtype: u16,
}

impl Prepared {
    pub(crate) fn new(spec: &DnsSpec) -> Result<Self, SetupError> {
        let qname = encode_name(&spec.name).map_err(|reason| SetupError::DnsName {
            name: spec.name.clone(),
            reason,
        })?;
        Ok(Self {
            addr: spec.addr,
            qname,
            qtype: spec.qtype.code(),
        })
    }
}

pub(crate) async fn check(p: &Prepared, progress: &Progress) -> Result<(), CheckError> {
    let io = |phase| move |source| CheckError::Io { phase, source };
    progress.set(Phase::Connect);
    let local: SocketAddr = if p.addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(io(Phase::Connect))?;
    // Connected, so the kernel drops datagrams from other sources and an
    // ICMP port unreachable fails the check at once (connection refused).
    socket.connect(p.addr).await.map_err(io(Phase::Connect))?;
    let id = rng::entropy() as u16;
    socket
        .send(&build_query(id, &p.qname, p.qtype))
        .await
        .map_err(io(Phase::SendRequest))?;

    progress.set(Phase::DnsReply);
    let mut buf = vec![0; MAX_REPLY];
    loop {
        let n = socket.recv(&mut buf).await.map_err(io(Phase::DnsReply))?;
        match parse_reply(&buf[..n], id, &p.qname, p.qtype) {
            Ok(rcode) => {
                tracing::trace!(addr = %p.addr, rcode, "DNS reply");
                return Ok(());
            }
            // A late reply to an earlier query (or a spoof): keep waiting;
            // the check's timeout bounds the loop.
            Err(Reply::OtherId) => continue,
            Err(Reply::Malformed(reason)) => return Err(CheckError::BadDns { reason }),
        }
    }
}

/// Wire form of a dotted name: length-prefixed labels and a zero byte.
fn encode_name(name: &str) -> Result<Vec<u8>, String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let mut wire = Vec::with_capacity(trimmed.len() + 2);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err("empty label".to_string());
            }
            if !label.is_ascii() {
                return Err("not ASCII (use the xn-- form)".to_string());
            }
            if label.len() > 63 {
                return Err(format!("label {label:?} longer than 63 bytes"));
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label.as_bytes());
        }
    }
    wire.push(0);
    if wire.len() > 255 {
        return Err("longer than 255 bytes".to_string());
    }
    Ok(wire)
}

/// A recursive query with one question, class IN.
fn build_query(id: u16, qname: &[u8], qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + qname.len() + 4);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&FLAG_RD.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0; 6]); // ANCOUNT, NSCOUNT, ARCOUNT
    q.extend_from_slice(qname);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

#[derive(Debug, PartialEq, Eq)]
enum Reply {
    OtherId,
    Malformed(String),
}

fn malformed(reason: impl Into<String>) -> Reply {
    Reply::Malformed(reason.into())
}

/// Checks a reply to query `id`; returns its rcode.
fn parse_reply(msg: &[u8], id: u16, qname: &[u8], qtype: u16) -> Result<u8, Reply> {
    if msg.len() < HEADER_LEN {
        // Too short to even carry an id: not ours to judge.
        return Err(Reply::OtherId);
    }
    let word = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    if word(0) != id {
        return Err(Reply::OtherId);
    }
    let flags = word(2);
    if flags & FLAG_QR == 0 {
        return Err(malformed("QR bit not set (a query, not a reply)"));
    }
    if flags & OPCODE_MASK != 0 {
        return Err(malformed("opcode is not QUERY"));
    }
    let (qdcount, ancount, nscount, arcount) = (word(4), word(6), word(8), word(10));
    let mut pos = HEADER_LEN;
    // Servers may omit the question (e.g. with FORMERR); if present it
    // must be ours.
    if qdcount > 1 {
        return Err(malformed(format!("{qdcount} questions")));
    }
    if qdcount == 1 {
        let (name, next) = read_name(msg, pos)?;
        let fixed = msg
            .get(next..next + 4)
            .ok_or_else(|| malformed("question truncated"))?;
        if !name.eq_ignore_ascii_case(qname)
            || u16::from_be_bytes([fixed[0], fixed[1]]) != qtype
            || u16::from_be_bytes([fixed[2], fixed[3]]) != CLASS_IN
        {
            return Err(malformed("question differs from ours"));
        }
        pos = next + 4;
    }
    // A truncated reply (TC) may end in the middle of a record; the header
    // and question were enough to tell it is a real answer.
    if flags & FLAG_TC == 0 {
        for _ in 0..u32::from(ancount) + u32::from(nscount) + u32::from(arcount) {
            let (_, next) = read_name(msg, pos)?;
            // TYPE, CLASS, TTL, RDLENGTH, then RDLENGTH bytes.
            let fixed = msg
                .get(next..next + 10)
                .ok_or_else(|| malformed("record truncated"))?;
            let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            pos = next + 10 + rdlength;
            if pos > msg.len() {
                return Err(malformed("record data truncated"));
            }
        }
    }
    Ok((flags & 0x000f) as u8)
}

/// Reads a possibly compressed name at `start`; returns it in wire form
/// (uncompressed) and the offset after it in the message.
fn read_name(msg: &[u8], start: usize) -> Result<(Vec<u8>, usize), Reply> {
    let mut name = Vec::new();
    let mut pos = start;
    let mut after = None;
    // Each pointer must go strictly backwards, which rules out loops.
    let mut limit = start;
    loop {
        let len = *msg.get(pos).ok_or_else(|| malformed("name truncated"))?;
        match len & 0xc0 {
            0x00 => {
                let end = pos + 1 + usize::from(len);
                let label = msg
                    .get(pos..end)
                    .ok_or_else(|| malformed("label truncated"))?;
                name.extend_from_slice(label);
                if name.len() > 255 {
                    return Err(malformed("name longer than 255 bytes"));
                }
                if len == 0 {
                    return Ok((name, after.unwrap_or(end)));
                }
                pos = end;
            }
            0xc0 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or_else(|| malformed("pointer truncated"))?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                if target >= limit {
                    return Err(malformed("compression pointer does not point backwards"));
                }
                after.get_or_insert(pos + 2);
                limit = target;
                pos = target;
            }
            _ => return Err(malformed("reserved label type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u16 = 1;

    #[test]
    fn names_encode() {
        assert_eq!(encode_name(".").unwrap(), [0]);
        assert_eq!(encode_name("").unwrap(), [0]);
        assert_eq!(
            encode_name("www.Example.org.").unwrap(),
            b"\x03www\x07Example\x03org\x00"
        );
        assert_eq!(encode_name("localhost").unwrap(), b"\x09localhost\x00");
        assert!(encode_name("a..b").is_err());
        assert!(encode_name(&"x".repeat(64)).is_err());
        assert!(encode_name(&vec!["y".repeat(63); 5].join(".")).is_err());
        assert!(encode_name("bücher.de").is_err());
    }

    #[test]
    fn query_layout() {
        let q = build_query(0xbeef, b"\x09localhost\x00", A);
        assert_eq!(
            q,
            b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09localhost\x00\x00\x01\x00\x01"
        );
    }

    /// A reply to `query` with one A record whose owner name is a
    /// compression pointer to the question.
    fn reply_to(query: &[u8], rcode: u8) -> Vec<u8> {
        let mut r = query.to_vec();
        r[2] |= 0x80;
        r[3] = rcode;
        r[7] = 1; // ANCOUNT
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
        r
    }

    #[test]
    fn good_replies_parse() {
        let qname = encode_name("localhost").unwrap();
        let query = build_query(7, &qname, A);
        assert_eq!(parse_reply(&reply_to(&query, 0), 7, &qname, A), Ok(0));
        // Any rcode is an answer; names compare case-insensitively.
        let upper = build_query(7, &encode_name("LOCALHOST").unwrap(), A);
        assert_eq!(parse_reply(&reply_to(&upper, 3), 7, &qname, A), Ok(3));
        // No question echoed.
        let mut bare = vec![0, 7, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_reply(&bare, 7, &qname, A), Ok(1));
        // Truncated (TC) with records cut off.
        bare[2] |= 0x02;
        bare[7] = 3;
        assert_eq!(parse_reply(&bare, 7, &qname, A), Ok(1));
    }

    #[test]
    fn foreign_and_bad_replies_are_rejected() {
        let qname = encode_name("localhost").unwrap();
        let query = build_query(7, &qname, A);
        let good = reply_to(&query, 0);
        assert_eq!(parse_reply(&good, 8, &qname, A), Err(Reply::OtherId));
        assert_eq!(parse_reply(&good[..5], 7, &qname, A), Err(Reply::OtherId));

        let bad = |msg: &[u8], want: &str| match parse_reply(msg, 7, &qname, A) {
            Err(Reply::Malformed(why)) => assert!(why.contains(want), "{why:?} lacks {want:?}"),
            other => panic!("{other:?}, wanted {want:?}"),
        };
        bad(&query, "QR bit");
        let mut m = good.clone();
        m[2] |= 0x10; // opcode 2
        bad(&m, "opcode");
        bad(&good[..good.len() - 1], "record data truncated");
        bad(&good[..good.len() - 8], "record truncated");
        bad(&good[..20], "label truncated");
        let other = reply_to(&build_query(7, &encode_name("example").unwrap(), A), 0);
        bad(&other, "question differs");
        let aaaa = reply_to(&build_query(7, &qname, 28), 0);
        bad(&aaaa, "question differs");
        // A pointer to itself, and one forwards.
        let mut m = good.clone();
        let at = query.len();
        m[at + 1] = at as u8;
        bad(&m, "backwards");
        m[at + 1] = 200;
        bad(&m, "backwards");
        m[at] = 0x80;
        bad(&m, "reserved label type");
    }
}
