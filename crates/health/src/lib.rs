//! keepalived-style health checks for xlvs reals.
//!
//! - Checkers, each bounded by a timeout: [`CheckSpec`] describes one
//!   (tcp, http, https, dns, script, none), [`Probe`] runs it.
//! - [`RealHealth`]: the per-real up/down state machine (rise, fall,
//!   alpha), pure and clock-free.
//! - [`Checker`]: runs the checks of many targets concurrently and reports
//!   each [`Transition`] as a [`HealthEvent`]; targets can be added,
//!   replaced and removed at runtime (config reload).
//! - [`slow_start_weight`]: weight ramp for a real that just came up.
//!
//! What a transition does to the dataplane (remove the real, or weight 0
//! as with keepalived's `inhibit_on_failure`) is the daemon's business.

mod check;
mod dns;
mod error;
mod from_config;
mod http;
mod https;
mod proxy;
mod rng;
mod scheduler;
mod script;
mod slow_start;
mod state;
mod tcp;

pub use check::{CheckSpec, Probe};
pub use dns::{DnsSpec, DnsType};
pub use error::{CheckError, Phase, SetupError};
pub use from_config::config_targets;
pub use http::{HttpSpec, BODY_CAP};
pub use https::{TlsSpec, TlsVerify};
pub use proxy::ProxyHeader;
pub use scheduler::{Checker, CheckerOptions, HealthEvent, TargetId, TargetSpec, Upsert};
pub use script::ScriptSpec;
pub use slow_start::slow_start_weight;
pub use state::{RealHealth, Transition};
