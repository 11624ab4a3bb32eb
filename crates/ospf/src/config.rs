//! What the speaker is told (router id, area, interfaces) and the protocol
//! constants it runs by (RFC 2328 appendix B).

use std::net::Ipv4Addr;
use std::time::Duration;

/// RxmtInterval: resend unacknowledged LSAs, DBDs and LSRs after this.
pub const RXMT_INTERVAL: Duration = Duration::from_secs(5);
/// InfTransDelay: added to an LSA's age when it is sent.
pub const INF_TRANS_DELAY: u16 = 1;
/// MinLSInterval: at most one origination of an LSA per this interval.
pub const MIN_LS_INTERVAL: Duration = Duration::from_secs(5);
/// MinLSArrival: a newer copy arriving sooner than this is dropped.
pub const MIN_LS_ARRIVAL: Duration = Duration::from_secs(1);
/// How far apart we send two instances of an LSA of ours: MinLSArrival
/// plus a margin for the receiver's clock granularity.
pub const SENT_GAP: Duration = Duration::from_millis(1100);
/// LSRefreshTime: re-originate our LSAs this often.
pub const LS_REFRESH_TIME: Duration = Duration::from_secs(1800);
/// Delayed acknowledgements go out within this (shorter than RxmtInterval).
pub const ACK_DELAY: Duration = Duration::from_secs(1);

/// How VIPs are carried (see docs/ospf.md for the trade-off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VipMode {
    /// One /32 stub link per VIP in our Router-LSA: intra-area routes,
    /// limited by what one Router-LSA holds in one packet.
    #[default]
    RouterLsa,
    /// One AS-external LSA (type 5, E2) per VIP: no size limit, and a
    /// withdrawal touches only that VIP's LSA.
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkType {
    Broadcast,
    PointToPoint,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// Keyed MD5; the key is zero-padded to 16 bytes.
    Md5 {
        key_id: u8,
        key: [u8; 16],
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Md5 { key_id, .. } => write!(f, "Md5 {{ key_id: {key_id}, key: <hidden> }}"),
        }
    }
}

impl Auth {
    /// An MD5 key as configured (at most 16 bytes).
    pub fn md5(key_id: u8, key: &[u8]) -> Auth {
        let mut k = [0u8; 16];
        let n = key.len().min(16);
        k[..n].copy_from_slice(&key[..n]);
        Auth::Md5 { key_id, key: k }
    }
}

#[derive(Debug, Clone)]
pub struct InterfaceConfig {
    pub name: String,
    /// The interface's primary IPv4 address and prefix length.
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub mtu: u16,
    pub network: NetworkType,
    pub cost: u16,
    /// Seconds, as on the wire.
    pub hello_interval: u16,
    pub dead_interval: u32,
    pub mtu_ignore: bool,
    pub auth: Auth,
}

impl InterfaceConfig {
    pub fn mask(&self) -> Ipv4Addr {
        prefix_mask(self.prefix_len)
    }

    pub fn network_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & u32::from(self.mask()))
    }
}

pub fn prefix_mask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0),
    )
}

#[derive(Debug, Clone)]
pub struct Config {
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub vip_mode: VipMode,
    pub interfaces: Vec<InterfaceConfig>,
}
