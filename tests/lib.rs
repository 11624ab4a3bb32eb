//! Helpers shared by the lab-based integration tests.
