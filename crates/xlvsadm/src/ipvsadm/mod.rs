//! ipvsadm command lines: `xlvsadm -A -t 192.0.2.10:80 -s mh -p 300`.
//!
//! `parse` turns argv into an [`IpvsCommand`]; `exec` carries it out against
//! the daemon: changes become `ipvs` requests, listings are rendered from
//! one `ipvs.list` answer by `render` (-L) and `save` (-S); `restore` reads
//! `-R` input with the same parser.

mod addr;
mod command;
mod error;
mod exec;
mod help;
mod number;
mod options;
mod parse;
mod render;
mod restore;
mod save;

#[cfg(test)]
mod exec_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod render_tests;

pub use command::{IpvsCommand, ListFormat, ListOptions, ListWhat};
pub use error::UsageError;
pub use exec::{execute, ExecError};
pub use help::{usage, version};
pub use number::largenum;
pub use parse::{is_ipvsadm, parse, Globals, Parsed};
pub use render::{list, ListError};
pub use restore::{parse_lines, RestoreError};
pub use save::{ops as save_ops, render as render_save};
