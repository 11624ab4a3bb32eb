//! Hello packet body (RFC 2328 A.3.2).

use super::{Put, Reader, WireError};
use std::net::Ipv4Addr;

/// Options field bits (RFC 2328 A.2) we look at.
pub mod options {
    /// External routing capability: set in areas that carry AS-external LSAs.
    pub const E: u8 = 0x02;
    /// Opaque LSA capable (RFC 5250).
    pub const O: u8 = 0x40;
    /// What we set in Hellos and DBDs: a normal area, and opaque-capable,
    /// since a router accepts our grace-LSAs (graceful restart) only from
    /// a neighbor that says so. Opaque LSAs of others are acknowledged
    /// but not kept (graceful.rs).
    pub const OURS: u8 = E | O;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub network_mask: Ipv4Addr,
    /// Seconds; FRR's `dead-interval minimal` sends 0.
    pub hello_interval: u16,
    pub options: u8,
    pub priority: u8,
    pub dead_interval: u32,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub neighbors: Vec<Ipv4Addr>,
}

impl Hello {
    pub fn parse(body: &[u8]) -> Result<Hello, WireError> {
        let mut r = Reader::new(body, "Hello");
        let mut h = Hello {
            network_mask: r.addr()?,
            hello_interval: r.u16()?,
            options: r.u8()?,
            priority: r.u8()?,
            dead_interval: r.u32()?,
            dr: r.addr()?,
            bdr: r.addr()?,
            neighbors: Vec::new(),
        };
        if !r.rest().len().is_multiple_of(4) {
            return Err(WireError::Malformed {
                what: "Hello",
                why: "neighbor list is not a whole number of addresses",
            });
        }
        while !r.is_empty() {
            h.neighbors.push(r.addr()?);
        }
        Ok(h)
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.put_addr(self.network_mask);
        out.put_u16(self.hello_interval);
        out.push(self.options);
        out.push(self.priority);
        out.put_u32(self.dead_interval);
        out.put_addr(self.dr);
        out.put_addr(self.bdr);
        for n in &self.neighbors {
            out.put_addr(*n);
        }
    }
}
