//! Router-LSA body (RFC 2328 A.4.2).

use super::{Put, Reader, WireError};
use std::net::Ipv4Addr;

/// Router-LSA flag bits.
pub mod flags {
    pub const B: u8 = 0x01;
    /// AS boundary router: it originates AS-external LSAs.
    pub const E: u8 = 0x02;
    pub const V: u8 = 0x04;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    PointToPoint,
    Transit,
    Stub,
    Virtual,
}

impl LinkType {
    fn from_u8(v: u8) -> Result<LinkType, WireError> {
        Ok(match v {
            1 => LinkType::PointToPoint,
            2 => LinkType::Transit,
            3 => LinkType::Stub,
            4 => LinkType::Virtual,
            _ => {
                return Err(WireError::Malformed {
                    what: "Router-LSA",
                    why: "unknown link type",
                })
            }
        })
    }

    fn to_u8(self) -> u8 {
        match self {
            LinkType::PointToPoint => 1,
            LinkType::Transit => 2,
            LinkType::Stub => 3,
            LinkType::Virtual => 4,
        }
    }
}

/// One link; TOS metrics other than TOS 0 are dropped on parse (RFC 2328
/// routers ignore them) and never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterLink {
    pub kind: LinkType,
    /// Neighbor router id (p2p), DR address (transit) or network (stub).
    pub id: Ipv4Addr,
    /// Our interface address (p2p, transit) or the network mask (stub).
    pub data: Ipv4Addr,
    pub metric: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterLsa {
    pub flags: u8,
    pub links: Vec<RouterLink>,
}

/// Bytes of a Router-LSA body before its links, and per link.
pub const ROUTER_LSA_FIXED: usize = 4;
pub const ROUTER_LINK_LEN: usize = 12;

impl RouterLsa {
    pub fn parse(body: &[u8]) -> Result<RouterLsa, WireError> {
        let mut r = Reader::new(body, "Router-LSA");
        let flags = r.u8()?;
        r.u8()?;
        let count = r.u16()?;
        let mut links = Vec::with_capacity(usize::from(count).min(body.len() / 12));
        for _ in 0..count {
            let id = r.addr()?;
            let data = r.addr()?;
            let kind = LinkType::from_u8(r.u8()?)?;
            let tos_count = r.u8()?;
            let metric = r.u16()?;
            r.take(4 * usize::from(tos_count))?;
            links.push(RouterLink {
                kind,
                id,
                data,
                metric,
            });
        }
        Ok(RouterLsa { flags, links })
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.flags);
        out.push(0);
        out.put_u16(self.links.len() as u16);
        for l in &self.links {
            out.put_addr(l.id);
            out.put_addr(l.data);
            out.push(l.kind.to_u8());
            out.push(0);
            out.put_u16(l.metric);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(ROUTER_LSA_FIXED + ROUTER_LINK_LEN * self.links.len());
        self.emit(&mut v);
        v
    }
}
