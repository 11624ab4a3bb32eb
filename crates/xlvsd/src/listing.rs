//! `xlvsadm -L` (command `ipvs.list`): the services as ipvsadm would list
//! them, with counters and rates from the data plane and, on request, the
//! connection table.

use crate::forwarder::Forwarder;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;
use xlvs_api::ipvs::{
    Connection, IpvsTable, Persistence, Rate, RealEntry, ServiceEntry, Stats, Timeouts,
};
use xlvs_api::Protocol;
use xlvs_dataplane::abi::{Traffic, CT_CLOSING};
use xlvs_dataplane::{Clock, RealSpec};

/// Most connection-table entries one listing shows.
const MAX_CONNECTIONS: usize = 10_000;

/// Counters at one moment, for rates.
#[derive(Default)]
pub struct Samples {
    at: Option<Instant>,
    last: BTreeMap<Key, Traffic>,
    rates: BTreeMap<Key, Rate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Service(u32),
    Real(u32),
}

fn stats(t: Traffic) -> Stats {
    // DR and TUN replies go from the real to the client directly: out
    // counts only NAT and FULLNAT replies.
    Stats {
        conns: t.conns,
        in_pkts: t.packets,
        out_pkts: t.packets_out,
        in_bytes: t.bytes,
        out_bytes: t.bytes_out,
    }
}

impl Samples {
    /// Takes a sample; rates are per second over the time since the last.
    pub fn take(&mut self, f: &Forwarder) {
        let now = Instant::now();
        let mut current = BTreeMap::new();
        for (id, slots) in f.slots_by_service() {
            if let Ok(t) = f.service_traffic(id) {
                current.insert(Key::Service(id), t);
            }
            for slot in slots {
                if let Ok(t) = f.real_traffic(slot) {
                    current.insert(Key::Real(slot), t);
                }
            }
        }
        if let Some(at) = self.at {
            let secs = now.duration_since(at).as_secs_f64().max(0.001);
            let per = |a: u64, b: u64| ((a.saturating_sub(b)) as f64 / secs) as u64;
            self.rates = current
                .iter()
                .filter_map(|(k, t)| {
                    let p = self.last.get(k)?;
                    Some((
                        *k,
                        Rate {
                            cps: per(t.conns, p.conns),
                            in_pps: per(t.packets, p.packets),
                            out_pps: per(t.packets_out, p.packets_out),
                            in_bps: per(t.bytes, p.bytes),
                            out_bps: per(t.bytes_out, p.bytes_out),
                        },
                    ))
                })
                .collect();
        }
        self.at = Some(now);
        self.last = current;
    }

    fn rate(&self, k: Key) -> Rate {
        self.rates.get(&k).copied().unwrap_or_default()
    }
}

pub fn table(f: &Forwarder, samples: &Samples, with_connections: bool) -> IpvsTable {
    table_and_census(f, samples, with_connections).0
}

/// The listing, and what its walk of the connection table counted (`None`
/// when the table could not be read).
pub fn table_and_census(
    f: &Forwarder,
    samples: &Samples,
    with_connections: bool,
) -> (IpvsTable, Option<Census>) {
    let g = f.globals();
    let timeouts = Timeouts {
        tcp_s: g.tcp_timeout_s,
        tcpfin_s: g.tcpfin_timeout_s,
        udp_s: g.udp_timeout_s,
    };
    // Without the data plane's clock no entry can be aged: none is counted.
    let clock = f.clock();
    let census = clock.and_then(|c| census(f, &timeouts, &c));
    let counts = census.as_ref().map(|c| &c.per_real);
    let mut services = Vec::new();
    for e in f.entries() {
        let spec = &e.spec;
        let svc_traffic = f.service_traffic(spec.id).unwrap_or_default();
        // One port per entry (forwarder/translate.rs).
        let port = e.port();
        let real = |r: &RealSpec, sorry_server: bool| {
            let slot = f.real_slot(spec.id, r.addr, r.port);
            let traffic = slot
                .and_then(|s| f.real_traffic(s).ok())
                .unwrap_or_default();
            let conns = slot.and_then(|s| counts?.get(&s)).copied();
            let persist_conns = slot
                .and_then(|s| census.as_ref()?.templates.get(&s))
                .copied()
                .unwrap_or(0);
            RealEntry {
                address: r.addr,
                port: if r.port == 0 { port } else { r.port },
                forward: spec.forward,
                // As programmed: 0 while the real is unusable or the
                // sorry server serves, less than configured in slow start.
                weight: e.programmed_weight(r).min(u32::from(u16::MAX)) as u16,
                active_conns: conns.map_or(0, |c| c.0),
                inactive_conns: conns.map_or(0, |c| c.1),
                persist_conns,
                stats: stats(traffic),
                rate: slot.map(|s| samples.rate(Key::Real(s))).unwrap_or_default(),
                sorry_server,
            }
        };
        let mut reals: Vec<RealEntry> = spec.reals.iter().map(|r| real(r, false)).collect();
        // Listed always, at the weight it has in the data plane. One at a
        // real's address and port is programmed in that real's place, so
        // that real's line already shows it.
        let sorry = e.policy.sorry.as_ref().filter(|s| {
            !spec
                .reals
                .iter()
                .any(|r| (r.addr, r.port) == (s.addr, s.port))
        });
        reals.extend(sorry.map(|s| real(s, true)));
        services.push(ServiceEntry {
            name: Some(e.name.clone()),
            protocol: spec.protocol,
            vip: spec.vip,
            port,
            scheduler: e.scheduler,
            persistent: e.persistence.map(|p| Persistence {
                timeout_s: p.0,
                netmask: p.1,
            }),
            toa_kind: spec.toa,
            proxy_protocol: spec.proxy.map(|v| match v {
                xlvs_dataplane::ProxyVersion::V1 => 1,
                xlvs_dataplane::ProxyVersion::V2 => 2,
            }),
            stats: stats(svc_traffic),
            rate: samples.rate(Key::Service(spec.id)),
            reals,
        });
    }
    let connections = match clock {
        Some(c) if with_connections => connections(f, &timeouts, &c),
        _ => Vec::new(),
    };
    let table = IpvsTable {
        version: format!("xlvs {}", env!("CARGO_PKG_VERSION")),
        conn_table_size: u64::from(f.conntrack_size()),
        timeouts,
        services,
        connections,
    };
    (table, census)
}

