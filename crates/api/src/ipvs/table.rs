//! The answer to `ipvs.list`: everything every listing needs.

use super::service::{Persistence, ServiceKey, Timeouts};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4};
use xlvs_config::{Forward, Protocol, Scheduler};

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
    #[serde(with = "crate::spelling")]
    pub protocol: Protocol,
    pub vip: Ipv4Addr,
    pub port: u16,
    #[serde(with = "crate::spelling")]
    pub scheduler: Scheduler,
    pub persistent: Option<Persistence>,
    /// FULLNAT services with `client_address = "toa"`: the TCP option kind
    /// that carries the client's address to the reals (an xlvs setting,
    /// listed after the persistence like ipvsadm's service flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toa_kind: Option<u8>,
    /// FULLNAT services with `client_address = "proxy-v2"` or
    /// `"proxy-v1"`: the PROXY protocol version (2 or 1) whose header
    /// starts each connection's stream to the reals (listed where `toa`
    /// is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<u8>,
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
    #[serde(with = "crate::spelling")]
    pub forward: Forward,
    pub weight: u16,
    #[serde(default)]
    pub active_conns: u64,
    #[serde(default)]
    pub inactive_conns: u64,
    /// Live persistence templates placing clients on this real (ipvsadm's
    /// PersistConn); 0 under mh, sh and dh, which keep none.
    #[serde(default)]
    pub persist_conns: u64,
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
    #[serde(with = "crate::spelling")]
    pub protocol: Protocol,
    /// Seconds until the entry expires.
    pub expire_s: u32,
    /// As ip_vs names them: `ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`, `UDP`...
    pub state: String,
    pub source: SocketAddrV4,
    #[serde(rename = "virtual")]
    pub virtual_addr: SocketAddrV4,
    pub destination: SocketAddrV4,
    /// With flow sync: the director that made the entry, when it is
    /// another one (the entry was installed from its report); absent for
    /// our own entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<std::net::Ipv4Addr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/xlvsadm.md, read and written back.
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
        assert_eq!(t.services[0].reals[0].forward, Forward::Dr);
        assert_eq!(t.services[0].protocol, Protocol::Tcp);
        assert_eq!(t.connections[0].virtual_addr.port(), 80);
        let back: IpvsTable = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    /// What may be left out reads as zero, false or empty.
    #[test]
    fn optional_fields_default() {
        let text = r#"{ "version": "xlvs 0.1.0", "conn_table_size": 1,
          "timeouts": {"tcp_s": 900, "tcpfin_s": 120, "udp_s": 300},
          "services": [ { "protocol": "UDP", "vip": "192.0.2.10", "port": 53,
              "scheduler": "sh", "persistent": null,
              "reals": [ {"address": "10.0.1.21", "port": 53, "forward": "Tunnel", "weight": 1} ] } ] }"#;
        let t: IpvsTable = serde_json::from_str(text).unwrap();
        let s = &t.services[0];
        assert_eq!((s.name.as_deref(), s.stats), (None, Stats::default()));
        assert!(!s.reals[0].sorry_server);
        assert!(t.connections.is_empty());
    }
}
