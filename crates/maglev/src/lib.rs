//! Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
//! Software Network Load Balancer", NSDI 2016): lookup tables that are
//! identical on every director for the same backend set.
//!
//! Directors of a cluster announce the same VIP and the router spreads
//! flows over them by ECMP; when it rehashes, a flow's packets arrive at
//! another director. Every director must therefore pick the same backend
//! for a flow without talking to the others: each builds the same
//! [`Table`] from the same backend set, and the XDP program looks a packet
//! up by [`flow_hash`] (or [`source_hash`]) modulo the table size.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use xlvs_maglev::{flow_hash, Backend, Table, TableSize};
//!
//! let reals = [
//!     Backend::new(Ipv4Addr::new(10, 0, 0, 1), 80, 1),
//!     Backend::new(Ipv4Addr::new(10, 0, 0, 2), 80, 2),
//! ];
//! let table = Table::build(TableSize::DEFAULT, &reals)?;
//! let client = Ipv4Addr::new(192, 0, 2, 7);
//! let vip = Ipv4Addr::new(198, 51, 100, 1);
//! let real = table.lookup(flow_hash(client, vip, 40000, 80, 6));
//! assert!(real.is_some());
//! // What the data plane loads into its BPF array map:
//! assert_eq!(table.slots().len(), 65537);
//! # Ok::<(), xlvs_maglev::MaglevError>(())
//! ```
//!
//! # The table
//!
//! `M` slots, `M` a prime from a fixed list ([`TableSize`]). Each backend
//! has a permutation of the slots, `(offset + j * skip) % M` for
//! `j = 0, 1, ...`, with `offset` and `skip` from two independent hashes of
//! its address and port ([`Backend::permutation`]). The backends take turns
//! claiming the next slot of their permutation that is still empty, until
//! none is; weights decide how often a backend gets a turn
//! ([`Table::build`] has the exact order).
//!
//! The table is a function of the backend *set* alone: backends are sorted
//! by address and port first, the hashes use fixed, documented keys, and
//! nothing depends on insertion order, addresses in memory, the host or a
//! per-process seed. `tests/golden.rs` pins the exact output; changing it
//! breaks compatibility between directors running different versions.
//!
//! # Balance
//!
//! With equal weights every backend claims one slot per round, so each
//! holds `floor(M/N)` or `ceil(M/N)` slots: less than one slot from its fair
//! share `M/N`, i.e. within 1% once `M >= 100 N`
//! ([`Table::recommended_size`]).
//!
//! With weights, a backend of weight `w` makes about `r * w / W` claims in
//! `r` rounds (`W` the largest weight), so shares stay proportional even
//! for small integers like 1, 2, 3. Precisely, with `fair = M w / sum(w)`
//! and `mean` the mean weight, `-2 w / mean < count - fair < 2` slots; so
//! every backend is within `2 N / M * max(1, mean / w)` of its share. (If
//! the table fills in round `R`, a backend ends with `(R-1) w / W + f`
//! slots, `0 < f <= 2`; summing over the backends gives `R`, and the bound
//! follows.)
//!
//! # Disruption, and why the table is not patched
//!
//! When a backend is removed, its slots go to the survivors, and the
//! survivors' claims shift a little: a few slots move from one survivor to
//! another. Measured (`examples/bench.rs`, `tests/properties.rs`): at
//! `M = 65537` with equal weights, removing one of N backends moves at
//! most about 1% of the slots between survivors for any N from 2 to 2000
//! (0.2% at N = 10, 0.6% at N = 100); small tables move more (up to 3.5% at
//! `M = 1021`, N = 10), and so does removing a backend that held a large
//! share (2.7% for one holding half of the table). Adding a backend is the
//! same change backwards.
//!
//! A table patched from the previous one (keep every slot whose backend
//! survives, give only the freed slots out) would move nothing between
//! survivors, but it would depend on history: a director that restarted,
//! joined later, or saw a health check flap that its peers did not, would
//! hold a different table for the same backend set, and every flow that
//! ECMP moves between directors could then change backend, for as long as
//! the set stays the same. Determinism wins: disagreement between
//! directors is unbounded and lasting, while the few slots Maglev moves
//! matter only to new flows and to flows that change director at the same
//! moment, because each director's connection table keeps its established
//! flows on their backend.
//!
//! A scheme both deterministic and strictly minimal exists (give each slot
//! to the backend whose permutation reaches it first: rendezvous hashing
//! per slot), but its balance is binomial, a standard deviation of about
//! `sqrt(M/N)` slots (4% of a share at `M/N = 655`), which is what Maglev's
//! turn-taking avoids.
//!
//! # Hashes
//!
//! - Backend placement: SipHash-1-3 of the 6 bytes address ‖ port (network
//!   order) under two fixed keys, see [`Backend::permutation`]. Computed by
//!   the control plane only.
//! - Flows: 32-bit Jenkins hashes as in the kernel's `jhash.h`, defined
//!   bit-exactly with C code and test vectors in [`flow_hash`] and
//!   [`source_hash`], so the XDP program computes the same values.

mod backend;
mod error;
mod flow;
mod primes;
mod siphash;
mod table;

pub use backend::Backend;
pub use error::MaglevError;
pub use flow::{flow_hash, source_hash};
pub use primes::TableSize;
pub use table::{Changes, Table, NO_BACKEND};
