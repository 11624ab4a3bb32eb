//! Counters an operator reads (`xlvsadm bfd`, metrics) to see why a
//! session does not come up: plain data, serializable.

use serde::Serialize;
use std::collections::BTreeMap;

/// Why a received packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// TTL below 255: not from a direct neighbor (RFC 5881 section 5).
    Ttl,
    /// Shorter than 24 bytes, or a length field below the minimum.
    Truncated,
    /// A length field beyond the datagram.
    BadLength,
    BadVersion,
    ZeroMultiplier,
    Multipoint,
    /// My discriminator 0, or your discriminator 0 outside Down/AdminDown.
    ZeroDiscriminator,
    /// The A bit: we run no authentication.
    Authentication,
    /// Your discriminator names no session, or (when it is 0) there is no
    /// session for the source address.
    UnknownSession,
    /// The session named by your discriminator has another peer or local
    /// address: a stale or spoofed packet.
    AddressMismatch,
    /// Our session is AdminDown: RFC 5880 6.8.6 discards everything.
    AdminDown,
}

impl DropReason {
    /// The name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Ttl => "ttl",
            DropReason::Truncated => "truncated",
            DropReason::BadLength => "bad_length",
            DropReason::BadVersion => "bad_version",
            DropReason::ZeroMultiplier => "zero_multiplier",
            DropReason::Multipoint => "multipoint",
            DropReason::ZeroDiscriminator => "zero_discriminator",
            DropReason::Authentication => "authentication",
            DropReason::UnknownSession => "unknown_session",
            DropReason::AddressMismatch => "address_mismatch",
            DropReason::AdminDown => "admin_down",
        }
    }
}

/// Dropped packets by reason; reasons never seen are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Drops(BTreeMap<DropReason, u64>);

impl Drops {
    pub fn add(&mut self, reason: DropReason) {
        *self.0.entry(reason).or_default() += 1;
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.0.get(&reason).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        self.0.iter().map(|(r, n)| (*r, *n))
    }
}

/// Packet counters, for the whole instance or one session. For the
/// instance `received` counts every datagram handed in; for a session,
/// those accepted for it (a drop the source address ties to a session is
/// counted in both `dropped`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub received: u64,
    pub sent: u64,
    pub dropped: Drops,
}
