//! The validated node configuration, as the daemon and other crates use it.
//!
//! Values here have passed every check in `validate`: ranges hold, names
//! and addresses are unique where they must be, and fields only exist where
//! they apply (e.g. an HTTP path only on an HTTP check).

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::vocabulary::{ClientAddress, Forward, Protocol, Scheduler};

/// One node (director) of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub node: Node,
    pub ospf: Ospf,
    pub dataplane: Dataplane,
    /// Present when the file has a `[fullnat]` table.
    pub fullnat: Option<Fullnat>,
    pub services: Vec<Service>,
    pub metrics: Metrics,
    /// Present when the file has a `[cluster]` table: flow-state sync.
    pub cluster: Option<Cluster>,
}

/// The Prometheus endpoint (`[metrics]`, docs/metrics.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// Where to serve `GET /metrics`; `None` when `enabled = false`. Never
    /// a VIP or FULLNAT local address, never port 0.
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// OSPF router id; unique per node, never a VIP or 0.0.0.0.
    pub router_id: Ipv4Addr,
    /// The daemon's control socket (xlvsadm talks to it); defaults to
    /// /run/xlvs/<name>.sock so several nodes can share a host in labs.
    pub control_socket: std::path::PathBuf,
    /// After SIGTERM with `--cleanup`: how long the data plane keeps
    /// forwarding once our routes are withdrawn, so routers move the flows
    /// to the other directors before XDP goes. Zero: exit at once.
    pub shutdown_grace: Duration,
    /// How xlvsd writes its log; `None` when the file does not say: the
    /// journal when stderr is connected to it (systemd), text otherwise.
    pub log_format: Option<LogFormat>,
    /// The least severe level logged, unless RUST_LOG says otherwise.
    pub log_level: LogLevel,
}

/// The format of xlvsd's log (`[node] log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event: `LEVEL target: message key=value`.
    #[default]
    Text,
    /// One JSON object per line, for log shippers: `timestamp`, `level`,
    /// `target` and `fields` (the `message` and the event's own fields).
    Json,
    /// Straight to systemd's journal (native protocol): each event one
    /// entry with its priority, its fields as journal fields.
    Journald,
}

file_names!(LogFormat {
    Text => "text",
    Json => "json",
    Journald => "journald",
});

/// The least severe level xlvsd logs (`[node] log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

file_names!(LogLevel {
    Error => "error",
    Warn => "warn",
    Info => "info",
    Debug => "debug",
    Trace => "trace",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ospf {
    /// Area id, kept in dotted form (the file also accepts a decimal integer).
    pub area: Ipv4Addr,
    pub announce_as: AnnounceAs,
    /// At least one; names are unique.
    pub interfaces: Vec<OspfInterface>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OspfInterface {
    pub name: String,
    pub network: NetworkType,
    /// 1..=65535.
    pub cost: u16,
    /// Whole seconds, 1s..=65535s.
    pub hello_interval: Duration,
    /// Whole seconds, longer than `hello_interval`.
    pub dead_interval: Duration,
    pub mtu_ignore: bool,
    pub auth: OspfAuth,
    /// A BFD session with each neighbor on this interface; `None`: no BFD.
    pub bfd: Option<xlvs_bfd::SessionConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkType {
    /// Elects a DR/BDR, like an Ethernet segment shared with the routers.
    #[default]
    Broadcast,
    /// No DR election; one neighbour on the link.
    PointToPoint,
}

file_names!(NetworkType {
    Broadcast => "broadcast",
    PointToPoint => "point-to-point",
});

/// How VIPs and local addresses are carried in OSPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnnounceAs {
    /// A /32 stub link per address in this node's Router-LSA: plain
    /// intra-area routes; at most [`ROUTER_LSA_MAX_ADDRESSES`] addresses.
    #[default]
    RouterLsa,
    /// An AS-external LSA (type 5, E2) per address: no limit, and a
    /// withdrawal re-originates only that address's LSA.
    External,
}

file_names!(AnnounceAs {
    RouterLsa => "router-lsa",
    External => "external",
});

/// Addresses one Router-LSA may carry so that it still fits one packet at
/// MTU 1500 with MD5 (117 links), leaving room for interface links.
pub const ROUTER_LSA_MAX_ADDRESSES: usize = 100;

/// OSPF authentication of one interface.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum OspfAuth {
    #[default]
    None,
    /// RFC 2328 cryptographic authentication. `key_id` is 1..=255, `key` is
    /// 1..=16 bytes.
    Md5 { key_id: u8, key: String },
}

/// Hand-written so that logging a config never prints the MD5 key.
impl fmt::Debug for OspfAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OspfAuth::None => f.write_str("None"),
            OspfAuth::Md5 { key_id, .. } => f
                .debug_struct("Md5")
                .field("key_id", key_id)
                .field("key", &"<redacted>")
                .finish(),
        }
    }
}

