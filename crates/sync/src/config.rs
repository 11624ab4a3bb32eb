//! What the core needs to know about this director and its cluster.

use crate::wire::datagram::OVERHEAD;
use crate::wire::hello::MAX_LOCAL_ADDRESSES;
use crate::wire::{NodeState, MAX_DATAGRAM, MAX_NAME_LEN};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// The UDP port of sync datagrams unless configured: IPVS's sync port
/// plus one, so both can run on one segment.
pub const DEFAULT_PORT: u16 = 8849;
/// A 1500-byte MTU less the IPv4 and UDP headers.
pub const DEFAULT_MAX_DATAGRAM: usize = 1500 - 28;
/// The smallest allowed: the IPv4 minimum MTU (576) less 28.
pub const MIN_MAX_DATAGRAM: usize = 576 - 28;

/// Where our datagrams go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// One copy to each configured peer; datagrams from anyone else are
    /// dropped (`unknown_peer`).
    Unicast(Vec<Ipv4Addr>),
    /// One copy to the group; any sender with the key becomes a peer.
    Group(Ipv4Addr),
}

#[derive(Clone)]
pub struct Config {
    /// Our sync address: our identity in every datagram, and the owner of
    /// the entries we create.
    pub address: Ipv4Addr,
    pub mode: Mode,
    pub port: u16,
    /// The cluster's shared secret (use 32 random bytes).
    pub key: Vec<u8>,
    /// The largest datagram we send: the path MTU less 28.
    pub max_datagram: usize,
    pub hello_interval: Duration,
    /// How long peers keep us up without a Hello; whole seconds.
    pub hold_time: Duration,
    /// A partly filled Entries datagram leaves at most this long after its
    /// first entry was published.
    pub flush_delay: Duration,
    /// A table transfer that makes no progress for this long is requested
    /// again (from the same or another peer).
    pub bulk_timeout: Duration,
    /// How long the first datagram of a transfer may take after the
    /// request: the peer reads its whole table first (a million entries:
    /// seconds in a debug build), while its Hellos say it is alive.
    pub bulk_first_wait: Duration,
    /// Shown to peers; at most 64 bytes.
    pub name: String,
    /// The FULLNAT local addresses we own, at most 255.
    pub local_addresses: Vec<Ipv4Addr>,
    pub state: NodeState,
}

/// Everything but the key, which must not reach a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("address", &self.address)
            .field("mode", &self.mode)
            .field("port", &self.port)
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .field("max_datagram", &self.max_datagram)
            .field("hello_interval", &self.hello_interval)
            .field("hold_time", &self.hold_time)
            .field("flush_delay", &self.flush_delay)
            .field("bulk_timeout", &self.bulk_timeout)
            .field("bulk_first_wait", &self.bulk_first_wait)
            .field("name", &self.name)
            .field("local_addresses", &self.local_addresses)
            .field("state", &self.state)
            .finish()
    }
}

