//! The file as written: serde types that mirror the TOML one to one.
//!
//! Integers are `i64` (any TOML integer) so that range errors come from
//! `validate` with a clear message, instead of serde's "expected u16".
//! Keys whose presence matters to validation (health fields, auth fields)
//! are `Option`s; defaults for those are applied in `validate`. Other
//! defaults live here, in [`defaults`].

use std::fmt;
use std::marker::PhantomData;
use std::net::Ipv4Addr;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use crate::duration;
use crate::model::{AnnounceAs, LogFormat, LogLevel, NetworkType, SorryServer, XdpMode};
use crate::vocabulary::{ClientAddress, Forward, Protocol, Scheduler};

/// A sub-table that `load` deserializes on its own, so that a mistake in
/// one `[[service.real]]` does not hide mistakes in its siblings. Serde
/// only sees the key here (which keeps `deny_unknown_fields` and its list of
/// expected keys complete) and skips the content.
#[derive(Debug, Default)]
pub(crate) struct Deferred<T>(pub T);

impl<'de, T: Default> Deserialize<'de> for Deferred<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d)?;
        Ok(Self(T::default()))
    }
}

impl<T> Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Deferred<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawConfig {
    // Required, but `load` checks that: serde would stop at the first
    // missing one.
    #[serde(default)]
    pub node: Deferred<RawNode>,
    #[serde(default)]
    pub ospf: Deferred<RawOspf>,
    #[serde(default)]
    pub dataplane: Deferred<RawDataplane>,
    #[serde(default)]
    pub fullnat: Deferred<Option<RawFullnat>>,
    #[serde(default)]
    pub service: Deferred<Vec<RawService>>,
    #[serde(default)]
    pub metrics: Deferred<Option<RawMetrics>>,
    #[serde(default)]
    pub cluster: Deferred<Option<RawCluster>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawNode {
    pub name: String,
    pub router_id: Ipv4Addr,
    #[serde(default)]
    pub control_socket: Option<std::path::PathBuf>,
    #[serde(
        default = "defaults::shutdown_grace",
        deserialize_with = "duration::required"
    )]
    pub shutdown_grace: Duration,
    #[serde(default)]
    pub log_format: Option<LogFormat>,
    #[serde(default)]
    pub log_level: LogLevel,
}

