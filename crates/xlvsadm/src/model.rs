//! The JSON model of the ipvsadm verbs between xlvsadm and xlvsd.
//!
//! Shared vocabulary ([`Protocol`], [`Forward`], [`Scheduler`],
//! [`ServiceKey`], [`Persistence`], [`Timeouts`]) used both by the requests
//! in [`crate::ipvsadm::IpvsOp`] and by [`IpvsTable`], the answer to
//! `ipvs.list`. The daemon produces exactly these types; field names and
//! spellings are the protocol (docs/xlvsadm.md), so change them only
//! together with xlvsd.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::str::FromStr;

/// `-t` / `-u`. Spelled as ipvsadm lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

impl Protocol {
    /// As in listings: `TCP`, `UDP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// The ipvsadm option that names a service of this protocol.
    pub fn flag(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Forwarding method of a real, named as in ipvsadm's Forward column.
/// ipvsadm's fourth method, `Local`, does not exist in xlvs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Forward {
    /// `-g`, direct routing (`dr` in the node config).
    Route,
    /// `-i`, IP-in-IP (`tun`).
    Tunnel,
    /// `-m`, NAT (`nat`).
    Masq,
    /// `--fullnat` (`fullnat`): source and destination rewritten.
    FullNat,
}

impl Forward {
    /// The Forward column of `-L`.
    pub fn as_str(self) -> &'static str {
        match self {
            Forward::Route => "Route",
            Forward::Tunnel => "Tunnel",
            Forward::Masq => "Masq",
            Forward::FullNat => "FullNat",
        }
    }

    /// The option that selects it, as `-S` prints it.
    pub fn flag(self) -> &'static str {
        match self {
            Forward::Route => "-g",
            Forward::Tunnel => "-i",
            Forward::Masq => "-m",
            Forward::FullNat => "--fullnat",
        }
    }

    /// Only NAT methods can send to a port other than the service's.
    pub fn maps_ports(self) -> bool {
        matches!(self, Forward::Masq | Forward::FullNat)
    }
}

/// Every scheduler ipvsadm can name. xlvsd's data plane runs only `mh`,
/// `sh` and `dh` and refuses the others; they parse so that the refusal comes from
/// the daemon, with its reason, rather than as a usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Mh,
    Fo,
    Ovf,
    Twos,
}

impl Scheduler {
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Mh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Twos,
    ];

    /// ipvsadm's default when `-s` is not given.
    pub const IPVSADM_DEFAULT: Scheduler = Scheduler::Wlc;

    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Mh => "mh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Twos => "twos",
        }
    }

    /// Whether xlvsd's XDP data plane can run it.
    pub fn in_dataplane(self) -> bool {
        matches!(self, Scheduler::Mh | Scheduler::Sh | Scheduler::Dh)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheduler {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Scheduler::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

/// A virtual service as ipvsadm names it: protocol, VIP, port (0 = every
/// port of the VIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceKey {
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
        write!(f, "{} {}", self.protocol, self.addr())
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

/// The answer to `ipvs.list`: everything every listing needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsTable {
    /// Shown where ipvsadm shows the IPVS version, e.g. `xlvs 0.1.0`.
    pub version: String,
    /// Size of the connection table (`[dataplane] conntrack_entries`).
    pub conn_table_size: u64,
    pub timeouts: Timeouts,
    pub services: Vec<ServiceEntry>,
    /// Only filled when the request asked for `connections`.
    #[serde(default)]
    pub connections: Vec<Connection>,
}

impl IpvsTable {
    /// Services in listing order: ipvsadm sorts by protocol, address, port
    /// unless `--nosort`.
    pub fn services_in_order(&self, sort: bool) -> Vec<&ServiceEntry> {
        let mut v: Vec<&ServiceEntry> = self.services.iter().collect();
        if sort {
            v.sort_by_key(|s| s.key());
        }
        v
    }

    pub fn service(&self, key: &ServiceKey) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.key() == *key)
    }
}