impl Config {
    /// A config with the defaults: port 8849, 1472-byte datagrams, Hellos
    /// every second, a 3 s hold time, a 2 ms flush delay, a 1 s bulk
    /// timeout (10 s for a transfer's first datagram), no name, no local
    /// addresses, Joining.
    pub fn new(address: Ipv4Addr, mode: Mode, key: &[u8]) -> Config {
        Config {
            address,
            mode,
            port: DEFAULT_PORT,
            key: key.to_vec(),
            max_datagram: DEFAULT_MAX_DATAGRAM,
            hello_interval: Duration::from_secs(1),
            hold_time: Duration::from_secs(3),
            flush_delay: Duration::from_millis(2),
            bulk_timeout: Duration::from_secs(1),
            bulk_first_wait: Duration::from_secs(10),
            name: String::new(),
            local_addresses: Vec::new(),
            state: NodeState::Joining,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.key.is_empty() {
            return Err(ConfigError::EmptyKey);
        }
        if !(MIN_MAX_DATAGRAM..=MAX_DATAGRAM).contains(&self.max_datagram) {
            return Err(ConfigError::MaxDatagram(self.max_datagram));
        }
        if self.name.len() > MAX_NAME_LEN {
            return Err(ConfigError::NameTooLong(self.name.len()));
        }
        let secs = self.hold_time.as_secs();
        if self.hold_time.subsec_nanos() != 0 || secs == 0 || secs > u16::MAX as u64 {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        if self.hello_interval.is_zero() || self.hello_interval >= self.hold_time {
            return Err(ConfigError::HelloInterval(self.hello_interval));
        }
        if self.bulk_timeout.is_zero() || self.bulk_first_wait.is_zero() {
            return Err(ConfigError::BulkTimeout);
        }
        check_local_addresses(&self.local_addresses, self.max_datagram)
    }

    pub(crate) fn hold_secs(&self) -> u16 {
        self.hold_time.as_secs() as u16
    }

    /// Where a peer's datagrams go.
    pub(crate) fn socket(&self, addr: Ipv4Addr) -> SocketAddrV4 {
        SocketAddrV4::new(addr, self.port)
    }
}

/// Local addresses must fit the Hello's count byte and one datagram.
pub(crate) fn check_local_addresses(
    addrs: &[Ipv4Addr],
    max_datagram: usize,
) -> Result<(), ConfigError> {
    // The longest Hello: state, count, hold time, addresses, a full name.
    let hello = OVERHEAD + 4 + 4 * addrs.len() + 1 + MAX_NAME_LEN;
    if addrs.len() > MAX_LOCAL_ADDRESSES || hello > max_datagram {
        return Err(ConfigError::TooManyLocalAddresses(addrs.len()));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the sync key is empty")]
    EmptyKey,
    #[error("max datagram size {0} is outside {MIN_MAX_DATAGRAM}..={MAX_DATAGRAM}")]
    MaxDatagram(usize),
    #[error("node name of {0} bytes is longer than {MAX_NAME_LEN}")]
    NameTooLong(usize),
    #[error("hold time {0:?} is not a whole number of seconds from 1 to 65535")]
    HoldTime(Duration),
    #[error("hello interval {0:?} must be above zero and below the hold time")]
    HelloInterval(Duration),
    #[error("the bulk timeouts must be above zero")]
    BulkTimeout,
    #[error("{0} local addresses do not fit one Hello")]
    TooManyLocalAddresses(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::new(
            Ipv4Addr::new(10, 0, 0, 1),
            Mode::Unicast(vec![]),
            b"secret key",
        )
    }

    #[test]
    fn the_defaults_are_valid_and_the_key_is_never_shown() {
        assert_eq!(config().validate(), Ok(()));
        let shown = format!("{:?}", config());
        assert!(
            !shown.contains("secret") && shown.contains("<10 bytes>"),
            "{shown}"
        );
    }

    #[test]
    fn what_the_wire_cannot_carry_is_refused() {
        let with = |f: fn(&mut Config)| {
            let mut c = config();
            f(&mut c);
            c.validate()
        };
        assert_eq!(with(|c| c.key.clear()), Err(ConfigError::EmptyKey));
        assert_eq!(
            with(|c| c.max_datagram = 547),
            Err(ConfigError::MaxDatagram(547))
        );
        assert_eq!(
            with(|c| c.max_datagram = 9001),
            Err(ConfigError::MaxDatagram(9001))
        );
        assert_eq!(
            with(|c| c.name = "n".repeat(65)),
            Err(ConfigError::NameTooLong(65))
        );
        let half = Duration::from_millis(2500);
        assert_eq!(
            with(|c| c.hold_time = Duration::from_millis(2500)),
            Err(ConfigError::HoldTime(half))
        );
        assert!(with(|c| c.hello_interval = Duration::from_secs(3)).is_err());
        assert!(with(|c| c.local_addresses = vec![Ipv4Addr::LOCALHOST; 256]).is_err());
        // 548 bytes hold a Hello with 103 addresses and a 64-byte name.
        let at_548 = |n: usize| {
            let mut c = config();
            c.max_datagram = 548;
            c.local_addresses = vec![Ipv4Addr::LOCALHOST; n];
            c.validate()
        };
        assert_eq!(at_548(103), Ok(()));
        assert_eq!(at_548(104), Err(ConfigError::TooManyLocalAddresses(104)));
    }
}
