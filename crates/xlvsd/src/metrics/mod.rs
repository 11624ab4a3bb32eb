//! The Prometheus endpoint (`[metrics]`, docs/metrics.md): `GET /metrics`
//! answers in the text exposition format 0.0.4 with the counters and
//! states `xlvsadm -L -n --stats`, `status`, `health`, `dataplane`,
//! `ospf` and `sync` show.
//!
//! - http.rs: a minimal HTTP/1.1 server, bounded so that a slow or hostile
//!   client cannot stall it or the daemon;
//! - snapshot.rs: everything one scrape shows, read from the node;
//! - exposition.rs: a snapshot in the text format, with
//!   dataplane.rs (the XDP counters sorted into families),
//!   ipvs_compat.rs (node_exporter's ipvs families) and process.rs (the
//!   process_* families).

mod bfd;
mod dataplane;
mod exposition;
mod http;
mod ipvs_compat;
mod process;
mod snapshot;

pub use http::{Endpoint, MetricsError};
