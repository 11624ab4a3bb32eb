//! xlvsd's control protocol as types, shared by the daemon and its
//! clients (xlvsadm, the lab tests).
//!
//! One JSON object per line each way over a Unix socket, version
//! [`VERSION`]:
//!
//! ```text
//! -> {"version":1,"command":"ospf.withdraw","args":["192.0.2.10"]}
//! <- {"ok":true,"data":{"address":"192.0.2.10"}}
//! <- {"ok":false,"error":"unknown command \"x\""}
//! ```
//!
//! - [`Request`] and [`Response`]: the two lines;
//! - [`Command`]: what a request asks, typed; its wire form is a name and
//!   string arguments;
//! - [`ipvs`]: ipvsadm's model, the changes an `ipvs` request carries and
//!   the table `ipvs.list` answers;
//! - [`reply`]: the daemon's own answers (status, health, ...), typed;
//! - [`client`]: a blocking client.
//!
//! [`Protocol`], [`Forward`] and [`Scheduler`] are xlvs-config's; on the
//! wire they are spelled as ipvsadm lists them (`TCP`, `Route`, `mh`).
//! docs/xlvsadm.md describes the protocol for people.

pub mod client;
mod command;
pub mod ipvs;
pub mod reply;
mod request;
mod spelling;

pub use command::{Command, CommandError};
pub use request::{Request, RequestError, Response, MAX_REQUEST, VERSION};
pub use xlvs_config::{Forward, Protocol, Scheduler};
