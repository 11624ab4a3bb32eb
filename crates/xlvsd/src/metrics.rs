//! The Prometheus endpoint (`[metrics]`, docs/metrics.md): `GET /metrics`
//! answers in the text exposition format 0.0.4 with the counters and
//! states `xlvsadm -L -n --stats`, `status`, `health`, `dataplane` and
//! `ospf` show. A minimal HTTP/1.1 server: one request per connection,
//! bounded in size, time and number of connections, so a slow or hostile
//! client cannot stall it or the daemon.

use crate::forwarder::Check;
use crate::node::Node;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xlvs_api::ipvs::{RealEntry, ServiceEntry};
use xlvs_ospf::{InterfaceInfo, NeighborInfo};

/// Longest request head (request line and headers) read; a scrape needs
/// a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
const READ_LIMIT: Duration = Duration::from_secs(5);
/// Time a client has to take the response.
const WRITE_LIMIT: Duration = Duration::from_secs(10);
/// After an error response, unread input is discarded for at most this
/// long (and this much), so the client sees the response rather than a
/// reset.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);
const MAX_DRAIN: usize = 1 << 20;
/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 32;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics endpoint {addr} (metrics.listen): {source}; change [metrics] listen, or set enabled = false")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Endpoint {
    listener: TcpListener,
    pub addr: SocketAddr,
}

impl Endpoint {
    pub async fn bind(addr: SocketAddr) -> Result<Endpoint, MetricsError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        Ok(Endpoint { listener, addr })
    }

    /// Serves connections until the task is dropped.
    pub async fn serve(self, node: Node) {
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    // e.g. out of descriptors: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::debug!(%peer, "metrics endpoint busy: connection closed");
                continue;
            };
            let node = node.clone();
            tokio::spawn(async move {
                connection(stream, &node).await;
                drop(slot);
            });
        }
    }
}

/// Why a request head could not be read.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    TooLarge,
    /// The client closed (or failed) before the head was complete.
    Incomplete,
}

/// Reads up to the blank line that ends the head, at most `MAX_HEAD`.
async fn read_head(stream: &mut (impl AsyncReadExt + Unpin)) -> Result<Vec<u8>, HeadError> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        if let Some(end) = head_end(&buf[..len]) {
            buf.truncate(end);
            return Ok(buf);
        }
        if len == buf.len() {
            return Err(HeadError::TooLarge);
        }
        match stream.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return Err(HeadError::Incomplete),
            Ok(n) => len += n,
        }
    }
}

