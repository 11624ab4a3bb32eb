//! The values both the changes and the table name a service by.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use xlvs_config::Protocol;

/// A virtual service as ipvsadm names it: protocol, VIP, port (0 = every
/// port of the VIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceKey {
    #[serde(with = "crate::spelling")]
    pub protocol: Protocol,
    pub vip: Ipv4Addr,
    pub port: u16,
}

impl ServiceKey {
    pub fn addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.vip, self.port)
    }
}

/// `TCP 192.0.2.10:80`.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.protocol.ipvsadm_name(), self.addr())
    }
}

/// `-p` and `-M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persistence {
    /// 1..=2678400 (31 days, ipvsadm's limit).
    pub timeout_s: u32,
    /// A contiguous netmask; 255.255.255.255 when `-M` is not given.
    pub netmask: Ipv4Addr,
}

impl Persistence {
    /// ipvsadm's `-p` without a value, and keepalived's persistence_timeout
    /// without one: IPVS_SVC_PERSISTENT_TIMEOUT in ipvsadm's sources, 6
    /// minutes (its manual says 300 seconds, but 360 is what it sends).
    pub const DEFAULT_TIMEOUT_S: u32 = 360;
    /// ipvsadm's longest timeout, 31 days.
    pub const MAX_TIMEOUT_S: u32 = 86400 * 31;
}

/// Connection timeouts, `--set tcp tcpfin udp` and `-L --timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp_s: u32,
    pub tcpfin_s: u32,
    pub udp_s: u32,
}
