//! Errors: what is wrong ([`ErrorKind`]), where ([`ConfigError`]), and the
//! whole list for one file ([`ConfigErrors`]).

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::time::Duration;

use crate::keypath::KeyPath;
use crate::span::Position;

/// What is wrong with a value. The key path is not part of the message: it
/// is printed in front of it by [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- reading and TOML syntax ---
    #[error("cannot read the file: {0}")]
    Read(String),
    #[error("{0}")]
    Syntax(String),

    // --- schema: what serde finds ---
    #[error("unknown key, expected {expected}")]
    UnknownKey { expected: String },
    #[error("required key is missing")]
    MissingKey,
    #[error("{0}")]
    Invalid(String),
    #[error("expected a table ({header})")]
    NotTable { header: String },
    #[error("expected an array of tables ({header} for each entry)")]
    NotArrayOfTables { header: String },

    // --- single values ---
    #[error("{value} is out of range {min}..={max}")]
    OutOfRange { value: i64, min: i64, max: i64 },
    #[error("must be at least {min} (got {value})")]
    TooSmall { value: i64, min: i64 },
    #[error("must be longer than 0s")]
    ZeroDuration,
    #[error("must be a whole number of seconds: OSPF carries it in seconds")]
    NotWholeSeconds,
    #[error("must be at most 65535s: OSPF carries it in 16 bits")]
    HelloTooLong,
    #[error("must not be empty")]
    Empty,
    #[error("0.0.0.0 is not a usable address here")]
    UnspecifiedAddress,
    #[error("{0} is not a contiguous netmask (like 255.255.255.0)")]
    NonContiguousMask(Ipv4Addr),
    #[error("MD5 key is {0} bytes long; OSPF MD5 keys are at most 16 bytes")]
    Md5KeyTooLong(usize),
    #[error("{0}")]
    Bfd(xlvs_bfd::ConfigError),
    #[error("must be an absolute path: the daemon does not search PATH")]
    RelativeScript,
    #[error("must start with `/`")]
    HttpPathNotAbsolute,
    #[error("`{0}` is not a DNS name or an IP address")]
    ServerName(String),

    // --- relations between keys of one table ---
    #[error("required when {0}")]
    RequiredWhen(String),
    #[error("has no effect when {0}; remove it")]
    DoesNotApply(String),
    #[error("dead_interval ({dead}) must be longer than hello_interval ({hello})", dead = humantime::format_duration(*dead), hello = humantime::format_duration(*hello))]
    DeadNotLongerThanHello { dead: Duration, hello: Duration },
    #[error("timeout ({timeout}) must be shorter than interval ({interval})", timeout = humantime::format_duration(*timeout), interval = humantime::format_duration(*interval))]
    TimeoutNotShorter {
        timeout: Duration,
        interval: Duration,
    },
    #[error(
        "persistence_mask has no effect without persistence (set persistence, like ipvsadm -p)"
    )]
    MaskWithoutPersistence,

    // --- lists ---
    #[error("at least one {0} is required")]
    NoneGiven(&'static str),
    #[error("{item} is listed twice (first at {first})")]
    Duplicate { item: String, first: KeyPath },
    #[error("port 0 means every port and cannot be combined with other ports")]
    PortZeroMixed,

    // --- services and reals ---
    #[error(
        "service `{name}` overlaps `{other}` ({other_path}): both serve {protocol} {vip} {ports}"
    )]
    ServiceOverlap {
        name: String,
        other: String,
        other_path: KeyPath,
        protocol: String,
        vip: Ipv4Addr,
        ports: String,
    },
    #[error("forward = \"{forward}\" cannot change the destination port: the real must listen on the service port {service_port}; remove `port` or use nat/fullnat")]
    PortMappingSingle { forward: String, service_port: i64 },
    #[error("forward = \"{forward}\" cannot change the destination port and this service has several ports (or every port); remove `port` or use nat/fullnat")]
    PortMappingMulti { forward: String },
    #[error("quorum {quorum} can never be met with {reals} real server(s) and no sorry_server, so the VIP would never be announced")]
    QuorumUnreachable { quorum: i64, reals: usize },
    #[error("must be less than quorum ({quorum}): the quorum is lost below quorum - quorum_hysteresis healthy reals, which must be at least 1")]
    HysteresisNotBelowQuorum { hysteresis: i64, quorum: i64 },
    #[error("a lost quorum comes back at quorum + quorum_hysteresis = {up} healthy reals, but the service has {reals} real server(s): it would never come back")]
    HysteresisUnreachable { up: i64, reals: usize },
    #[error("service `{name}` uses forward = \"fullnat\" but [fullnat] local_addresses is missing or empty; FULLNAT needs this node's local addresses as source towards the reals")]
    FullnatWithoutLocalAddresses { name: String },
    #[error("client_address = \"{mode}\" needs forward = \"fullnat\": under {forward} the reals already see the client's address as the source")]
    ClientAddressNeedsFullnat { mode: String, forward: String },
    #[error("client_address = \"{0}\" needs protocol = \"tcp\": it travels in TCP (an option or the start of the stream)")]
    ClientAddressNeedsTcp(String),
    #[error("TCP option kind {0} is one TCP stacks use (0-8, 19, 28-30, 34): the real would misread it; 254 is what DPVS's toa module reads")]
    ToaKindInUse(i64),
    #[error("the port to probe is ambiguous: the service has several ports (or every port) and real[{real}] sets no port; set health.port (for every real, or in that real's [service.real.health])")]
    ProbePortAmbiguous { real: usize },

    // --- addresses that must not be shared ---
    #[error("router_id {addr} is also the VIP of service `{service}` ({at}); a router id must be a node address, never a VIP")]
    RouterIdIsVip {
        addr: Ipv4Addr,
        service: String,
        at: KeyPath,
    },
    #[error("router_id {addr} is also a FULLNAT local address ({at}); each must be distinct")]
    RouterIdIsLocalAddress { addr: Ipv4Addr, at: KeyPath },
    #[error(
        "{addr} is the VIP of service `{service}` ({at}); the director would forward to itself"
    )]
    BackendIsVip {
        addr: Ipv4Addr,
        service: String,
        at: KeyPath,
    },
    #[error("FULLNAT local address {addr} is also the VIP of service `{service}` ({at}); local addresses must be distinct from VIPs")]
    LocalAddressIsVip {
        addr: Ipv4Addr,
        service: String,
        at: KeyPath,
    },

    #[error("metrics would listen on {addr}, {what} ({at}): announced addresses are reachable from the routers' side; listen on a node or management address (default 127.0.0.1)")]
    ListenOnAnnounced {
        addr: Ipv4Addr,
        what: String,
        at: KeyPath,
    },
    #[error("`{0}` is not ADDRESS:PORT, like \"127.0.0.1:9478\" (IPv6: \"[::1]:9478\")")]
    ListenAddress(String),
    #[error(
        "port 0 would pick another port at every start; give the fixed port Prometheus scrapes"
    )]
    ListenPortZero,

    // --- [cluster] ---
    #[error("give either peers (the other directors, unicast) or group (multicast), not both")]
    PeersAndGroup,
    #[error("give the other directors as peers = [\"ADDRESS\", ...], or a multicast group = \"ADDRESS\"")]
    NoPeersNorGroup,
    #[error("{0} is not a multicast address (224.0.0.0/4)")]
    NotMulticast(Ipv4Addr),
    #[error("{0} is not a unicast address; peers are the other directors' addresses")]
    PeerNotUnicast(Ipv4Addr),
    #[error("{addr} is this node's own {what}; peers are the other directors")]
    PeerIsSelf { addr: Ipv4Addr, what: String },
    #[error("the key is {len} bytes long; HMAC keys must be at least {min} bytes (the same on every director)", min = crate::model::MIN_SYNC_KEY_BYTES)]
    SyncKeyTooShort { len: usize },

    // --- dataplane vs OSPF ---
    #[error("{0} is not a supported Maglev table size; use one of {sizes}", sizes = xlvs_maglev::TableSize::ALL.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "))]
    TableSize(i64),
    #[error("{0} is not a power of two up to {max} (or 0 for no flow cache)", max = crate::model::MAX_FLOW_CACHE_ENTRIES)]
    FlowCacheSize(i64),
    #[error("must be an absolute path")]
    NotAbsolute,
    #[error("{0} addresses (VIPs and local addresses) to announce, but one Router-LSA carries at most {max}; set announce_as = \"external\"", max = crate::model::ROUTER_LSA_MAX_ADDRESSES)]
    TooManyForRouterLsa(usize),
    #[error("XDP interface `{0}` is not an OSPF interface: the router only sends VIP traffic over OSPF adjacencies, so XDP on `{0}` would silently forward nothing; add an [[ospf.interface]] named `{0}` or remove it here")]
    XdpInterfaceWithoutOspf(String),
}