/// Where the head ends (after "\r\n\r\n", or "\n\n" from lax clients).
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn connection(mut stream: TcpStream, node: &Node) {
    let peer = stream.peer_addr().ok();
    let head = tokio::time::timeout(READ_LIMIT, read_head(&mut stream)).await;
    let (response, complete) = match head {
        Err(_) => (Response::error(408, "Request Timeout"), false),
        Ok(Err(HeadError::TooLarge)) => (
            Response::error(431, "Request Header Fields Too Large"),
            false,
        ),
        Ok(Err(HeadError::Incomplete)) => return,
        Ok(Ok(head)) => (answer(&head, node).await, true),
    };
    tracing::debug!(?peer, status = response.status, "metrics request");
    let bytes = response.to_bytes();
    if tokio::time::timeout(WRITE_LIMIT, stream.write_all(&bytes))
        .await
        .is_ok_and(|r| r.is_ok())
        && !complete
    {
        // Closing with unread input would reset the connection and lose
        // the response: say we are done, then discard what is left.
        let _ = stream.shutdown().await;
        let drain = async {
            let mut sink = [0u8; 4096];
            let mut total = 0;
            while total < MAX_DRAIN {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_LIMIT, drain).await;
    }
}

/// The response to a complete request head.
async fn answer(head: &[u8], node: &Node) -> Response {
    let Some(req) = Request::parse(head) else {
        return Response::error(400, "Bad Request");
    };
    if req.path != "/metrics" {
        return Response::error(404, "Not Found");
    }
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = Response::error(405, "Method Not Allowed");
        r.allow = true;
        return r;
    }
    let body = render(&collect(node).await);
    Response {
        status: 200,
        reason: "OK",
        content_type: CONTENT_TYPE,
        allow: false,
        length: body.len(),
        body: (req.method == "GET").then_some(body),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    method: &'a str,
    /// Without the query string.
    path: &'a str,
}

impl<'a> Request<'a> {
    /// The request line of an HTTP/1.x head; headers are not needed.
    fn parse(head: &'a [u8]) -> Option<Request<'a>> {
        let head = std::str::from_utf8(head).ok()?;
        let line = head.lines().next()?;
        let mut parts = line.split(' ');
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !version.starts_with("HTTP/1.") || method.is_empty() {
            return None;
        }
        let path = target.split_once('?').map_or(target, |(p, _)| p);
        Some(Request { method, path })
    }
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    /// Whether to list the allowed methods (405).
    allow: bool,
    /// `None` for HEAD: the length is sent, the body not.
    body: Option<String>,
    length: usize,
}

impl Response {
    fn error(status: u16, reason: &'static str) -> Response {
        let body = format!("{status} {reason}: xlvsd serves GET /metrics only\n");
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            allow: false,
            length: body.len(),
            body: Some(body),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status, self.reason, self.content_type, self.length
        );
        if self.allow {
            head.push_str("Allow: GET, HEAD\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if let Some(body) = &self.body {
            out.extend_from_slice(body.as_bytes());
        }
        out
    }
}

/// Everything one scrape shows, gathered before rendering.
#[derive(Default)]
pub struct Snapshot {
    pub services: Vec<ServiceMetrics>,
    /// Each VIP: whether the data plane can serve it (quorum met, not
    /// drained), and whether it is announced (`None`: OSPF did not answer).
    pub vips: Vec<(Ipv4Addr, bool, Option<bool>)>,
    /// `None` when the OSPF speaker did not answer.
    pub ospf: Option<Ospf>,
    /// `None` when the counters could not be read.
    pub dataplane: Option<Vec<(&'static str, u64)>>,
}

pub struct ServiceMetrics {
    pub entry: ServiceEntry,
    /// In the order of `entry.reals`, without the sorry server.
    pub reals: Vec<RealMetrics>,
}

pub struct RealMetrics {
    pub entry: RealEntry,
    /// The weight in the config (or set by ipvsadm -e).
    pub weight: u32,
    /// Passes its health check.
    pub healthy: bool,
}

pub struct Ospf {
    pub neighbors: Vec<NeighborInfo>,
    pub interfaces: Vec<InterfaceInfo>,
    pub stats: xlvs_ospf::Stats,
}

/// Reads everything for one scrape. The data plane lock is held only
/// while its part is read.
async fn collect(node: &Node) -> Snapshot {
    let (services, ready, dataplane) = {
        let f = node.forwarder.lock().await;
        // Rates are not exported (Prometheus derives them): no samples.
        let table = crate::listing::table(&f, &crate::listing::Samples::default(), false);
        // (VIP, protocol, port, real, real port) -> (weight, healthy)
        let mut state = BTreeMap::new();
        for e in f.entries() {
            let port = e.port();
            for r in &e.spec.reals {
                let rport = if r.port == 0 { port } else { r.port };
                let key = (e.spec.vip, e.spec.protocol, port, r.addr, rport);
                let healthy = f.reals().get(&e.real_id(r)).check == Check::Passing;
                state.insert(key, (r.weight, healthy));
            }
        }
        let services = table
            .services
            .into_iter()
            .map(|entry| {
                // The sorry server is listed with the reals; its metrics
                // would read as a real that is down.
                let reals = entry
                    .reals
                    .iter()
                    .filter(|r| !r.sorry_server)
                    .map(|r| {
                        let key = (entry.vip, entry.protocol, entry.port, r.address, r.port);
                        let (weight, healthy) = state.get(&key).copied().unwrap_or_default();
                        RealMetrics {
                            entry: r.clone(),
                            weight,
                            healthy,
                        }
                    })
                    .collect();
                ServiceMetrics { entry, reals }
            })
            .collect();
        let dataplane = f
            .stats()
            .inspect_err(|e| tracing::warn!(error = %e, "metrics: data plane counters unreadable"))
            .ok();
        (services, crate::readiness::of(&f), dataplane)
    };
    let speaker = &node.speaker;
    let announced = speaker.announced().await;
    let vips = ready
        .into_iter()
        .map(|(vip, r)| {
            let ready = r.announce;
            let announced = announced
                .as_ref()
                .ok()
                .map(|a| a.iter().any(|x| x.0 == vip));
            (vip, ready, announced)
        })
        .collect();
    let ospf = async {
        Ok::<_, xlvs_ospf_driver::DriverError>(Ospf {
            neighbors: speaker.neighbors().await?,
            interfaces: speaker.interfaces().await?,
            stats: speaker.stats().await?,
        })
    };
    let ospf = ospf
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "metrics: OSPF speaker did not answer"))
        .ok();
    Snapshot {
        services,
        vips,
        ospf,
        dataplane,
    }
}

/// A neighbor state as the OSPF-MIB numbers it (ospfNbrState, RFC 4750):
/// down 1, attempt 2, init 3, twoWay 4, exchangeStart 5, exchange 6,
/// loading 7, full 8.
fn neighbor_state_number(state: &str) -> u64 {
    match state {
        "Down" => 1,
        "Attempt" => 2,
        "Init" => 3,
        "2-Way" => 4,
        "ExStart" => 5,
        "Exchange" => 6,
        "Loading" => 7,
        "Full" => 8,
        _ => 0,
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// The text exposition format: each family's HELP and TYPE, then its
/// samples.
#[derive(Default)]
struct Exposition {
    out: String,
}

type Labels = Vec<(&'static str, String)>;

impl Exposition {
    fn family(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, u64)>,
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
    if let Some(stats) = &s.dataplane {
        e.family(
            "xlvs_dataplane_packets_total",
            Counter,
            "Packets seen by the XDP program, by outcome as xlvsadm dataplane names it (pass_*: to the kernel, drop_*: dropped, tx_*/redirect_*: forwarded, conntrack_*: connection-table lookups).",
            stats
                .iter()
                .map(|(name, v)| (vec![("reason", name.to_string())], *v)),
        );
    }
    e.out
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
            (labels, neighbor_state_number(n.state))
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
    use super::*;
    use xlvs_api::ipvs::{Rate, Stats};
    use xlvs_api::{Forward, Protocol, Scheduler};

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
                    state: "Full",
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
            dataplane: Some(vec![("drop_no_real", 9), ("tx_dr", 100)]),
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
                assert!(valid && name.starts_with("xlvs_"), "{name}");
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
                r#"xlvs_dataplane_packets_total{reason="drop_no_real"} 9"#,
                r#"xlvs_dataplane_packets_total{reason="tx_dr"} 100"#
            ]
        );
        assert_eq!(
            samples(&text, "xlvs_vip_announced"),
            [r#"xlvs_vip_announced{vip="192.0.2.10"} 1"#]
        );
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

    #[test]
    fn neighbor_states_follow_the_ospf_mib() {
        use xlvs_ospf::neighbor::NbrState::*;
        let all = [Down, Init, TwoWay, ExStart, Exchange, Loading, Full];
        let numbers: Vec<u64> = all
            .iter()
            .map(|s| neighbor_state_number(s.name()))
            .collect();
        assert_eq!(numbers, [1, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn request_lines() {
        let r = Request::parse(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((r.method, r.path), ("GET", "/metrics"));
        assert_eq!(Request::parse(b"GET /metrics\r\n\r\n"), None);
        assert_eq!(Request::parse(b"GET /metrics HTTP/2\r\n\r\n"), None);
        assert_eq!(Request::parse(b"GET  /metrics HTTP/1.1\r\n\r\n"), None);
        assert_eq!(Request::parse(b"\xff /metrics HTTP/1.1\r\n\r\n"), None);
    }

    #[tokio::test]
    async fn heads_are_bounded() {
        let mut ok: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nbody";
        let head = read_head(&mut ok).await.unwrap();
        assert!(head.ends_with(b"\r\n\r\n"));
        let big = vec![b'a'; MAX_HEAD + 10];
        assert_eq!(
            read_head(&mut big.as_slice()).await,
            Err(HeadError::TooLarge)
        );
        let mut cut: &[u8] = b"GET /metrics HTTP/1.1\r\n";
        assert_eq!(read_head(&mut cut).await, Err(HeadError::Incomplete));
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = Response::error(404, "Not Found");
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(head.contains("Connection: close"));
    }
}
