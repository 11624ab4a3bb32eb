//! `xlvsd`: the xlvs director daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser};
use tracing_subscriber::EnvFilter;
use xlvs_config::LogFormat;

mod announcer;
mod check;
mod commands;
mod control;
mod daemon;
mod forwarder;
mod graceful;
mod health_report;
mod host;
mod ipvs;
mod listing;
mod metrics;
mod node;
mod notify;
mod ospf;
mod readiness;
mod reload;
mod sync;

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
        let format = config.node.log_format;
        init_logging(format);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        return match runtime.block_on(daemon::run(config, path, args.cleanup)) {
            Ok(daemon::Exit::Stopped) => ExitCode::SUCCESS,
            Ok(daemon::Exit::GracefulRestart) => ExitCode::from(graceful::EXIT_CODE),
            Err(e) => {
                match format {
                    LogFormat::Text => eprintln!("xlvsd: {e}"),
                    LogFormat::Json => tracing::error!(error = %e, "xlvsd stopped"),
                }
                ExitCode::FAILURE
            }
        };
    }
    // clap requires one of the two flags.
    ExitCode::FAILURE
}

/// Logs go to stderr, filtered by RUST_LOG (default `info`): text lines
/// (coloured on a terminal), or with `log_format = "json"` one JSON object
/// per line, panics included, so that a log shipper never sees anything
/// else.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => {
            logs.with_ansi(false).json().init();
            std::panic::set_hook(Box::new(|panic| {
                tracing::error!(%panic, "xlvsd panicked");
            }));
        }
    }
}
