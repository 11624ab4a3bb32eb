//! OSPFv2 packets and LSAs on the wire (RFC 2328 appendix A): one file per
//! header, each with parse and emit side by side. Parsing is bounds-checked
//! and never panics; what a packet means is decided elsewhere.

pub mod auth;
#[cfg(test)]
pub(crate) mod captures;
pub mod checksum;
pub mod dbd;
pub mod header;
pub mod hello;
pub mod lsa;
pub mod lsa_external;
pub mod lsa_grace;
pub mod lsa_network;
pub mod lsa_router;
pub mod packet;

pub use auth::AuthField;
pub use dbd::{Dbd, DbdFlags};
pub use header::{Header, PacketType};
pub use hello::Hello;
pub use lsa::{Lsa, LsaHeader, LsaKey, LsaType};
pub use lsa_external::ExternalLsa;
pub use lsa_grace::{GraceLsa, RestartReason, GRACE_LSA_ID};
pub use lsa_network::NetworkLsa;
pub use lsa_router::{LinkType, RouterLink, RouterLsa};
pub use packet::{Body, Packet};
/// A read past the end of the bytes (the shared reader's error).
pub use xlvs_wire::Truncated;

/// Why bytes are not a valid OSPF packet or LSA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Truncated(#[from] Truncated),
    #[error("OSPF version {0}, expected 2")]
    Version(u8),
    #[error("unknown packet type {0}")]
    PacketType(u8),
    #[error("packet length {length} is invalid for {have} bytes received")]
    Length { length: usize, have: usize },
    #[error("packet checksum {got:#06x} is wrong (computed {want:#06x})")]
    Checksum { got: u16, want: u16 },
    #[error("unknown authentication type {0}")]
    AuthType(u16),
    #[error("MD5 authentication data length {0}, expected 16")]
    Md5Length(u8),
    #[error("LSA length {0} is invalid")]
    LsaLength(u16),
    #[error("LSA checksum is wrong")]
    LsaChecksum,
    #[error("{what}: {why}")]
    Malformed {
        what: &'static str,
        why: &'static str,
    },
}

pub(crate) use xlvs_wire::{Put, Reader};