/// One virtual service. A node-config service with several ports is listed
/// once per port, each entry with the config service's `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// The node-config service name; `None` for a service made with `-A`.
    #[serde(default)]
    pub name: Option<String>,
    pub protocol: Protocol,
    pub vip: Ipv4Addr,
    pub port: u16,
    pub scheduler: Scheduler,
    pub persistent: Option<Persistence>,
    #[serde(default)]
    pub stats: Stats,
    #[serde(default)]
    pub rate: Rate,
    pub reals: Vec<RealEntry>,
}

impl ServiceEntry {
    pub fn key(&self) -> ServiceKey {
        ServiceKey {
            protocol: self.protocol,
            vip: self.vip,
            port: self.port,
        }
    }

    /// Reals in listing order: by address, then port, unless `--nosort`.
    pub fn reals_in_order(&self, sort: bool) -> Vec<&RealEntry> {
        let mut v: Vec<&RealEntry> = self.reals.iter().collect();
        if sort {
            v.sort_by_key(|r| (r.address, r.port));
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealEntry {
    pub address: Ipv4Addr,
    /// 0 under a port-0 service: the port the client connected to.
    pub port: u16,
    pub forward: Forward,
    pub weight: u16,
    #[serde(default)]
    pub active_conns: u64,
    #[serde(default)]
    pub inactive_conns: u64,
    #[serde(default)]
    pub stats: Stats,
    #[serde(default)]
    pub rate: Rate,
    /// The service's sorry server, listed like a real: weight 1 while the
    /// quorum is lost and it takes the new flows, 0 while it stands by.
    /// `-S` leaves it out (it is no real to restore).
    #[serde(default)]
    pub sorry_server: bool,
}

/// Counters since start or the last `-Z`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub in_pkts: u64,
    pub out_pkts: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
}

/// Per-second rates (bps are bytes per second, as in ipvsadm).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    pub in_bps: u64,
    pub out_bps: u64,
}

/// One connection-table entry, for `-L -c`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub protocol: Protocol,
    /// Seconds until the entry expires.
    pub expire_s: u32,
    /// As ip_vs names them: `ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`, `UDP`...
    pub state: String,
    pub source: SocketAddrV4,
    #[serde(rename = "virtual")]
    pub virtual_addr: SocketAddrV4,
    pub destination: SocketAddrV4,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_the_protocol() {
        assert_eq!(j(&Protocol::Tcp), r#""TCP""#);
        assert_eq!(j(&Forward::FullNat), r#""FullNat""#);
        assert_eq!(j(&Scheduler::Twos), r#""twos""#);
        for s in Scheduler::ALL {
            assert_eq!(j(&s), format!("\"{s}\""));
            assert_eq!(s.as_str().parse::<Scheduler>(), Ok(s));
        }
    }

    #[test]
    fn table_reads_the_documented_json() {
        let text = r#"{ "version": "xlvs 0.1.0", "conn_table_size": 1048576,
          "timeouts": {"tcp_s": 900, "tcpfin_s": 120, "udp_s": 300},
          "services": [ { "name": "web", "protocol": "TCP", "vip": "192.0.2.10", "port": 80,
              "scheduler": "mh", "persistent": {"timeout_s": 300, "netmask": "255.255.255.255"},
              "stats": {"conns": 1, "in_pkts": 2, "out_pkts": 3, "in_bytes": 4, "out_bytes": 5},
              "rate": {"cps": 1, "in_pps": 2, "out_pps": 3, "in_bps": 4, "out_bps": 5},
              "reals": [ {"address": "10.0.1.21", "port": 80, "forward": "Route", "weight": 100,
                  "active_conns": 0, "inactive_conns": 0,
                  "stats": {"conns": 0, "in_pkts": 0, "out_pkts": 0, "in_bytes": 0, "out_bytes": 0},
                  "rate": {"cps": 0, "in_pps": 0, "out_pps": 0, "in_bps": 0, "out_bps": 0}} ] } ],
          "connections": [ {"protocol": "TCP", "expire_s": 899, "state": "ESTABLISHED",
              "source": "198.51.100.7:40000", "virtual": "192.0.2.10:80",
              "destination": "10.0.1.21:80"} ] }"#;
        let t: IpvsTable = serde_json::from_str(text).unwrap();
        assert_eq!(t.services[0].reals[0].forward, Forward::Route);
        assert_eq!(t.connections[0].virtual_addr.port(), 80);
        let back: IpvsTable = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    fn j<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }
}
