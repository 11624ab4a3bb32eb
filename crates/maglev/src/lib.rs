//! Maglev consistent-hashing lookup tables, identical on every director for
//! the same backend set. Not built yet; see the data plane issue.
