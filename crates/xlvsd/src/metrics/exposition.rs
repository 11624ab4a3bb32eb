//! A scrape's snapshot in the text exposition format 0.0.4: each
//! family's HELP and TYPE, then its samples.

use super::snapshot::{Ospf, RealMetrics, Snapshot};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use xlvs_api::ipvs::{RealEntry, ServiceEntry};
use xlvs_api::reply::SyncReport;
use xlvs_ospf::InterfaceInfo;
use xlvs_sync::{BulkStatus, DropReason, Drops};

#[derive(Clone, Copy)]
pub(super) enum Kind {
    Counter,
    Gauge,
}

/// The text exposition format: each family's HELP and TYPE, then its
/// samples.
#[derive(Default)]
pub(super) struct Exposition {
    out: String,
}

pub(super) type Labels = Vec<(&'static str, String)>;

impl Exposition {
    /// A family and its samples; values are counts (`u64`) or seconds
    /// (`f64`).
    pub(super) fn family<V: std::fmt::Display>(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, V)>,
    ) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            self.out.push_str(name);
            if !labels.is_empty() {
                self.out.push('{');
                for (i, (k, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
                }
                self.out.push('}');
            }
            let _ = writeln!(self.out, " {value}");
        }
    }
}

/// A label value: backslash, double quote and line feed are escaped.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and line feed are escaped (quotes are not).
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn service_labels(s: &ServiceEntry) -> Labels {
    vec![
        ("service", s.name.clone().unwrap_or_default()),
        ("vip", s.vip.to_string()),
        ("port", s.port.to_string()),
        ("proto", s.protocol.ipvsadm_name().to_string()),
    ]
}

fn real_labels(s: &ServiceEntry, r: &RealEntry) -> Labels {
    let mut l = service_labels(s);
    l.push(("real", r.address.to_string()));
    l.push(("real_port", r.port.to_string()));
    l
}

fn bit(b: bool) -> u64 {
    u64::from(b)
}