/// Only a placeholder until `load` reads the real table.
impl Default for RawNode {
    fn default() -> Self {
        Self {
            name: String::new(),
            router_id: Ipv4Addr::UNSPECIFIED,
            control_socket: None,
            shutdown_grace: defaults::shutdown_grace(),
            log_format: None,
            log_level: LogLevel::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawOspf {
    #[serde(default = "defaults::area", deserialize_with = "area")]
    pub area: Ipv4Addr,
    #[serde(default)]
    pub announce_as: AnnounceAs,
    #[serde(default)]
    pub interface: Deferred<Vec<RawInterface>>,
}

/// Only a placeholder until `load` reads the real table.
impl Default for RawOspf {
    fn default() -> Self {
        Self {
            area: defaults::area(),
            announce_as: AnnounceAs::default(),
            interface: Deferred::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawInterface {
    pub name: String,
    #[serde(default)]
    pub network: NetworkType,
    #[serde(default = "defaults::cost")]
    pub cost: i64,
    #[serde(
        default = "defaults::hello_interval",
        deserialize_with = "duration::required"
    )]
    pub hello_interval: Duration,
    /// `None`: 4 × `hello_interval`.
    #[serde(default, deserialize_with = "duration::optional")]
    pub dead_interval: Option<Duration>,
    #[serde(default)]
    pub mtu_ignore: bool,
    #[serde(default)]
    pub auth: RawAuth,
    /// Absent: no BFD on this interface.
    #[serde(default)]
    pub bfd: Option<RawBfd>,
}

/// `bfd = { interval = "100ms", multiplier = 3 }` on an OSPF interface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawBfd {
    #[serde(deserialize_with = "duration::required")]
    pub interval: Duration,
    #[serde(default = "defaults::bfd_multiplier")]
    pub multiplier: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthType {
    #[default]
    None,
    Md5,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAuth {
    #[serde(rename = "type", default)]
    pub kind: AuthType,
    pub key_id: Option<i64>,
    pub key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawDataplane {
    pub interfaces: Vec<String>,
    #[serde(default)]
    pub xdp_mode: XdpMode,
    #[serde(default = "defaults::conntrack_entries")]
    pub conntrack_entries: i64,
    #[serde(default = "defaults::maglev_table_size")]
    pub maglev_table_size: i64,
    #[serde(default = "defaults::flow_cache_entries")]
    pub flow_cache_entries: i64,
    #[serde(default = "defaults::syn_flood_threshold")]
    pub syn_flood_threshold: i64,
    #[serde(default = "defaults::next_hop_cache")]
    pub next_hop_cache: bool,
    #[serde(default)]
    pub pin_dir: Option<std::path::PathBuf>,
    #[serde(default)]
    pub tun_source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawFullnat {
    #[serde(default)]
    pub local_addresses: Vec<Ipv4Addr>,
}

/// `[cluster]`: flow-state sync with the other directors. `peers` and
/// `group` are both optional here: validation says which one is missing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawCluster {
    pub interface: String,
    pub peers: Option<Vec<Ipv4Addr>>,
    pub group: Option<Ipv4Addr>,
    #[serde(default = "defaults::sync_port")]
    pub port: i64,
    pub key: String,
    #[serde(
        default = "defaults::bulk_timeout",
        deserialize_with = "duration::required"
    )]
    pub bulk_timeout: Duration,
}

/// `listen` stays a string so that a bad one gets our own message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawMetrics {
    #[serde(default = "defaults::metrics_enabled")]
    pub enabled: bool,
    pub listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawService {
    pub name: String,
    pub vip: Ipv4Addr,
    #[serde(default = "defaults::protocol")]
    pub protocol: Protocol,
    pub ports: Vec<i64>,
    #[serde(default)]
    pub scheduler: Scheduler,
    #[serde(default)]
    pub forward: Forward,
    #[serde(default, deserialize_with = "duration::required")]
    pub persistence: Duration,
    pub persistence_mask: Option<Ipv4Addr>,
    #[serde(default)]
    pub client_address: ClientAddress,
    pub toa_kind: Option<i64>,
    #[serde(default = "defaults::quorum")]
    pub quorum: i64,
    #[serde(default)]
    pub quorum_hysteresis: i64,
    #[serde(default, deserialize_with = "from_str")]
    pub sorry_server: Option<SorryServer>,
    #[serde(default)]
    pub inhibit_on_failure: bool,
    #[serde(default, deserialize_with = "duration::required")]
    pub slow_start: Duration,
    #[serde(default)]
    pub health: Deferred<RawHealth>,
    #[serde(default)]
    pub real: Deferred<Vec<RawReal>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CheckType {
    None,
    #[default]
    Tcp,
    Http,
    Https,
    Script,
}

file_names!(CheckType {
    None => "none",
    Tcp => "tcp",
    Http => "http",
    Https => "https",
    Script => "script",
});

/// Every field optional: validation needs to know which ones were written
/// to reject those that do not belong to the chosen check.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawHealth {
    pub check: Option<CheckType>,
    pub path: Option<String>,
    pub expect_status: Option<i64>,
    pub expect_body: Option<String>,
    pub script: Option<Vec<String>>,
    pub port: Option<i64>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub interval: Option<Duration>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub timeout: Option<Duration>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
    pub alpha: Option<bool>,
    pub verify: Option<bool>,
    pub ca_file: Option<std::path::PathBuf>,
    pub server_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawReal {
    pub address: Ipv4Addr,
    pub port: Option<i64>,
    #[serde(default = "defaults::weight")]
    pub weight: i64,
    #[serde(default)]
    pub health: Deferred<Option<RawRealHealth>>,
}

/// `[service.real.health]`: the keys a real may set for itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRealHealth {
    pub port: Option<i64>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub interval: Option<Duration>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub timeout: Option<Duration>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
}

/// Defaults documented in docs/config.md; keep the two in step.
pub(crate) mod defaults {
    use super::*;

    pub fn area() -> Ipv4Addr {
        Ipv4Addr::UNSPECIFIED
    }
    pub fn cost() -> i64 {
        10
    }
    pub fn hello_interval() -> Duration {
        Duration::from_secs(10)
    }
    /// FRR's default detect multiplier.
    pub fn bfd_multiplier() -> i64 {
        3
    }
    /// RFC 2328's usual ratio; 40s with the default hello.
    pub const DEAD_PER_HELLO: u32 = 4;
    pub fn maglev_table_size() -> i64 {
        i64::from(xlvs_maglev::TableSize::DEFAULT.get())
    }
    pub fn conntrack_entries() -> i64 {
        1 << 20
    }
    pub fn flow_cache_entries() -> i64 {
        1 << 14
    }
    pub fn syn_flood_threshold() -> i64 {
        100_000
    }
    pub fn next_hop_cache() -> bool {
        true
    }
    /// IPVS's sync daemon port plus one: both can run on one segment
    /// without reading each other's datagrams (as xlvs_sync's default).
    pub fn sync_port() -> i64 {
        8849
    }
    pub fn bulk_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn protocol() -> Protocol {
        Protocol::Tcp
    }
    pub fn quorum() -> i64 {
        1
    }
    /// Like ipvsadm.
    pub fn weight() -> i64 {
        1
    }
    pub const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
    pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
    pub const RISE: i64 = 2;
    pub const FALL: i64 = 3;
    pub const HTTP_PATH: &str = "/";
    pub const HTTP_STATUS: i64 = 200;
    /// Long enough for the routers to move flows to the other directors
    /// after our LSAs are flushed; see `[node] shutdown_grace`.
    pub fn shutdown_grace() -> Duration {
        Duration::from_secs(5)
    }
    /// On by default, on loopback only: see docs/metrics.md.
    pub fn metrics_enabled() -> bool {
        true
    }
    pub const METRICS_LISTEN: &str = "127.0.0.1:9478";
}

/// An OSPF area id: a dotted quad ("0.0.0.1") or a decimal integer, either
/// as a TOML integer (1) or a string ("1"), as routers accept both.
fn area<'de, D: Deserializer<'de>>(d: D) -> Result<Ipv4Addr, D::Error> {
    struct AreaVisitor;

    impl Visitor<'_> for AreaVisitor {
        type Value = Ipv4Addr;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an area id: a dotted quad like \"0.0.0.0\" or an integer 0..=4294967295")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ipv4Addr, E> {
            u32::try_from(v)
                .map(Ipv4Addr::from)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ipv4Addr, E> {
            u32::try_from(v)
                .map(Ipv4Addr::from)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Ipv4Addr, E> {
            let parsed = if s.contains('.') {
                s.parse().ok()
            } else {
                s.parse::<u32>().ok().map(Ipv4Addr::from)
            };
            parsed.ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), &self))
        }
    }

    d.deserialize_any(AreaVisitor)
}

/// An optional value written as a string and parsed with `FromStr`.
fn from_str<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err = String>,
{
    struct StrVisitor<T>(PhantomData<T>);

    impl<T: std::str::FromStr<Err = String>> Visitor<'_> for StrVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<T>, E> {
            s.parse().map(Some).map_err(E::custom)
        }
    }

    d.deserialize_str(StrVisitor(PhantomData))
}