/// The largest flow cache, in entries per CPU (the data plane's limit).
pub const MAX_FLOW_CACHE_ENTRIES: u32 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataplane {
    /// XDP attach points; each is also an OSPF interface, no duplicates.
    pub interfaces: Vec<String>,
    pub xdp_mode: XdpMode,
    /// Size of the connection-tracking map, at least 1.
    pub conntrack_entries: u32,
    /// Maglev table size M of every service: one of the primes
    /// `xlvs_maglev::TableSize::ALL`.
    pub maglev_table_size: xlvs_maglev::TableSize,
    /// Flow cache entries per CPU: a power of two up to
    /// `MAX_FLOW_CACHE_ENTRIES`, or 0 for none.
    pub flow_cache_entries: u32,
    /// SYN flood guard: connection entries per second and CPU made for DR
    /// and TUN SYNs; SYNs beyond it are forwarded without one. 0: off.
    pub syn_flood_threshold: u32,
    /// TUN, NAT, FULLNAT: each real's next hop kept in a map from the
    /// kernel's route, link and neighbour events, so new flows skip the FIB
    /// lookup. Assumes routing by destination alone (no policy routing
    /// by source or interface towards the reals).
    pub next_hop_cache: bool,
    /// Where maps and the XDP attachment are pinned (a bpf filesystem), so
    /// forwarding goes on while the daemon restarts. Defaults to
    /// /sys/fs/bpf/xlvs/<node name>.
    pub pin_dir: std::path::PathBuf,
    /// TUN outer source addresses: (address, prefix length). The host
    /// bits vary per flow so the reals' RSS spreads flows. `None`: the
    /// address of the first XDP interface, for every flow.
    pub tun_source: Option<(Ipv4Addr, u8)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XdpMode {
    /// In the driver: fast, needs driver support.
    #[default]
    Native,
    /// In the kernel's generic path: works everywhere, slower.
    Generic,
}

file_names!(XdpMode {
    Native => "native",
    Generic => "generic",
});

/// `[cluster]`: the directors this one shares its connection entries with
/// (docs/sync.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Sync datagrams leave from this interface's address.
    pub interface: String,
    pub peering: Peering,
    pub port: u16,
    /// The HMAC-SHA256 key, the same on every director.
    pub key: SyncKey,
    /// How long a starting director waits for a peer's table before it
    /// announces its VIPs anyway.
    pub bulk_timeout: Duration,
}

/// Who receives our sync datagrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peering {
    /// The other directors, unicast.
    Peers(Vec<Ipv4Addr>),
    /// A multicast group on the cluster interface.
    Group(Ipv4Addr),
}

/// A shared secret: its bytes never appear in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncKey(pub Vec<u8>);

impl fmt::Debug for SyncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyncKey({} bytes)", self.0.len())
    }
}

/// HMAC-SHA256 keys shorter than this are too easy to guess.
pub const MIN_SYNC_KEY_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fullnat {
    /// This node's local addresses (LIPs), used as the source towards reals.
    /// May be empty only when no service uses FULLNAT.
    pub local_addresses: Vec<Ipv4Addr>,
}

