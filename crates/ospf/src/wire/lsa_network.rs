//! Network-LSA body (RFC 2328 A.4.3). We never originate one (we are never
//! DR) but parse it to show the database.

use super::{Reader, WireError};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkLsa {
    pub mask: Ipv4Addr,
    pub routers: Vec<Ipv4Addr>,
}

impl NetworkLsa {
    pub fn parse(body: &[u8]) -> Result<NetworkLsa, WireError> {
        let mut r = Reader::new(body, "Network-LSA");
        let mask = r.addr()?;
        let mut routers = Vec::new();
        while !r.is_empty() {
            routers.push(r.addr()?);
        }
        Ok(NetworkLsa { mask, routers })
    }
}
