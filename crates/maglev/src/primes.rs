//! The table sizes a director may use.

use std::fmt;

use crate::MaglevError;

/// A Maglev table size: one of a fixed list of primes.
///
/// Prime, so that every skip in `1..M` is coprime with `M` and each backend's
/// permutation visits every slot (with a composite `M` a backend could run
/// out of slots to try). A fixed list rather than a primality check, so that
/// every director picks from the same few well-tested sizes and a typo is an
/// error rather than a different table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableSize(u32);

impl TableSize {
    /// Every supported size, ascending. Roughly doubling, plus 655373 (the
    /// paper's large example).
    pub const ALL: [TableSize; 14] = [
        TableSize(251),
        TableSize(509),
        TableSize(1021),
        TableSize(2039),
        TableSize(4093),
        TableSize(8191),
        TableSize(16381),
        TableSize(32749),
        TableSize(65537),
        TableSize(131071),
        TableSize(262139),
        TableSize(524287),
        TableSize(655373),
        TableSize(1048573),
    ];

    /// 65537, as in the paper: within 1% balance up to 655 backends.
    pub const DEFAULT: TableSize = TableSize(65537);

    /// `m` if it is one of [`TableSize::ALL`].
    pub fn new(m: u32) -> Result<TableSize, MaglevError> {
        Self::ALL
            .into_iter()
            .find(|s| s.0 == m)
            .ok_or(MaglevError::UnsupportedSize(m))
    }

    /// The number of slots, `M`.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for TableSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u32> for TableSize {
    type Error = MaglevError;

    fn try_from(m: u32) -> Result<Self, Self::Error> {
        Self::new(m)
    }
}

impl From<TableSize> for u32 {
    fn from(s: TableSize) -> u32 {
        s.0
    }
}

impl fmt::Display for TableSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The supported sizes for error messages: "251, 509, ..., 1048573".
pub(crate) fn list() -> String {
    let sizes: Vec<String> = TableSize::ALL.iter().map(|s| s.to_string()).collect();
    sizes.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_prime(n: u32) -> bool {
        n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    }

    #[test]
    fn every_size_is_prime_and_ascending() {
        for s in TableSize::ALL {
            assert!(is_prime(s.get()), "{s} is not prime");
        }
        assert!(TableSize::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(!is_prime(65535) && is_prime(65537), "is_prime itself");
    }

    #[test]
    fn only_listed_sizes_are_accepted() {
        assert_eq!(TableSize::new(65537), Ok(TableSize::DEFAULT));
        assert_eq!(TableSize::default().get(), 65537);
        assert_eq!(TableSize::try_from(251).map(u32::from), Ok(251));
        for bad in [0, 1, 2, 65536, 65539, 100_000, u32::MAX] {
            assert_eq!(TableSize::new(bad), Err(MaglevError::UnsupportedSize(bad)));
        }
        let msg = MaglevError::UnsupportedSize(1000).to_string();
        assert!(msg.starts_with("table size 1000 is not supported; use one of 251, 509,"));
        assert!(msg.ends_with(", 655373, 1048573"), "{msg}");
    }
}
