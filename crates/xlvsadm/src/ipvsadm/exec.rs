//! Carries out an [`IpvsCommand`] against the daemon: one request per
//! change, one `ipvs.list` per listing.

use super::command::{IpvsCommand, ListWhat};
use super::help;
use super::render::{self, ListError};
use super::restore::{parse_lines, RestoreError};
use super::save;
use crate::client::{ClientError, Daemon};
use std::io::{self, Read, Write};
use xlvs_api::ipvs::{IpvsOp, IpvsTable};
use xlvs_api::Command;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("xlvsd sent a table xlvsadm cannot read: {0}")]
    Table(serde_json::Error),
    #[error(transparent)]
    List(#[from] ListError),
    #[error("reading stdin: {0}")]
    Stdin(io::Error),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error("line {line}: {op}: {source}")]
    Applied {
        line: usize,
        op: String,
        source: ClientError,
    },
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
}

impl ExecError {
    /// 2 for a usage error in `-R` input, like ipvsadm; 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ExecError::Restore(_) => 2,
            _ => 1,
        }
    }
}

/// Runs `command`. `json` prints the daemon's JSON instead of text.
pub fn execute(
    command: &IpvsCommand,
    json: bool,
    daemon: &mut dyn Daemon,
    input: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<(), ExecError> {
    match command {
        IpvsCommand::Help => out.write_all(help::usage().as_bytes())?,
        IpvsCommand::Version => out.write_all(help::version().as_bytes())?,
        IpvsCommand::Op(op) => {
            let data = send(daemon, op)?;
            if json {
                writeln!(out, "{}", pretty(&data))?;
            }
        }
        IpvsCommand::List(opts) => {
            let mut table = fetch(daemon, opts.what == ListWhat::Connections)?;
            if json {
                if let ListWhat::Services(Some(key)) = &opts.what {
                    table.services.retain(|s| s.key() == *key);
                    if table.services.is_empty() {
                        return Err(ListError::NoSuchService(*key).into());
                    }
                }
                writeln!(out, "{}", pretty(&table))?;
            } else {
                out.write_all(render::list(&table, opts)?.as_bytes())?;
            }
        }
        IpvsCommand::Save { .. } => {
            let table = fetch(daemon, false)?;
            if json {
                writeln!(out, "{}", pretty(&table))?;
            } else {
                out.write_all(save::render(&table).as_bytes())?;
            }
        }
        IpvsCommand::Restore => {
            let mut text = String::new();
            input.read_to_string(&mut text).map_err(ExecError::Stdin)?;
            for (line, op) in parse_lines(&text)? {
                send(daemon, &op).map_err(|source| ExecError::Applied {
                    line,
                    op: op.to_string(),
                    source,
                })?;
            }
        }
    }
    Ok(())
}

fn send(daemon: &mut dyn Daemon, op: &IpvsOp) -> Result<serde_json::Value, ClientError> {
    daemon.call(&Command::Ipvs(op.clone()))
}

fn fetch(daemon: &mut dyn Daemon, connections: bool) -> Result<IpvsTable, ExecError> {
    let data = daemon.call(&Command::IpvsList { connections })?;
    serde_json::from_value(data).map_err(ExecError::Table)
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("JSON")
}
