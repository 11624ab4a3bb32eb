//! Helpers shared by the integration tests: a small deterministic PRNG (so
//! every run tests the same cases) and backend sets.

use std::net::Ipv4Addr;

use xlvs_maglev::Backend;

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny and well mixed; fixed
/// seeds make failures reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is negligible for test sizes).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// `n` distinct backends with random addresses and ports, weights from
/// `weight(i)`, in random order.
pub fn random_backends(rng: &mut Rng, n: usize, weight: impl Fn(usize) -> u32) -> Vec<Backend> {
    let mut seen = std::collections::HashSet::new();
    let mut set = Vec::with_capacity(n);
    while set.len() < n {
        let addr = Ipv4Addr::from(rng.next_u64() as u32);
        let port = rng.next_u64() as u16;
        if seen.insert((addr, port)) {
            set.push(Backend::new(addr, port, weight(set.len())));
        }
    }
    set
}