/// One problem in a config file, with its location.
///
/// Displayed as `FILE:LINE:COL: KEYPATH: message`; parts that do not apply
/// (no position for an unreadable file, no key path for a syntax error) are
/// left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name as given to [`crate::load`], or the `origin` given to
    /// [`crate::parse`].
    pub file: String,
    /// Where in the file; `None` only when the file could not be read.
    pub position: Option<Position>,
    /// The offending key. For a key that is missing it names the key that
    /// should be there while `position` points at its enclosing table.
    pub path: KeyPath,
    pub kind: ErrorKind,
}

impl ConfigError {
    /// 1-based line, 0 when there is no position.
    pub fn line(&self) -> usize {
        self.position.map_or(0, |p| p.line)
    }

    /// 1-based column (in characters), 0 when there is no position.
    pub fn column(&self) -> usize {
        self.position.map_or(0, |p| p.column)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if let Some(Position { line, column }) = self.position {
            write!(f, "{line}:{column}:")?;
        }
        if !self.path.is_root() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.kind)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one file, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a value returned by this crate; here for clippy and
    /// for callers that build their own.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[ConfigError] {
        &self.0
    }
}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(mut errors: Vec<ConfigError>) -> Self {
        // Stable: errors at one spot keep the order they were found in.
        errors.sort_by_key(|e| e.position);
        // TOML's error recovery can report one problem twice.
        errors.dedup();
        Self(errors)
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One error per line.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// An error before it is placed in the file: it has a key path, and a span
/// when the finder had one (serde does; semantic checks do not).
#[derive(Debug)]
pub(crate) struct Issue {
    pub path: KeyPath,
    pub span: Option<Range<usize>>,
    pub kind: ErrorKind,
}

impl Issue {
    pub(crate) fn at(path: KeyPath, kind: ErrorKind) -> Self {
        Self {
            path,
            span: None,
            kind,
        }
    }
}
