//! Why a table cannot be built.

use std::net::Ipv4Addr;

/// An invalid table size or backend set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MaglevError {
    /// The size is not one of [`TableSize::ALL`](crate::TableSize::ALL).
    #[error("table size {0} is not supported; use one of {list}", list = crate::primes::list())]
    UnsupportedSize(u32),
    /// The same address and port appear twice: with two weights the table
    /// would be ambiguous.
    #[error("backend {addr}:{port} is listed more than once")]
    DuplicateBackend { addr: Ipv4Addr, port: u16 },
    /// More backends with a positive weight than slots: some would never
    /// receive a flow. Choose a larger size
    /// ([`Table::recommended_size`](crate::Table::recommended_size)).
    #[error("{backends} backends with a positive weight do not fit in a table of {size} slots")]
    TooManyBackends { backends: usize, size: u32 },
}
