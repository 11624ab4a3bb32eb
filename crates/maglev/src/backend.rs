//! Backends (real servers) and where each one prefers to sit in the table.

use std::fmt;
use std::net::Ipv4Addr;

use crate::siphash::siphash;
use crate::TableSize;

/// SipHash-1-3 key for the offset hash: the ASCII bytes of
/// `xlvs-maglev-offs`, i.e. k0 = 0x6761_6d2d_7376_6c78, k1 = 0x7366_666f_2d76_656c.
const OFFSET_KEY: [u8; 16] = *b"xlvs-maglev-offs";
/// SipHash-1-3 key for the skip hash: the ASCII bytes of `xlvs-maglev-skip`,
/// i.e. k0 = 0x6761_6d2d_7376_6c78, k1 = 0x7069_6b73_2d76_656c.
const SKIP_KEY: [u8; 16] = *b"xlvs-maglev-skip";

/// A real server of one virtual service.
///
/// Identified by address and port only: the weight says how many slots it
/// gets, not where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backend {
    pub addr: Ipv4Addr,
    pub port: u16,
    /// Share of new flows, relative to the other backends. 0 = quiescent
    /// (as with ipvsadm): no slots, so no new flows.
    pub weight: u32,
}

impl Backend {
    pub fn new(addr: Ipv4Addr, port: u16, weight: u32) -> Backend {
        Backend { addr, port, weight }
    }

    /// The identity that is hashed and sorted on: the four address bytes
    /// then the two port bytes, all in network order. 192.0.2.1:80 is
    /// `c0 00 02 01 00 50`.
    pub fn key(&self) -> [u8; 6] {
        let [a, b, c, d] = self.addr.octets();
        let [p, q] = self.port.to_be_bytes();
        [a, b, c, d, p, q]
    }

    /// The backend's permutation of a table of `size` slots, as
    /// `(offset, skip)`: it prefers slot `offset`, then `offset + skip`,
    /// `offset + 2 skip`, ... (mod `M`).
    ///
    /// `offset = SipHash-1-3("xlvs-maglev-offs", key) % M` and
    /// `skip = SipHash-1-3("xlvs-maglev-skip", key) % (M - 1) + 1`, where
    /// `key` is the 6 bytes of [`key`](Self::key), the SipHash keys are
    /// those 16 ASCII bytes (k0, k1 read little-endian, as in the SipHash
    /// paper), and `%` applies to the 64-bit hash values. Two keys give two
    /// independent hashes, as Maglev asks.
    pub fn permutation(&self, size: TableSize) -> (u32, u32) {
        let m = u64::from(size.get());
        let key = self.key();
        let offset = siphash::<1, 3>(&OFFSET_KEY, &key) % m;
        let skip = siphash::<1, 3>(&SKIP_KEY, &key) % (m - 1) + 1;
        // Both are below M, which fits in u32.
        (offset as u32, skip as u32)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.addr, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_address_then_port_in_network_order() {
        let b = Backend::new(Ipv4Addr::new(192, 0, 2, 1), 80, 7);
        assert_eq!(b.key(), [0xc0, 0, 2, 1, 0, 0x50]);
        assert_eq!(b.to_string(), "192.0.2.1:80");
    }

    #[test]
    fn documented_keys() {
        let words = |k: &[u8; 16]| {
            (
                u64::from_le_bytes(k[..8].try_into().unwrap()),
                u64::from_le_bytes(k[8..].try_into().unwrap()),
            )
        };
        assert_eq!(
            words(&OFFSET_KEY),
            (0x6761_6d2d_7376_6c78, 0x7366_666f_2d76_656c)
        );
        assert_eq!(
            words(&SKIP_KEY),
            (0x6761_6d2d_7376_6c78, 0x7069_6b73_2d76_656c)
        );
    }

    #[test]
    fn weight_does_not_move_the_permutation() {
        let a = Backend::new(Ipv4Addr::new(10, 0, 0, 1), 80, 1);
        let b = Backend { weight: 9, ..a };
        let size = TableSize::DEFAULT;
        assert_eq!(a.permutation(size), b.permutation(size));
        let (offset, skip) = a.permutation(size);
        assert!(offset < size.get() && (1..size.get()).contains(&skip));
    }
}
