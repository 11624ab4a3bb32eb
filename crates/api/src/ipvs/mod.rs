//! ipvsadm's model: the changes an `ipvs` request carries ([`IpvsOp`])
//! and the table `ipvs.list` answers ([`IpvsTable`]). Field names and
//! spellings are the protocol (docs/xlvsadm.md): the daemon produces and
//! reads exactly these types, xlvsadm renders and parses them.

mod op;
mod service;
mod table;

pub use op::{IpvsOp, RealKey, RealSpec, ServiceSpec};
pub use service::{Persistence, ServiceKey, Timeouts};
pub use table::{Connection, IpvsTable, Rate, RealEntry, ServiceEntry, Stats};
