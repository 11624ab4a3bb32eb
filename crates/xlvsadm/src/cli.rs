//! xlvsadm's own subcommands (everything that is not an ipvsadm line).

use crate::{answers, bfd, import, ospf};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use xlvs_api::{reply, Command, CommandError};
use xlvsadm::{client, realserver};

#[derive(Parser)]
#[command(
    name = "xlvsadm",
    version,
    about = "Administer xlvsd",
    after_help = "ipvsadm command lines work too, e.g. `xlvsadm -L -n`: see `xlvsadm -h`."
)]
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
    /// BFD sessions with the OSPF neighbors: state, discriminators,
    /// negotiated intervals, detection time, counters and drops.
    Bfd,
    /// The XDP data plane's global counters (drops and passes by reason).
    Dataplane,
    /// Flow-state sync with the other directors ([cluster]): peers, the
    /// cluster table's transfer, entries sent, installed and dropped.
    Sync,
    /// Stop announcing a service's VIP (or every VIP of the node) so the
    /// routers move new traffic to the other directors.
    Drain { service: Option<String> },
    /// Announce again what `drain` took out.
    Undrain { service: Option<String> },
    /// Re-read the node config.
    Reload,
    /// Restart xlvsd without the routers moving any flow (OSPF graceful
    /// restart, RFC 3623): grace-LSAs go out, and once every router
    /// acknowledged them xlvsd exits with status 75, keeping its routes
    /// and its data plane, for its service manager to start it again
    /// (configs/xlvsd@.service does) within the grace period.
    Restart {
        /// Required: a plain restart is `systemctl restart xlvsd@NODE`.
        #[arg(long, required = true)]
        graceful: bool,
        /// How long the routers keep our routes, in seconds (5-1800).
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        grace_period: u64,
    },
    /// Health-check state of the reals (of one service, or all).
    Health { service: Option<String> },
    /// Convert keepalived.conf virtual_server blocks to node-config TOML.
    ImportKeepalived {
        /// keepalived.conf, or `-` for stdin.
        file: PathBuf,
        /// A TOML file with this node's [node], [ospf], [dataplane] (and
        /// [fullnat]) tables to put before the services; without it the
        /// output has placeholders to fill in.
        #[arg(long, value_name = "FILE")]
        node_template: Option<PathBuf>,
    },
    /// Set up (or undo) this host as a DR or TUN real server: the VIP on
    /// lo, the ARP sysctls, TUN's decapsulation. Runs on the real, not
    /// the director; needs no daemon.
    Realserver {
        #[command(subcommand)]
        action: realserver::Action,
    },
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
    /// A graceful restart under way: what it still waits for.
    Graceful,
    /// Announce an address (a /32) now.
    Announce { address: String },
    /// Withdraw an announced address now.
    Withdraw { address: String },
}

/// Text for the daemon's answer; an answer of the wrong shape is an error.
type Render = fn(&Value) -> Result<String, String>;

pub fn run(args: &[String]) -> ExitCode {
    let cli = Cli::parse_from(std::iter::once("xlvsadm".to_string()).chain(args.iter().cloned()));
    // Checked here, as the daemon would, so that nothing is sent.
    let address = |text: &str| -> Result<Ipv4Addr, CommandError> {
        text.parse()
            .map_err(|_| CommandError::Address(text.to_string()))
    };
    let (command, render): (Command, Render) = match &cli.command {
        Cmd::ImportKeepalived {
            file,
            node_template,
        } => return import::run(file, node_template.as_deref()),
        Cmd::Realserver { action } => return realserver::run(action),
        Cmd::Status => (Command::Status, |v| {
            Ok(ospf::status(&reply::parse(v.clone())?))
        }),
        Cmd::Sync => (Command::Sync, |v| {
            Ok(crate::sync::report(&reply::parse(v.clone())?))
        }),
        Cmd::Bfd => (Command::Bfd, |v| Ok(bfd::sessions(v))),
        Cmd::Dataplane => (Command::DataplaneStats, |v| {
            let mut out = String::new();
            for (k, n) in v.as_object().into_iter().flatten() {
                out.push_str(&format!("{k:<20} {n}\n"));
            }
            Ok(out)
        }),
        Cmd::Drain { service } => (
            Command::Drain {
                service: service.clone(),
            },
            |v| Ok(answers::drained(&reply::parse(v.clone())?)),
        ),
        Cmd::Undrain { service } => (
            Command::Undrain {
                service: service.clone(),
            },
            |v| Ok(answers::drained(&reply::parse(v.clone())?)),
        ),
        Cmd::Reload => (Command::Reload, |v| {
            Ok(answers::reloaded(&reply::parse(v.clone())?))
        }),
        Cmd::Restart { grace_period, .. } => (
            Command::RestartGraceful {
                grace_period_s: Some(*grace_period),
            },
            |v| {
                let r: reply::RestartPrepared = reply::parse(v.clone())?;
                Ok(format!(
                    "grace-LSAs acknowledged by {} adjacencies; xlvsd exits with status {} \
                     and must start again within {} s\n",
                    r.adjacencies, r.exit_code, r.grace_period_s
                ))
            },
        ),
        Cmd::Health { service } => (
            Command::Health {
                service: service.clone(),
            },
            |v| {
                Ok(answers::health(&reply::parse::<Vec<reply::HealthRow>>(
                    v.clone(),
                )?))
            },
        ),
        Cmd::Ospf { what } => match what {
            OspfCmd::Neighbors => (Command::OspfNeighbors, |v| Ok(ospf::neighbors(v))),
            OspfCmd::Database => (Command::OspfDatabase, |v| Ok(ospf::database(v))),
            OspfCmd::Interfaces => (Command::OspfInterfaces, |v| Ok(ospf::interfaces(v))),
            OspfCmd::Stats => (Command::OspfStats, answers::ospf_stats),
            OspfCmd::Graceful => (Command::OspfGraceful, |v| Ok(ospf::graceful(v))),
            OspfCmd::Announce { address: a } => match address(a) {
                Ok(a) => (Command::OspfAnnounce(a), |v| {
                    let r: reply::AddressChanged = reply::parse(v.clone())?;
                    Ok(format!("announcing {}\n", r.address))
                }),
                Err(e) => return failure(&e),
            },
            OspfCmd::Withdraw { address: a } => match address(a) {
                Ok(a) => (Command::OspfWithdraw(a), |v| {
                    let r: reply::AddressChanged = reply::parse(v.clone())?;
                    Ok(format!("withdrawing {}\n", r.address))
                }),
                Err(e) => return failure(&e),
            },
        },
    };
    let result = client::socket_path(cli.socket, cli.node)
        .and_then(|p| Ok(xlvs_api::client::call(&p, &command)?));
    match result {
        Ok(data) if cli.json => {
            println!("{}", serde_json::to_string_pretty(&data).expect("JSON"));
            ExitCode::SUCCESS
        }
        Ok(data) => match render(&data) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => failure(&e),
        },
        Err(e) => failure(&e),
    }
}

fn failure(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("xlvsadm: {e}");
    ExitCode::FAILURE
}
