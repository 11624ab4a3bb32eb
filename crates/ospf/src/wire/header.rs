//! The 24-byte OSPF packet header (RFC 2328 A.3.1).

use super::{AuthField, Put, Reader, WireError};
use std::net::Ipv4Addr;

pub const HEADER_LEN: usize = 24;
pub const VERSION: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PacketType {
    Hello = 1,
    DbDescription = 2,
    LsRequest = 3,
    LsUpdate = 4,
    LsAck = 5,
}

impl PacketType {
    pub fn from_u8(v: u8) -> Result<PacketType, WireError> {
        Ok(match v {
            1 => PacketType::Hello,
            2 => PacketType::DbDescription,
            3 => PacketType::LsRequest,
            4 => PacketType::LsUpdate,
            5 => PacketType::LsAck,
            other => return Err(WireError::PacketType(other)),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            PacketType::Hello => "Hello",
            PacketType::DbDescription => "DBD",
            PacketType::LsRequest => "LSR",
            PacketType::LsUpdate => "LSU",
            PacketType::LsAck => "LSAck",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: PacketType,
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub auth: AuthField,
}

/// A parsed header and the packet length it declares.
pub(crate) struct ParsedHeader {
    pub header: Header,
    pub length: usize,
    pub checksum: u16,
}

impl Header {
    pub(crate) fn parse(buf: &[u8]) -> Result<ParsedHeader, WireError> {
        let mut r = Reader::new(buf, "OSPF header");
        let version = r.u8()?;
        if version != VERSION {
            return Err(WireError::Version(version));
        }
        let kind = r.u8()?;
        let length = r.u16()? as usize;
        let router_id = r.addr()?;
        let area_id = r.addr()?;
        let checksum = r.u16()?;
        let autype = r.u16()?;
        let field: [u8; 8] = r.take(8)?.try_into().expect("took 8 bytes");
        Ok(ParsedHeader {
            header: Header {
                kind: PacketType::from_u8(kind)?,
                router_id,
                area_id,
                auth: AuthField::parse(autype, &field)?,
            },
            length,
            checksum,
        })
    }

    /// Writes the header with length and checksum zero; the packet fills
    /// them in once the body is known.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(self.kind as u8);
        out.put_u16(0);
        out.put_addr(self.router_id);
        out.put_addr(self.area_id);
        out.put_u16(0);
        out.put_u16(self.auth.autype());
        out.extend_from_slice(&self.auth.emit());
    }
}