/// A virtual service: one VIP, one protocol, one or more ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub vip: Ipv4Addr,
    pub protocol: Protocol,
    pub ports: Ports,
    pub scheduler: Scheduler,
    pub forward: Forward,
    /// `None` when persistence is off (`persistence = "0s"`).
    pub persistence: Option<Persistence>,
    /// FULLNAT only (validation refuses it elsewhere): how the reals learn
    /// the client's address.
    pub client_address: ClientAddress,
    /// The TCP option kind of `client_address = "toa"` (254 unless set).
    pub toa_kind: u8,
    /// Healthy reals needed to announce the VIP; at least 1.
    pub quorum: u32,
    /// Once met, the quorum is lost only below `quorum - quorum_hysteresis`
    /// healthy reals; once lost, it comes back at `quorum +
    /// quorum_hysteresis` (keepalived's `hysteresis`). Below `quorum`, and
    /// `quorum + quorum_hysteresis` is at most the number of reals.
    pub quorum_hysteresis: u32,
    pub sorry_server: Option<SorryServer>,
    /// A real failing its check keeps its place at weight 0 (its
    /// connections go on, it gets no new ones) instead of being removed,
    /// like keepalived's `inhibit_on_failure`.
    pub inhibit_on_failure: bool,
    /// A real that comes up (or is added) starts at weight 1 and reaches
    /// its weight linearly over this time. Zero: off.
    pub slow_start: Duration,
    pub health: Health,
    /// At least one; no two with the same address and port.
    pub reals: Vec<Real>,
}

impl Service {
    /// The health settings `real` is checked with: the service's, with each
    /// value the real's own `[service.real.health]` sets in its place.
    pub fn health_of(&self, real: &Real) -> Health {
        let own = &real.health;
        Health {
            port: own.port.or(self.health.port),
            interval: own.interval.unwrap_or(self.health.interval),
            timeout: own.timeout.unwrap_or(self.health.timeout),
            rise: own.rise.unwrap_or(self.health.rise),
            fall: own.fall.unwrap_or(self.health.fall),
            ..self.health.clone()
        }
    }

    /// The port a health check of `real` connects to: the real's own
    /// `health.port`, else the service's `health.port`, else the real's
    /// port, else the single service port. `None` for checks that do not
    /// connect (`none`, `script`); validation guarantees `Some` for the
    /// others.
    pub fn probe_port(&self, real: &Real) -> Option<u16> {
        if !self.health.check.connects() {
            return None;
        }
        let port = real.health.port.or(self.health.port);
        port.or(real.port).or(match &self.ports {
            Ports::List(ports) if ports.len() == 1 => Some(ports[0]),
            _ => None,
        })
    }

    /// Whether the check of `real` connects to a port the service's
    /// connections reach (the real's port, or one of the service's for a
    /// real without one), where a proxied service's reals read a PROXY
    /// header; not when it checks another port (`health.port`).
    pub fn probe_on_a_service_port(&self, real: &Real) -> bool {
        match (self.probe_port(real), real.port) {
            (Some(probe), Some(port)) => probe == port,
            (Some(probe), None) => self.ports.contains(probe),
            (None, _) => false,
        }
    }
}

/// The ports of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ports {
    /// `ports = [0]`: every port of the VIP (like an ipvsadm port-0 service).
    All,
    /// One or more distinct ports, 1..=65535, in file order.
    List(Vec<u16>),
}

impl Ports {
    pub fn contains(&self, port: u16) -> bool {
        match self {
            Ports::All => true,
            Ports::List(ports) => ports.contains(&port),
        }
    }
}

/// Client-to-real stickiness, like ipvsadm `-p` and `-M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persistence {
    pub timeout: Duration,
    /// Contiguous netmask applied to the client address; 255.255.255.255
    /// when not set.
    pub mask: Ipv4Addr,
}

/// The server that takes over when fewer than `quorum` reals are healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SorryServer {
    pub address: Ipv4Addr,
    /// `None`: the port the client connected to.
    pub port: Option<u16>,
}

/// Parses `ADDRESS` or `ADDRESS:PORT` (IPv4, port 1..=65535).
impl FromStr for SorryServer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, port) = match s.split_once(':') {
            Some((addr, port)) => (addr, Some(port)),
            None => (s, None),
        };
        let address = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IPv4 address or ADDRESS:PORT"))?;
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => return Err(format!("`{p}` is not a port (1..=65535)")),
            },
        };
        Ok(Self { address, port })
    }
}

