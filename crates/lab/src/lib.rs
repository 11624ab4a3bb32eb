//! xlvs-lab: realizes containerlab topology files with network namespaces,
//! veth pairs and Linux bridges, so labs run where there is no Docker.
//!
//! A node becomes the namespace `clab-<lab>-<node>`; a link becomes a veth
//! pair between two namespaces; a bridge node is a Linux bridge in a
//! namespace of its own. What runs in a node depends on its kind and image
//! (see [`topology::Role`]).

pub mod bird;
pub mod bpffs;
pub mod daemon;
pub mod down;
pub mod error;
pub mod exec;
pub mod frr;
pub mod state;
pub mod status;
pub mod sys;
pub mod topology;
pub mod up;

pub use down::teardown;
pub use error::LabError;
pub use status::status;
pub use topology::Topology;
pub use up::up;
