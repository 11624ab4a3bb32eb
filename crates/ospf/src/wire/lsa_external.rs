//! AS-external-LSA body (RFC 2328 A.4.5).

use super::{Put, Reader, WireError};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalLsa {
    pub mask: Ipv4Addr,
    /// Metric type 2 (E2): the metric is not added to the path cost.
    pub type2: bool,
    /// 24 bits.
    pub metric: u32,
    pub forwarding: Ipv4Addr,
    pub tag: u32,
}

pub const EXTERNAL_LSA_BODY: usize = 16;

impl ExternalLsa {
    pub fn parse(body: &[u8]) -> Result<ExternalLsa, WireError> {
        let mut r = Reader::new(body, "AS-external-LSA");
        let mask = r.addr()?;
        let e_metric = r.u32()?;
        Ok(ExternalLsa {
            mask,
            type2: e_metric & 0x8000_0000 != 0,
            metric: e_metric & 0x00ff_ffff,
            forwarding: r.addr()?,
            tag: r.u32()?,
        })
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.put_addr(self.mask);
        out.put_u32((u32::from(self.type2) << 31) | (self.metric & 0x00ff_ffff));
        out.put_addr(self.forwarding);
        out.put_u32(self.tag);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(EXTERNAL_LSA_BODY);
        self.emit(&mut v);
        v
    }
}
