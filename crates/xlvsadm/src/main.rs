//! xlvsadm: the admin CLI for xlvsd. The ipvsadm-compatible verbs arrive
//! with the daemon issue; today it shows the OSPF speaker and status.

mod client;
mod ospf;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "xlvsadm", version, about = "Administer xlvsd")]
struct Cli {
    /// The daemon's control socket.
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The node whose daemon to ask (its socket is /run/xlvs/NODE.sock).
    #[arg(long, global = true, value_name = "NAME")]
    node: Option<String>,
    /// Print the daemon's JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The node and what it announces.
    Status,
    /// The OSPF speaker.
    Ospf {
        #[command(subcommand)]
        what: OspfCmd,
    },
    /// The XDP data plane's global counters (drops and passes by reason).
    Dataplane,
}

#[derive(Subcommand)]
enum OspfCmd {
    /// Neighbors and their states.
    Neighbors,
    /// The link-state database.
    Database,
    /// OSPF interfaces.
    Interfaces,
    /// Packet counters, authentication failures and mismatches.
    Stats,
    /// Announce an address (a /32) now.
    Announce { address: String },
    /// Withdraw an announced address now.
    Withdraw { address: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut args = Vec::new();
    let (command, render): (&str, fn(&serde_json::Value) -> String) = match &cli.command {
        Cmd::Status => ("status", ospf::status),
        Cmd::Dataplane => ("dataplane.stats", |v| {
            let mut out = String::new();
            for (k, n) in v.as_object().into_iter().flatten() {
                out.push_str(&format!("{k:<20} {n}\n"));
            }
            out
        }),
        Cmd::Ospf { what } => match what {
            OspfCmd::Neighbors => ("ospf.neighbors", ospf::neighbors),
            OspfCmd::Database => ("ospf.database", ospf::database),
            OspfCmd::Interfaces => ("ospf.interfaces", ospf::interfaces),
            OspfCmd::Stats => ("ospf.stats", |v| {
                serde_json::to_string_pretty(v).expect("JSON") + "\n"
            }),
            OspfCmd::Announce { address } => {
                args.push(address.clone());
                ("ospf.announce", |v| {
                    format!("announcing {}\n", v["address"])
                })
            }
            OspfCmd::Withdraw { address } => {
                args.push(address.clone());
                ("ospf.withdraw", |v| {
                    format!("withdrawing {}\n", v["address"])
                })
            }
        },
    };
    let result =
        client::socket_path(cli.socket, cli.node).and_then(|p| client::call(&p, command, &args));
    match result {
        Ok(data) if cli.json => {
            println!("{}", serde_json::to_string_pretty(&data).expect("JSON"));
            ExitCode::SUCCESS
        }
        Ok(data) => {
            print!("{}", render(&data));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xlvsadm: {e}");
            ExitCode::FAILURE
        }
    }
}