/// The whole response body.
pub fn render(s: &Snapshot) -> String {
    use Kind::*;
    let mut e = Exposition::default();
    e.family(
        "xlvs_build_info",
        Gauge,
        "Always 1; the version of xlvsd.",
        [(vec![("version", env!("CARGO_PKG_VERSION").to_string())], 1)],
    );
    e.family(
        "xlvs_scrape_collector_success",
        Gauge,
        "1 if this part of the scrape could be read; its metrics are missing when 0.",
        [
            (vec![("collector", "ospf".into())], bit(s.ospf.is_some())),
            (
                vec![("collector", "dataplane".into())],
                bit(s.dataplane.is_some()),
            ),
        ],
    );

    type OfService = fn(&ServiceEntry) -> u64;
    let services: [(&str, Kind, &str, OfService); 5] = [
        (
            "xlvs_service_connections_total",
            Counter,
            "Connections scheduled by this director for the service (ipvsadm -L --stats Conns); reset by xlvsadm -Z.",
            |x| x.stats.conns,
        ),
        (
            "xlvs_service_packets_in_total",
            Counter,
            "Packets from clients forwarded for the service (InPkts); DR and TUN replies bypass the director.",
            |x| x.stats.in_pkts,
        ),
        (
            "xlvs_service_bytes_in_total",
            Counter,
            "Bytes from clients forwarded for the service (InBytes).",
            |x| x.stats.in_bytes,
        ),
        (
            "xlvs_service_packets_out_total",
            Counter,
            "Replies from reals forwarded to clients (OutPkts): NAT and FULLNAT only.",
            |x| x.stats.out_pkts,
        ),
        (
            "xlvs_service_bytes_out_total",
            Counter,
            "Bytes of replies from reals forwarded to clients (OutBytes): NAT and FULLNAT only.",
            |x| x.stats.out_bytes,
        ),
    ];
    for (name, kind, help, f) in services {
        let samples = s
            .services
            .iter()
            .map(|x| (service_labels(&x.entry), f(&x.entry)));
        e.family(name, kind, help, samples);
    }

    type OfReal = fn(&RealMetrics) -> u64;
    let reals: [(&str, Kind, &str, OfReal); 10] = [
        (
            "xlvs_real_connections_total",
            Counter,
            "Connections scheduled to the real server by this director.",
            |r| r.entry.stats.conns,
        ),
        (
            "xlvs_real_packets_in_total",
            Counter,
            "Packets forwarded to the real server.",
            |r| r.entry.stats.in_pkts,
        ),
        (
            "xlvs_real_bytes_in_total",
            Counter,
            "Bytes forwarded to the real server.",
            |r| r.entry.stats.in_bytes,
        ),
        (
            "xlvs_real_packets_out_total",
            Counter,
            "Replies from the real server forwarded to clients: NAT and FULLNAT only.",
            |r| r.entry.stats.out_pkts,
        ),
        (
            "xlvs_real_bytes_out_total",
            Counter,
            "Bytes of replies from the real server forwarded to clients: NAT and FULLNAT only.",
            |r| r.entry.stats.out_bytes,
        ),
        (
            "xlvs_real_connections_active",
            Gauge,
            "Established TCP connections to the real server in the connection table (ActiveConn).",
            |r| r.entry.active_conns,
        ),
        (
            "xlvs_real_connections_inactive",
            Gauge,
            "Other live connection-table entries of the real server: closing TCP, UDP (InActConn).",
            |r| r.entry.inactive_conns,
        ),
        (
            "xlvs_real_weight",
            Gauge,
            "Weight new flows see, as xlvsadm -L shows it: the configured weight, 0 while the real cannot take new flows.",
            |r| u64::from(r.entry.weight),
        ),
        (
            "xlvs_real_weight_configured",
            Gauge,
            "Weight set in the config or by xlvsadm -e.",
            |r| u64::from(r.weight),
        ),
        (
            "xlvs_real_up",
            Gauge,
            "1 while the real server passes its health check (always with check = \"none\"), 0 while it fails.",
            |r| bit(r.healthy),
        ),
    ];
    for (name, kind, help, f) in reals {
        let samples = s.services.iter().flat_map(|x| {
            x.reals
                .iter()
                .map(move |r| (real_labels(&x.entry, &r.entry), f(r)))
        });
        e.family(name, kind, help, samples);
    }

    let vip = |v: &Ipv4Addr| vec![("vip", v.to_string())];
    e.family(
        "xlvs_vip_ready",
        Gauge,
        "1 when the data plane can serve the VIP (a service of it has its quorum of usable reals and is not drained).",
        s.vips.iter().map(|(v, ready, _)| (vip(v), bit(*ready))),
    );
    e.family(
        "xlvs_vip_announced",
        Gauge,
        "1 while this director announces the VIP over OSPF.",
        s.vips
            .iter()
            .filter_map(|(v, _, a)| a.map(|a| (vip(v), bit(a)))),
    );

    if let Some(o) = &s.ospf {
        render_ospf(&mut e, o);
    }
    if let Some(b) = &s.bfd {
        super::bfd::render(&mut e, b);
    }
    if let Some(stats) = &s.dataplane {
        render_dataplane(&mut e, stats);
    }
    super::ipvs_compat::render(&mut e, &s.services);
    if let Some(c) = &s.conntrack {
        for (name, help, v) in [
            (
                "xlvs_conntrack_entries",
                "Entries in the connection table, expired ones waiting for eviction included.",
                c.entries,
            ),
            (
                "xlvs_conntrack_entries_live",
                "Entries in the connection table whose flow has not timed out.",
                c.live,
            ),
            (
                "xlvs_conntrack_capacity",
                "Entries the connection table can hold ([dataplane] conntrack_entries); past it the least recently used go first.",
                c.capacity,
            ),
        ] {
            e.family(name, Gauge, help, [(vec![], v)]);
        }
    }
    e.family(
        "xlvs_config_last_reload_successful",
        Gauge,
        "1 if the last reload (xlvsadm reload, SIGHUP) put the file in force, 0 if it was refused (the previous config runs on).",
        [(vec![], bit(s.reload.last_ok))],
    );
    e.family(
        "xlvs_config_last_reload_success_timestamp_seconds",
        Gauge,
        "When the config in force was loaded (start or last successful reload), in seconds since the epoch.",
        [(vec![], super::process::unix_seconds(s.reload.last_success))],
    );
    if let Some(p) = &s.process {
        render_process(&mut e, p);
    }
    if let Some(sync) = &s.sync {
        render_sync(&mut e, sync, s.dataplane.is_some());
    }
    e.out
}

