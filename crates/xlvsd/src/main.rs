//! `xlvsd`: the xlvs director daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser};

mod api;
mod check;
mod control;
mod daemon;
mod forwarder;
mod ipvs;
mod listing;
mod metrics;
mod notify;
mod policy;
mod speaker;

/// Layer-4 load-balancer director for OSPF-ECMP clusters.
#[derive(Parser)]
#[command(version, group(ArgGroup::new("mode").required(true).args(["check_config", "config"])))]
struct Args {
    /// Validate the node config FILE, print OK or every error, and exit.
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,

    /// Run the director with the node config FILE.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// On exit, also detach XDP and remove the pinned maps. Without it they
    /// stay, so traffic keeps flowing and a restart keeps connections.
    #[arg(long, requires = "config")]
    cleanup: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.check_config {
        return match check::load(&path) {
            Some(_) => {
                println!("OK");
                ExitCode::SUCCESS
            }
            None => check::INVALID,
        };
    }
    if let Some(path) = args.config {
        let Some(config) = check::load(&path) else {
            return check::INVALID;
        };
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        return match runtime.block_on(daemon::run(config, path, args.cleanup)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xlvsd: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // clap requires one of the two flags.
    ExitCode::FAILURE
}