/// Whether a connection-table entry is still alive; its timeout and age.
fn live(
    k: &xlvs_dataplane::abi::FlowKey,
    c: &xlvs_dataplane::abi::Conn,
    t: &Timeouts,
    clock: &Clock,
) -> Option<u32> {
    let udp = Protocol::from_number(k.proto) == Some(Protocol::Udp);
    let timeout_s = match (udp, c.state) {
        (true, _) => t.udp_s,
        (false, CT_CLOSING) => t.tcpfin_s,
        _ => t.tcp_s,
    };
    let age_s = clock.since(c.last).as_secs();
    (age_s < u64::from(timeout_s)).then(|| timeout_s - age_s as u32)
}

/// One walk of the connection table.
#[derive(Debug, Default)]
pub struct Census {
    /// Per real slot: (active, inactive) connections, like ip_vs counts
    /// them (`xlvs_dataplane::is_active`).
    pub per_real: BTreeMap<u32, (u64, u64)>,
    /// Per real slot: live persistence templates (PersistConn).
    pub templates: BTreeMap<u32, u64>,
    /// Entries the table holds, expired ones waiting for eviction included.
    pub entries: u64,
    /// Of which alive.
    pub live: u64,
}

/// Counts the whole table (read in batches: a million entries in a
/// fraction of a second). `None`, logged, if it cannot be read.
fn census(f: &Forwarder, t: &Timeouts, clock: &Clock) -> Option<Census> {
    let mut out = Census::default();
    let walked = f.for_each_connection(|k, c| {
        if live(k, c, t, clock).is_none() {
            return;
        }
        out.live += 1;
        let e = out.per_real.entry(c.real).or_default();
        if xlvs_dataplane::is_active(k.proto, c.state) {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    });
    // Templates live for their service's persistence timeout.
    let persistence: BTreeMap<u32, u64> = f
        .entries()
        .iter()
        .filter_map(|e| Some((e.spec.id, u64::from(e.persistence?.0))))
        .collect();
    let templates = f.for_each_template(|k, t| {
        let live = persistence
            .get(&k.svc)
            .is_some_and(|&timeout| clock.since(t.last).as_secs() < timeout);
        if live {
            *out.templates.entry(t.real).or_default() += 1;
        }
    });
    match walked.and_then(|entries| templates.map(|_| entries)) {
        Ok(entries) => {
            out.entries = entries;
            Some(out)
        }
        Err(e) => {
            tracing::warn!(error = %e, "counting the connection table");
            None
        }
    }
}

fn connections(f: &Forwarder, t: &Timeouts, clock: &Clock) -> Vec<Connection> {
    let mut out = Vec::new();
    for (k, c) in f.connections(MAX_CONNECTIONS) {
        let udp = Protocol::from_number(k.proto) == Some(Protocol::Udp);
        // An expired entry waits for LRU eviction: not listed.
        let Some(expire_s) = live(&k, &c, t, clock) else {
            continue;
        };
        let Some(dest) = f.real_addr(c.real) else {
            continue;
        };
        let dport = u16::from_be_bytes(k.dport);
        out.push(Connection {
            protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
            expire_s,
            state: match (udp, c.state) {
                (true, _) => "UDP".into(),
                (false, CT_CLOSING) => "FIN_WAIT".into(),
                _ => "ESTABLISHED".into(),
            },
            source: SocketAddrV4::new(Ipv4Addr::from(k.src), u16::from_be_bytes(k.sport)),
            virtual_addr: SocketAddrV4::new(Ipv4Addr::from(k.dst), dport),
            destination: SocketAddrV4::new(dest.0, if dest.1 == 0 { dport } else { dest.1 }),
            owner: c.owner(),
        });
    }
    out
}
