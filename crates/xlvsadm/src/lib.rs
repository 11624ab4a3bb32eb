//! xlvsadm, the admin CLI of xlvsd, as a library: the ipvsadm-compatible
//! command lines and listings, the keepalived.conf importer, the JSON model
//! the daemon answers with, and the control-socket client.
//!
//! xlvsd uses [`ipvsadm::IpvsOp`] (what an `ipvs` request carries) and
//! [`model::IpvsTable`] (what `ipvs.list` answers) from here, so both sides
//! share one definition of the protocol (docs/xlvsadm.md).

pub mod client;
pub mod ipvsadm;
pub mod keepalived;
pub mod model;