impl fmt::Display for SorryServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// How reals are checked. A real counts as up after `rise` passes in a row
/// and as down after `fall` failures in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub check: HealthCheck,
    /// Overrides the probed port, see [`Service::probe_port`].
    pub port: Option<u16>,
    pub interval: Duration,
    /// Shorter than `interval`.
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    /// Reals start down and their first passing check brings them up
    /// (keepalived's `alpha`). Never set with `check = "none"`.
    pub alpha: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// No checks: every real is always up.
    None,
    /// A TCP connect.
    Tcp,
    Http(HttpCheck),
    Https(HttpCheck, TlsCheck),
    /// Runs `program args...`; exit status 0 means up.
    Script {
        program: PathBuf,
        args: Vec<String>,
    },
}

impl HealthCheck {
    /// True for the checks that open a connection to a port of the real.
    pub fn connects(&self) -> bool {
        matches!(
            self,
            HealthCheck::Tcp | HealthCheck::Http(_) | HealthCheck::Https(..)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// Request path, starting with `/`.
    pub path: String,
    /// Status code that means up, 100..=599.
    pub expect_status: u16,
    /// If set, the response body must contain this text.
    pub expect_body: Option<String>,
}

/// The TLS side of an https check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsCheck {
    pub trust: TlsTrust,
    /// Sent as SNI and Host, and the name a verified certificate must be
    /// valid for; `None`: the real's address (no SNI).
    pub server_name: Option<String>,
}

/// Which server certificates an https check accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsTrust {
    /// Any (`verify = false`, keepalived's `SSL_GET`): the handshake must
    /// still complete.
    #[default]
    Any,
    /// Those the system trust store vouches for (`verify = true`).
    System,
    /// Those signed by a CA in this PEM file (`verify = true`, `ca_file`).
    CaFile(PathBuf),
}

/// A real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Real {
    pub address: Ipv4Addr,
    /// `None`: the port the client connected to. Only under nat/fullnat can
    /// it differ from the service port.
    pub port: Option<u16>,
    /// 0..=65535; 0 means quiescent: no new connections, existing ones stay.
    pub weight: u16,
    /// This real's own health timers (and probed port), if any.
    pub health: HealthOverrides,
}

/// `[service.real.health]`: values that replace the service's
/// `[service.health]` ones for one real (keepalived sets checkers per
/// real server). `None`: the service's value. Never set with `check =
/// "none"`; `port` only with a check that connects; a real's effective
/// `timeout` is shorter than its effective `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthOverrides {
    pub port: Option<u16>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `as_str` must be what serde accepts for that variant.
    #[test]
    fn names_match_serde() {
        fn check<T>(all: &[T])
        where
            T: fmt::Display + PartialEq + fmt::Debug + serde::de::DeserializeOwned,
        {
            for v in all {
                let parsed: T = T::deserialize(serde::de::value::StrDeserializer::<
                    serde::de::value::Error,
                >::new(&v.to_string()))
                .unwrap();
                assert_eq!(&parsed, v);
            }
        }
        check(&[NetworkType::Broadcast, NetworkType::PointToPoint]);
        check(&[XdpMode::Native, XdpMode::Generic]);
        check(&[Protocol::Tcp, Protocol::Udp]);
        use Scheduler::*;
        check(&[
            Mh, Sh, Dh, Rr, Wrr, Lc, Wlc, Sed, Nq, Lblc, Lblcr, Fo, Ovf, Twos,
        ]);
        check(&[Forward::Dr, Forward::Tun, Forward::Fullnat, Forward::Nat]);
        check(&[LogFormat::Text, LogFormat::Json, LogFormat::Journald]);
        use LogLevel::*;
        check(&[Error, Warn, Info, Debug, Trace]);
    }

    #[test]
    fn sorry_server_syntax() {
        let s: SorryServer = "10.0.1.99:8080".parse().unwrap();
        assert_eq!(s.port, Some(8080));
        assert_eq!(s.to_string(), "10.0.1.99:8080");
        assert_eq!("10.0.1.99".parse::<SorryServer>().unwrap().port, None);
        assert!("10.0.1.99:0".parse::<SorryServer>().is_err());
        assert!("10.0.1.99:x".parse::<SorryServer>().is_err());
        assert!("[::1]:80".parse::<SorryServer>().is_err());
    }

    #[test]
    fn md5_key_not_in_debug() {
        let auth = OspfAuth::Md5 {
            key_id: 1,
            key: "secret".into(),
        };
        assert!(!format!("{auth:?}").contains("secret"));
    }
}