/// The XDP program's counters, in families whose sums mean something
/// (dataplane.rs).
fn render_dataplane(e: &mut Exposition, stats: &[(&'static str, u64)]) {
    use super::dataplane::{family, Family};
    use Kind::*;
    let of = |want: fn(Family) -> Option<Labels>| {
        stats
            .iter()
            .filter_map(move |(name, v)| Some((want(family(name))?, *v)))
            .collect::<Vec<_>>()
    };
    let packets = stats.iter().filter_map(|(name, v)| match family(name) {
        Family::Packets { action } => Some((
            vec![("action", action.to_string()), ("reason", name.to_string())],
            *v,
        )),
        _ => None,
    });
    e.family(
        "xlvs_dataplane_packets_total",
        Counter,
        "Packets the XDP program handled, each counted once by what became of it: action pass (to the kernel), drop, tx or redirect (forwarded); reason as xlvsadm dataplane names it.",
        packets.collect::<Vec<_>>(),
    );
    e.family(
        "xlvs_dataplane_connection_lookups_total",
        Counter,
        "Forwarded packets by what the connection table said: hit (a known flow, flow-cache hits included) or new (scheduled now).",
        of(|f| match f {
            Family::Lookups { result } => Some(vec![("result", result.to_string())]),
            _ => None,
        }),
    );
    e.family(
        "xlvs_dataplane_flow_cache_hits_total",
        Counter,
        "Packets forwarded from the flow cache without a service, connection or route lookup.",
        of(|f| (f == Family::FlowCacheHits).then(Vec::new)),
    );
    e.family(
        "xlvs_dataplane_icmp_errors_total",
        Counter,
        "ICMP errors about a flow forwarded along it: to_real (from the client side) or to_client (from a real, NAT and FULLNAT).",
        of(|f| match f {
            Family::IcmpErrors { direction } => Some(vec![("direction", direction.to_string())]),
            _ => None,
        }),
    );
    e.family(
        "xlvs_dataplane_syn_untracked_total",
        Counter,
        "DR and TUN SYNs forwarded without a connection entry: over the SYN flood threshold of their CPU.",
        of(|f| (f == Family::SynUntracked).then(Vec::new)),
    );
    e.family(
        "xlvs_dataplane_toa_options_total",
        Counter,
        "FULLNAT packets due a TOA option (client_address = \"toa\"): added, or skipped for want of room (sent unchanged).",
        of(|f| match f {
            Family::Toa { result } => Some(vec![("result", result.to_string())]),
            _ => None,
        }),
    );
    e.family(
        "xlvs_dataplane_proxy_headers_total",
        Counter,
        "FULLNAT segments sent to a real with a PROXY protocol header (client_address = \"proxy-v2\" or \"proxy-v1\"): the handshake's ACK, a first data segment, and each of them sent again.",
        of(|f| (f == Family::ProxyHeaders).then(Vec::new)),
    );
    e.family(
        "xlvs_dataplane_proxy_header_alone_total",
        Counter,
        "First data segments with no room for the PROXY header in the egress MTU, sent as the header alone (the client sends the data again).",
        of(|f| (f == Family::ProxyHeaderAlone).then(Vec::new)),
    );
    e.family(
        "xlvs_dataplane_proxy_dropped_total",
        Counter,
        "Segments due the PROXY header that could not carry it (IP options, no room): dropped, the client sends them again.",
        of(|f| (f == Family::ProxyDropped).then(Vec::new)),
    );
    e.family(
        "xlvs_dataplane_next_hops_total",
        Counter,
        "TUN, NAT and FULLNAT packets whose next hop came from the next hop map (map) or, without a usable entry, from a FIB lookup (fib).",
        of(|f| match f {
            Family::NextHops { result } => Some(vec![("result", result.to_string())]),
            _ => None,
        }),
    );
    let other = of(|f| (f == Family::Other).then(Vec::new));
    if !other.is_empty() {
        e.family(
            "xlvs_dataplane_other_total",
            Counter,
            "Counters of the data plane this xlvsd does not sort yet, by name.",
            stats
                .iter()
                .filter(|(name, _)| family(name) == Family::Other)
                .map(|(name, v)| (vec![("counter", name.to_string())], *v))
                .collect::<Vec<_>>(),
        );
    }
}

/// The process families every Prometheus client library exports.
fn render_process(e: &mut Exposition, p: &super::process::Process) {
    use Kind::*;
    e.family(
        "process_resident_memory_bytes",
        Gauge,
        "Resident memory size in bytes.",
        [(vec![], p.resident_bytes)],
    );
    e.family(
        "process_virtual_memory_bytes",
        Gauge,
        "Virtual memory size in bytes.",
        [(vec![], p.virtual_bytes)],
    );
    e.family(
        "process_cpu_seconds_total",
        Counter,
        "Total user and system CPU time spent in seconds.",
        [(vec![], p.cpu_seconds)],
    );
    e.family(
        "process_open_fds",
        Gauge,
        "Number of open file descriptors.",
        [(vec![], p.open_fds)],
    );
    e.family(
        "process_max_fds",
        Gauge,
        "Maximum number of open file descriptors.",
        [(vec![], p.max_fds)],
    );
    e.family(
        "process_start_time_seconds",
        Gauge,
        "Start time of the process since unix epoch in seconds.",
        [(vec![], p.start_time)],
    );
}

/// Flow sync (`[cluster]`): the report `xlvsadm sync` shows.
/// `ring_full_read`: whether `table.ring_full` was read from the data
/// plane this scrape.
fn render_sync(e: &mut Exposition, r: &SyncReport, ring_full_read: bool) {
    use Kind::*;
    let p = &r.protocol;
    let peer = |addr: &Ipv4Addr| vec![("peer", addr.to_string())];
    e.family(
        "xlvs_sync_peer_up",
        Gauge,
        "1 while the sync peer is up (a valid Hello within the hold time it announces), 0 while it is down; name is the one its Hellos give (empty before the first).",
        p.peers.iter().map(|x| {
            let mut labels = peer(&x.addr);
            labels.push(("name", x.name.clone()));
            (labels, bit(x.up))
        }),
    );
    e.family(
        "xlvs_sync_peer_last_heard_seconds",
        Gauge,
        "Seconds since the last authenticated datagram from the sync peer (none before the first).",
        p.peers.iter().filter_map(|x| {
            let ms = x.last_heard_ms_ago?;
            Some((peer(&x.addr), ms as f64 / 1000.0))
        }),
    );
    e.family(
        "xlvs_sync_datagrams_sent_total",
        Counter,
        "Sync datagrams sent: Hellos, entries, table transfers; each unicast copy counts.",
        [(vec![], p.datagrams_sent)],
    );
    e.family(
        "xlvs_sync_entries_sent_total",
        Counter,
        "Entry records in the sync datagrams sent (live and table transfers; each unicast copy counts).",
        [(vec![], p.entries_sent)],
    );
    e.family(
        "xlvs_sync_datagrams_received_total",
        Counter,
        "Authenticated sync datagrams accepted from the peer.",
        p.peers
            .iter()
            .map(|x| (peer(&x.addr), x.counters.datagrams_received)),
    );
    e.family(
        "xlvs_sync_entries_received_total",
        Counter,
        "Entry records in the sync datagrams accepted from the peer (live and table transfers).",
        p.peers
            .iter()
            .map(|x| (peer(&x.addr), x.counters.entries_received)),
    );
    let drops = |who: String, d: &Drops| {
        DropReason::ALL
            .into_iter()
            .map(move |reason| {
                let labels = vec![("peer", who.clone()), ("reason", reason.name().to_string())];
                (labels, d.get(reason))
            })
            .collect::<Vec<_>>()
    };
    e.family(
        "xlvs_sync_drops_total",
        Counter,
        "Sync datagrams dropped, by sender (peer=\"unknown\": not a peer, or a header that could not be read) and reason.",
        p.peers
            .iter()
            .flat_map(|x| drops(x.addr.to_string(), &x.counters.drops))
            .chain(drops("unknown".to_string(), &p.unknown_drops)),
    );
    let t = &r.table;
    let result = |name: &str, n: u64| (vec![("result", name.to_string())], n);
    e.family(
        "xlvs_sync_entries_total",
        Counter,
        "Entries received from the peers, by what the connection table did with them: installed, refreshed, removed, or the reason it left them out.",
        [
            result("installed", t.installed),
            result("refreshed", t.refreshed),
            result("removed", t.removed),
        ]
        .into_iter()
        .chain(t.not_installed.iter().map(|(why, n)| result(why, *n))),
    );
    e.family(
        "xlvs_sync_published_total",
        Counter,
        "Entries the data plane reported (new, refreshed, closing) and this director published to its peers.",
        [(vec![], t.published)],
    );
    let x = &t.templates;
    e.family(
        "xlvs_sync_templates_total",
        Counter,
        "Persistence templates received from the peers, by what the templates map did with them: installed, refreshed, or the reason it left them out.",
        [
            result("installed", x.installed),
            result("refreshed", x.refreshed),
        ]
        .into_iter()
        .chain(x.not_installed.iter().map(|(why, n)| result(why, *n))),
    );
    e.family(
        "xlvs_sync_templates_published_total",
        Counter,
        "Persistence templates the data plane reported (made, refreshed) and this director published to its peers.",
        [(vec![], x.published)],
    );
    if ring_full_read {
        e.family(
            "xlvs_sync_ring_full_total",
            Counter,
            "Entry reports the data plane could not put in its sync ring (full): those entries did not reach the peers.",
            [(vec![], t.ring_full)],
        );
    }
    e.family(
        "xlvs_sync_table_transfer",
        Gauge,
        "1 for the status of fetching the cluster's table at start (not_started, waiting_for_peer, fetching, done, alone, timed_out), 0 for the others.",
        BulkStatus::NAMES
            .into_iter()
            .map(|name| (vec![("status", name.to_string())], bit(p.bulk.name() == name))),
    );
    e.family(
        "xlvs_sync_table_entries",
        Gauge,
        "Entries of the cluster's table fetched at start: so far while fetching, all of them once done.",
        [(vec![], u64::from(p.bulk.entries()))],
    );
}

fn render_ospf(e: &mut Exposition, o: &Ospf) {
    use Kind::*;
    e.family(
        "xlvs_ospf_neighbor_state",
        Gauge,
        "OSPF neighbor state as numbered by the OSPF-MIB: 1 Down, 2 Attempt, 3 Init, 4 2-Way, 5 ExStart, 6 Exchange, 7 Loading, 8 Full.",
        o.neighbors.iter().map(|n| {
            let labels = vec![
                ("interface", n.interface.clone()),
                ("neighbor", n.router_id.to_string()),
                ("address", n.address.to_string()),
            ];
            (labels, u64::from(n.state.mib_number()))
        }),
    );
    let itf = |f: fn(&InterfaceInfo) -> usize| {
        o.interfaces
            .iter()
            .map(move |i| (vec![("interface", i.name.clone())], f(i) as u64))
    };
    e.family(
        "xlvs_ospf_interface_neighbors",
        Gauge,
        "OSPF neighbors heard on the interface.",
        itf(|i| i.neighbors),
    );
    e.family(
        "xlvs_ospf_interface_adjacencies",
        Gauge,
        "OSPF neighbors in state Full on the interface.",
        itf(|i| i.adjacent),
    );
    let s = &o.stats;
    for (name, help, v) in [
        (
            "xlvs_ospf_packets_received_total",
            "OSPF packets received.",
            s.rx_packets,
        ),
        (
            "xlvs_ospf_packets_sent_total",
            "OSPF packets sent.",
            s.tx_packets,
        ),
        (
            "xlvs_ospf_packets_malformed_total",
            "OSPF packets dropped because they did not parse (length, checksum, version).",
            s.malformed,
        ),
        (
            "xlvs_ospf_auth_failures_total",
            "OSPF packets dropped by authentication (type, key id, digest, sequence).",
            s.auth_failures,
        ),
        (
            "xlvs_ospf_lsa_checksum_errors_total",
            "LSAs dropped for a bad checksum.",
            s.bad_lsa_checksums,
        ),
    ] {
        e.family(name, Counter, help, [(vec![], v)]);
    }
    e.family(
        "xlvs_ospf_config_mismatches_total",
        Counter,
        "OSPF packets ignored for a configuration mismatch with the neighbor, by kind (hello interval, MTU, ...).",
        s.mismatches
            .iter()
            .map(|(kind, v)| (vec![("kind", kind.to_string())], *v)),
    );
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::{Ospf, ServiceMetrics};
    use super::*;
    use xlvs_api::ipvs::{Rate, Stats};
    use xlvs_api::{Forward, Protocol, Scheduler};
    use xlvs_ospf::NeighborInfo;

    fn stats(conns: u64, pkts: u64, bytes: u64) -> Stats {
        Stats {
            conns,
            in_pkts: pkts,
            out_pkts: 0,
            in_bytes: bytes,
            out_bytes: 0,
        }
    }

    fn real(addr: [u8; 4], weight: u16) -> RealEntry {
        RealEntry {
            address: Ipv4Addr::from(addr),
            port: 80,
            forward: Forward::Dr,
            weight,
            active_conns: 3,
            inactive_conns: 4,
            persist_conns: 0,
            stats: stats(5, 60, 7000),
            rate: Rate::default(),
            sorry_server: false,
        }
    }

    fn snapshot() -> Snapshot {
        let entry = ServiceEntry {
            name: Some("web \"eu\"\\\nnew".into()),
            protocol: Protocol::Tcp,
            vip: Ipv4Addr::new(192, 0, 2, 10),
            port: 80,
            scheduler: Scheduler::Mh,
            persistent: None,
            toa_kind: None,
            proxy_protocol: None,
            stats: stats(10, 120, 14000),
            rate: Rate::default(),
            reals: vec![real([10, 0, 1, 21], 2), real([10, 0, 1, 22], 0)],
        };
        let reals = vec![
            RealMetrics {
                entry: entry.reals[0].clone(),
                weight: 2,
                healthy: true,
            },
            RealMetrics {
                entry: entry.reals[1].clone(),
                weight: 1,
                healthy: false,
            },
        ];
        let mut stats = xlvs_ospf::Stats {
            rx_packets: 11,
            tx_packets: 12,
            ..Default::default()
        };
        stats.mismatches.insert("hello interval", 2);
        Snapshot {
            services: vec![ServiceMetrics { entry, reals }],
            vips: vec![(Ipv4Addr::new(192, 0, 2, 10), true, Some(true))],
            ospf: Some(Ospf {
                neighbors: vec![NeighborInfo {
                    interface: "eth1".into(),
                    router_id: Ipv4Addr::new(10, 255, 0, 1),
                    address: Ipv4Addr::new(10, 0, 1, 1),
                    priority: 1,
                    state: xlvs_ospf::neighbor::NbrState::Full,
                    role: "DR",
                    dead_in_ms: 0,
                    up_for_s: 0,
                    retransmit: 0,
                    requests: 0,
                    summary: 0,
                }],
                interfaces: vec![],
                stats,
            }),
            bfd: None,
            dataplane: Some(vec![
                ("drop_no_real", 9),
                ("tx_dr", 100),
                ("conntrack_hit", 80),
                ("conntrack_new", 20),
                ("flow_cache_hit", 70),
                ("icmp_to_real", 1),
                ("a_future_counter", 5),
            ]),
            sync: Some(sync_report()),
            conntrack: Some(super::super::snapshot::Occupancy {
                entries: 120,
                live: 100,
                capacity: 1 << 20,
            }),
            reload: crate::node::ReloadStatus {
                last_ok: false,
                last_success: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_900_000),
            },
            process: Some(super::super::process::Process {
                resident_bytes: 1 << 24,
                virtual_bytes: 1 << 30,
                cpu_seconds: 1.5,
                open_fds: 12,
                max_fds: 1024,
                start_time: 1_764_899_000.25,
            }),
        }
    }

    /// Two peers: lb2 up and heard, 10.0.2.14 configured and never heard.
    fn sync_report() -> SyncReport {
        use xlvs_api::reply::SyncTable;
        use xlvs_sync::{Counters, NodeState, PeerStats};
        let mut drops = Drops::default();
        drops.add(DropReason::Auth);
        drops.add(DropReason::Auth);
        drops.add(DropReason::Replay);
        let mut unknown = Drops::default();
        unknown.add(DropReason::UnknownPeer);
        let lb2 = PeerStats {
            addr: Ipv4Addr::new(10, 0, 2, 12),
            configured: true,
            up: true,
            state: Some(NodeState::Ready),
            name: "lb2".into(),
            local_addresses: vec![],
            session: Some(1),
            last_heard_ms_ago: Some(250),
            counters: Counters {
                datagrams_sent: 40,
                entries_sent: 300,
                datagrams_received: 31,
                entries_received: 211,
                installs: 200,
                removes: 11,
                bulk_ignored: 0,
                drops,
            },
        };
        let silent = PeerStats {
            addr: Ipv4Addr::new(10, 0, 2, 14),
            configured: true,
            up: false,
            state: None,
            name: String::new(),
            local_addresses: vec![],
            session: None,
            last_heard_ms_ago: None,
            counters: Counters::default(),
        };
        let mut table = SyncTable {
            published: 150,
            ring_full: 3,
            installed: 180,
            refreshed: 15,
            removed: 10,
            ..Default::default()
        };
        table.not_installed.insert("ours_is_lower".into(), 4);
        table.not_installed.insert("no_service".into(), 2);
        table.templates.published = 7;
        table.templates.installed = 5;
        table.templates.not_installed.insert("no_real".into(), 1);
        SyncReport {
            protocol: xlvs_sync::Stats {
                address: Ipv4Addr::new(10, 0, 2, 11),
                session: 1,
                state: NodeState::Ready,
                peers: vec![lb2, silent],
                unknown_drops: unknown,
                datagrams_sent: 80,
                entries_sent: 600,
                bulk: BulkStatus::Done {
                    peer: Ipv4Addr::new(10, 0, 2, 12),
                    entries: 1234,
                },
                queued_datagrams: 0,
                pending_entries: 0,
                serving_entries: 0,
            },
            table,
            peer_local_addresses: vec![],
        }
    }

    /// The lines of `text` naming metric `name` (samples only).
    fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
            .collect()
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label("plain 1.2.3.4"), "plain 1.2.3.4");
        assert_eq!(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
        let text = render(&snapshot());
        assert!(text.contains(r#"service="web \"eu\"\\\nnew""#), "{text}");
    }

    #[test]
    fn every_family_has_help_then_type_then_its_samples() {
        let text = render(&snapshot());
        let mut families: Vec<String> = Vec::new();
        let mut current: Option<(String, bool)> = None; // (name, typed)
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap().to_string();
                assert!(!families.contains(&name), "{name} twice");
                families.push(name.clone());
                current = Some((name, false));
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                let cur = current.as_mut().expect("TYPE after HELP");
                assert_eq!(cur.0, name);
                assert!(["counter", "gauge"].contains(&kind), "{line}");
                assert_eq!(name.ends_with("_total"), kind == "counter", "{line}");
                cur.1 = true;
            } else {
                let (cur, typed) = current.as_ref().expect("sample after TYPE");
                assert!(typed);
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(name, cur, "sample outside its family: {line}");
                let valid = name.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
                });
                let ours = name.starts_with("xlvs_") || name.starts_with("process_");
                assert!(valid && ours, "{name}");
                let value = line.rsplit(' ').next().unwrap();
                value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
            }
        }
        assert!(text.ends_with('\n'));
        assert!(families.len() > 20, "{families:?}");
    }

    #[test]
    fn values_come_from_the_snapshot() {
        let text = render(&snapshot());
        let l = r#"service="web \"eu\"\\\nnew",vip="192.0.2.10",port="80",proto="TCP""#;
        assert_eq!(
            samples(&text, "xlvs_service_packets_in_total"),
            [format!("xlvs_service_packets_in_total{{{l}}} 120")]
        );
        let up = samples(&text, "xlvs_real_up");
        assert_eq!(up.len(), 2);
        assert!(
            up[0].ends_with(r#"real="10.0.1.21",real_port="80"} 1"#),
            "{up:?}"
        );
        assert!(
            up[1].ends_with(r#"real="10.0.1.22",real_port="80"} 0"#),
            "{up:?}"
        );
        assert!(samples(&text, "xlvs_real_weight")[1].ends_with(" 0"));
        assert!(samples(&text, "xlvs_real_weight_configured")[1].ends_with(" 1"));
        assert_eq!(
            samples(&text, "xlvs_ospf_neighbor_state"),
            [
                r#"xlvs_ospf_neighbor_state{interface="eth1",neighbor="10.255.0.1",address="10.0.1.1"} 8"#
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_ospf_config_mismatches_total"),
            [r#"xlvs_ospf_config_mismatches_total{kind="hello interval"} 2"#]
        );
        assert_eq!(
            samples(&text, "xlvs_ospf_packets_sent_total"),
            ["xlvs_ospf_packets_sent_total 12"]
        );
        assert_eq!(
            samples(&text, "xlvs_dataplane_packets_total"),
            [
                r#"xlvs_dataplane_packets_total{action="drop",reason="drop_no_real"} 9"#,
                r#"xlvs_dataplane_packets_total{action="tx",reason="tx_dr"} 100"#
            ]
        );
        // The counters about packets already counted, in their own families.
        assert_eq!(
            samples(&text, "xlvs_dataplane_connection_lookups_total"),
            [
                r#"xlvs_dataplane_connection_lookups_total{result="hit"} 80"#,
                r#"xlvs_dataplane_connection_lookups_total{result="new"} 20"#
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_dataplane_flow_cache_hits_total"),
            ["xlvs_dataplane_flow_cache_hits_total 70"]
        );
        assert_eq!(
            samples(&text, "xlvs_dataplane_icmp_errors_total"),
            [r#"xlvs_dataplane_icmp_errors_total{direction="to_real"} 1"#]
        );
        assert_eq!(
            samples(&text, "xlvs_dataplane_other_total"),
            [r#"xlvs_dataplane_other_total{counter="a_future_counter"} 5"#]
        );
        // node_exporter's ipvs families: totals, and one series per real.
        assert_eq!(
            samples(&text, "xlvs_ipvs_incoming_packets_total"),
            ["xlvs_ipvs_incoming_packets_total 120"]
        );
        assert_eq!(
            samples(&text, "xlvs_ipvs_backend_weight"),
            [
                r#"xlvs_ipvs_backend_weight{local_address="192.0.2.10",local_port="80",remote_address="10.0.1.21",remote_port="80",proto="TCP",local_mark=""} 2"#,
                r#"xlvs_ipvs_backend_weight{local_address="192.0.2.10",local_port="80",remote_address="10.0.1.22",remote_port="80",proto="TCP",local_mark=""} 0"#
            ]
        );
        assert!(samples(&text, "xlvs_ipvs_backend_connections_active")[0].ends_with(" 3"));
        assert!(samples(&text, "xlvs_ipvs_backend_connections_inactive")[0].ends_with(" 4"));
        assert_eq!(
            samples(&text, "xlvs_conntrack_entries"),
            ["xlvs_conntrack_entries 120"]
        );
        assert_eq!(
            samples(&text, "xlvs_conntrack_capacity"),
            ["xlvs_conntrack_capacity 1048576"]
        );
        assert_eq!(
            samples(&text, "xlvs_config_last_reload_successful"),
            ["xlvs_config_last_reload_successful 0"]
        );
        assert_eq!(
            samples(&text, "xlvs_config_last_reload_success_timestamp_seconds"),
            ["xlvs_config_last_reload_success_timestamp_seconds 1764900000"]
        );
        assert_eq!(
            samples(&text, "process_start_time_seconds"),
            ["process_start_time_seconds 1764899000.25"]
        );
        assert_eq!(samples(&text, "process_open_fds"), ["process_open_fds 12"]);
        assert_eq!(
            samples(&text, "xlvs_vip_announced"),
            [r#"xlvs_vip_announced{vip="192.0.2.10"} 1"#]
        );
    }

    #[test]
    fn sync_families_come_from_the_sync_report() {
        let text = render(&snapshot());
        assert_eq!(
            samples(&text, "xlvs_sync_peer_up"),
            [
                r#"xlvs_sync_peer_up{peer="10.0.2.12",name="lb2"} 1"#,
                r#"xlvs_sync_peer_up{peer="10.0.2.14",name=""} 0"#
            ]
        );
        // Never heard: no series; milliseconds as a fraction of seconds.
        assert_eq!(
            samples(&text, "xlvs_sync_peer_last_heard_seconds"),
            [r#"xlvs_sync_peer_last_heard_seconds{peer="10.0.2.12"} 0.25"#]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_datagrams_sent_total"),
            ["xlvs_sync_datagrams_sent_total 80"]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_entries_sent_total"),
            ["xlvs_sync_entries_sent_total 600"]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_datagrams_received_total"),
            [
                r#"xlvs_sync_datagrams_received_total{peer="10.0.2.12"} 31"#,
                r#"xlvs_sync_datagrams_received_total{peer="10.0.2.14"} 0"#
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_entries_received_total")[0],
            r#"xlvs_sync_entries_received_total{peer="10.0.2.12"} 211"#
        );
        // Every reason for every peer and for the unknown senders, so that
        // rate() has a series from the start.
        let drops = samples(&text, "xlvs_sync_drops_total");
        assert_eq!(drops.len(), 3 * DropReason::ALL.len(), "{drops:#?}");
        for line in [
            r#"xlvs_sync_drops_total{peer="10.0.2.12",reason="auth"} 2"#,
            r#"xlvs_sync_drops_total{peer="10.0.2.12",reason="replay"} 1"#,
            r#"xlvs_sync_drops_total{peer="10.0.2.12",reason="truncated"} 0"#,
            r#"xlvs_sync_drops_total{peer="10.0.2.14",reason="auth"} 0"#,
            r#"xlvs_sync_drops_total{peer="unknown",reason="unknown_peer"} 1"#,
        ] {
            assert!(drops.contains(&line), "{line} not in {drops:#?}");
        }
        assert_eq!(
            samples(&text, "xlvs_sync_entries_total"),
            [
                r#"xlvs_sync_entries_total{result="installed"} 180"#,
                r#"xlvs_sync_entries_total{result="refreshed"} 15"#,
                r#"xlvs_sync_entries_total{result="removed"} 10"#,
                r#"xlvs_sync_entries_total{result="no_service"} 2"#,
                r#"xlvs_sync_entries_total{result="ours_is_lower"} 4"#,
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_published_total"),
            ["xlvs_sync_published_total 150"]
        );
        // Templates apart from entries.
        assert_eq!(
            samples(&text, "xlvs_sync_templates_total"),
            [
                r#"xlvs_sync_templates_total{result="installed"} 5"#,
                r#"xlvs_sync_templates_total{result="refreshed"} 0"#,
                r#"xlvs_sync_templates_total{result="no_real"} 1"#,
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_templates_published_total"),
            ["xlvs_sync_templates_published_total 7"]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_ring_full_total"),
            ["xlvs_sync_ring_full_total 3"]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_table_transfer"),
            [
                r#"xlvs_sync_table_transfer{status="not_started"} 0"#,
                r#"xlvs_sync_table_transfer{status="waiting_for_peer"} 0"#,
                r#"xlvs_sync_table_transfer{status="fetching"} 0"#,
                r#"xlvs_sync_table_transfer{status="done"} 1"#,
                r#"xlvs_sync_table_transfer{status="alone"} 0"#,
                r#"xlvs_sync_table_transfer{status="timed_out"} 0"#,
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_table_entries"),
            ["xlvs_sync_table_entries 1234"]
        );
    }

    #[test]
    fn a_fetch_under_way_shows_its_progress() {
        let mut s = snapshot();
        let report = s.sync.as_mut().unwrap();
        report.protocol.bulk = BulkStatus::Fetching {
            peer: Ipv4Addr::new(10, 0, 2, 12),
            transfer: 9,
            received: 78,
            total: None,
        };
        let text = render(&s);
        let current: Vec<&str> = samples(&text, "xlvs_sync_table_transfer")
            .into_iter()
            .filter(|l| l.ends_with(" 1"))
            .collect();
        assert_eq!(
            current,
            [r#"xlvs_sync_table_transfer{status="fetching"} 1"#]
        );
        assert_eq!(
            samples(&text, "xlvs_sync_table_entries"),
            ["xlvs_sync_table_entries 78"]
        );
    }

    #[test]
    fn without_a_cluster_there_is_no_sync_family() {
        let mut s = snapshot();
        s.sync = None;
        let text = render(&s);
        assert!(!text.contains("xlvs_sync_"), "{text}");
        // Without the data plane's counters, the ring's is not made up.
        let mut s = snapshot();
        s.dataplane = None;
        let text = render(&s);
        assert!(samples(&text, "xlvs_sync_ring_full_total").is_empty());
        assert!(!text.contains("# HELP xlvs_sync_ring_full_total"));
        assert_eq!(samples(&text, "xlvs_sync_published_total").len(), 1);
    }

    #[test]
    fn parts_that_did_not_answer_are_left_out_and_flagged() {
        let mut s = snapshot();
        s.ospf = None;
        s.dataplane = None;
        s.vips[0].2 = None;
        let text = render(&s);
        assert!(samples(&text, "xlvs_ospf_neighbor_state").is_empty());
        assert!(samples(&text, "xlvs_dataplane_packets_total").is_empty());
        assert!(samples(&text, "xlvs_vip_announced").is_empty());
        assert_eq!(samples(&text, "xlvs_vip_ready").len(), 1);
        assert_eq!(
            samples(&text, "xlvs_scrape_collector_success"),
            [
                r#"xlvs_scrape_collector_success{collector="ospf"} 0"#,
                r#"xlvs_scrape_collector_success{collector="dataplane"} 0"#
            ]
        );
    }
}
