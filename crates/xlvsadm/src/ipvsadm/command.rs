//! What an ipvsadm command line means, as types.
//!
//! [`IpvsCommand`] is everything `xlvsadm -X ...` can ask for. Its
//! [`IpvsOp`]s are what the daemon executes: each is sent as one `ipvs`
//! request (xlvs-api's `Command::Ipvs`).

use xlvs_api::ipvs::{IpvsOp, ServiceKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsCommand {
    /// A change for the daemon.
    Op(IpvsOp),
    /// `-L` / `-l`.
    List(ListOptions),
    /// `-S`; `-n` is accepted and changes nothing (output is always numeric).
    Save {
        numeric: bool,
    },
    /// `-R`: ipvsadm lines from stdin.
    Restore,
    Help,
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    pub what: ListWhat,
    pub format: ListFormat,
    /// `-n`: accepted; listings are always numeric.
    pub numeric: bool,
    /// `--exact`: counters in full instead of K/M/G/T.
    pub exact: bool,
    /// False with `--nosort`: the daemon's order.
    pub sort: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListWhat {
    /// Every service, or the one given with `-t`/`-u`.
    Services(Option<ServiceKey>),
    /// `-c`.
    Connections,
    /// `--timeout`.
    Timeouts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Plain,
    /// `--stats`.
    Stats,
    /// `--rate`.
    Rate,
    /// `--persistent-conn`: each real's persistence templates.
    PersistentConn,
}
